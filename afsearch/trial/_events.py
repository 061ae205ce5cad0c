"""What a launch tells its caller while it runs, for a progress display.

The library never prints. :func:`afsearch.orchestrator.launch` calls the methods of the
:class:`LaunchObserver` it is given, on the driver, as Ray starts, the study opens, and trials
start, report an epoch and end; ``afsearch launch`` renders them (a live view in a terminal,
plain lines otherwise). Trials are named by their number in the study, the number the
leaderboard, ``afsearch show`` and Optuna use. This module imports nothing heavy, so a display
can be built and tested without Ray::

    class Lines(LaunchObserver):
        def trial_finished(self, event: TrialFinished) -> None:
            print(f"#{event.number} {event.status} {event.value}")
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StudyStarted:
    """The study a launch runs: ``done`` of its ``total`` samples are already trained."""

    study: str
    url: str
    metric: str
    mode: str
    total: int
    done: int
    resumed: bool


@dataclass(frozen=True)
class TrialStarted:
    number: int
    #: The activation as its family names it, with the sampled values: ``elu(alpha=1.33)``.
    activation: str
    expression: str
    #: Epochs the trial trains at most (a scheduler may stop it earlier).
    epochs: int
    #: The study's trial this one replays instead of training (a known function), else None.
    replays: int | None = None


@dataclass(frozen=True)
class TrialReported:
    number: int
    epoch: int
    epochs: int
    #: The study's metric at this epoch (None when not finite).
    value: float | None


@dataclass(frozen=True)
class Best:
    number: int
    value: float
    activation: str


@dataclass(frozen=True)
class TrialFinished:
    number: int
    activation: str
    #: A :class:`afsearch.store.TrialStatus` value: completed, pruned, diverged, failed, ...
    status: str
    value: float | None
    epochs: int
    #: Samples of the study trained so far (replays of known results do not count) and in all.
    done: int
    total: int
    #: Trials still running after this one.
    running: int
    best: Best | None
    error: str | None = None


@dataclass(frozen=True)
class ConfirmStarted:
    """The confirm stage begins: the candidates (trial numbers) and baselines it trains on
    ``seeds`` fresh seeds; ``to_train`` of its ``total`` runs (the others are stored)."""

    candidates: tuple[int, ...]
    baselines: tuple[str, ...]
    seeds: int
    to_train: int
    total: int


@dataclass(frozen=True)
class ConfirmRunFinished:
    """One training of the confirm stage ended: ``name`` is ``#N`` (a trial) or a baseline;
    ``value`` is None when it diverged. ``done`` of the stage's ``to_train``."""

    name: str
    seed: int
    value: float | None
    done: int
    to_train: int


class LaunchObserver:
    """Receives a launch's events on the driver; every method does nothing by default.

    Methods run on Ray Tune's event loop: keep them fast.
    """

    def ray_starting(self, address: str | None) -> None:
        """Ray is being started (``address`` None) or connected to."""

    def ray_started(self, seconds: float) -> None:
        """Ray is up, after ``seconds``."""

    def notice(self, text: str) -> None:
        """Something the user should know that stops nothing, in one sentence (the cluster has
        GPUs the trials do not ask for)."""

    def study_started(self, event: StudyStarted) -> None:
        """The study is open and its trials are about to run."""

    def trial_started(self, event: TrialStarted) -> None:
        """A trial starts training (or replaying a known result)."""

    def trial_reported(self, event: TrialReported) -> None:
        """A trial finished an epoch."""

    def trial_finished(self, event: TrialFinished) -> None:
        """A trial ended: completed, stopped early, diverged or failed."""

    def confirm_started(self, event: ConfirmStarted) -> None:
        """The search is done and the confirm stage starts training."""

    def confirm_run_finished(self, event: ConfirmRunFinished) -> None:
        """A training of the confirm stage ended."""
