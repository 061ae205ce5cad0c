"""What ``afsearch launch`` shows while it runs: a live view in a terminal, plain lines otherwise.

Both render the events of :class:`afsearch.trial.LaunchObserver`. The live view keeps a
bar (done/total, elapsed, ETA), the running trials (number, activation with its values, epoch,
metric) and the best so far at the bottom of the terminal, and prints one line per finished
trial above them; the plain lines are the same finished-trial lines, for logs and pipes.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from afsearch.cli._common import fmt
from afsearch.trial import (
    Best,
    ConfirmRunFinished,
    ConfirmStarted,
    LaunchObserver,
    StudyStarted,
    TrialFinished,
    TrialReported,
    TrialStarted,
)

#: Colours of the statuses a trial ends with.
STATUS_STYLE = {
    "completed": "green",
    "pruned": "yellow",
    "duplicate": "cyan",
    "diverged": "red",
    "failed": "bold red",
}


def ray_line(address: str | None) -> str:
    if address:
        return f"connecting to the Ray cluster at {address} …"
    return "starting Ray (a local instance; this takes a few seconds) …"


def study_line(event: StudyStarted) -> str:
    verb = "resuming" if event.resumed else "running"
    done = f", {event.done} done before" if event.resumed else ""
    return (
        f"{verb} study {event.study}: {event.total} trials{done}, "
        f"{event.metric} ({event.mode}), in {event.url}"
    )


def best_text(best: Best | None, metric: str) -> str:
    if best is None:
        return f"best {metric}: -"
    return f"best {metric}: {fmt(best.value)} (#{best.number} {best.activation})"


def finished_line(event: TrialFinished, metric: str) -> str:
    """One finished trial: ``#3 completed  val_accuracy 0.9123 after 4 epochs  elu(alpha=1.33)``
    and where the study stands."""
    value = "-" if event.value is None else fmt(event.value)
    ran = f"after {event.epochs} epoch{'s' if event.epochs != 1 else ''}"
    tail = f"done {event.done}/{event.total}, running {event.running}"
    if event.best is not None:
        tail += f", best {fmt(event.best.value)} (#{event.best.number})"
    return (
        f"#{event.number:<3} {event.status:<9} {metric} {value} {ran}  {event.activation}  | {tail}"
    )


def confirm_started_line(event: ConfirmStarted) -> str:
    candidates = ", ".join(f"#{n}" for n in event.candidates)
    stored = f", {event.total - event.to_train} stored" if event.to_train < event.total else ""
    return (
        f"confirming {candidates} against {', '.join(event.baselines)} on {event.seeds} fresh "
        f"seeds: {event.to_train} trainings{stored}"
    )


def confirm_run_line(event: ConfirmRunFinished, metric: str) -> str:
    return (
        f"confirm {event.done}/{event.to_train}  {event.name} seed {event.seed}  "
        f"{metric} {fmt(event.value) if event.value is not None else 'diverged'}"
    )


class PlainLines(LaunchObserver):
    """A line when Ray starts, when the study opens, and per trial that starts and ends."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.metric = "metric"

    def __enter__(self) -> PlainLines:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def _line(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def ray_starting(self, address: str | None) -> None:
        self._line(ray_line(address))

    def ray_started(self, seconds: float) -> None:
        self._line(f"Ray is up ({seconds:.1f} s)")

    def notice(self, text: str) -> None:
        self._line(f"afsearch: {text}")

    def study_started(self, event: StudyStarted) -> None:
        self.metric = event.metric
        self._line(study_line(event))

    def trial_started(self, event: TrialStarted) -> None:
        what = "replays" if event.replays is not None else "start"
        self._line(f"#{event.number:<3} {what:<9} {event.activation}")

    def trial_finished(self, event: TrialFinished) -> None:
        self._line(finished_line(event, self.metric))

    def confirm_started(self, event: ConfirmStarted) -> None:
        self._line(confirm_started_line(event))

    def confirm_run_finished(self, event: ConfirmRunFinished) -> None:
        self._line(confirm_run_line(event, self.metric))


class _Row:
    def __init__(self, event: TrialStarted) -> None:
        self.number, self.activation, self.epochs = event.number, event.activation, event.epochs
        self.epoch = 0
        self.value: float | None = None
        self.replays = event.replays


class LiveView(LaunchObserver):
    """The live view: use as a context manager around the launch.

    >>> with LiveView(Console()) as view:  # doctest: +SKIP
    ...     launch("space.yaml", observer=view)
    """

    def __init__(self, console: Console, refresh_per_second: float = 4) -> None:
        self.console = console
        self.metric, self.mode = "metric", "max"
        self.status: str | None = None
        self.best: Best | None = None
        self.running: dict[int, _Row] = {}
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("elapsed"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
        )
        self.task = self.progress.add_task("trials", total=None, start=False)
        self.live = Live(
            self, console=console, refresh_per_second=refresh_per_second, transient=False
        )

    def __enter__(self) -> LiveView:
        self.live.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.status = None
        self.live.stop()

    def __rich__(self) -> Group:
        return self.render()

    # -- events ---------------------------------------------------------------------------

    def ray_starting(self, address: str | None) -> None:
        self.status = ray_line(address)
        self.live.refresh()

    def ray_started(self, seconds: float) -> None:
        self.status = None
        self._print(f"Ray is up ({seconds:.1f} s)")

    def notice(self, text: str) -> None:
        self._print(f"afsearch: {text}")

    def study_started(self, event: StudyStarted) -> None:
        self.metric, self.mode = event.metric, event.mode
        self.progress.update(self.task, total=event.total, completed=event.done)
        self.progress.start_task(self.task)
        self._print(study_line(event))

    def trial_started(self, event: TrialStarted) -> None:
        self.running[event.number] = _Row(event)
        self.live.refresh()

    def trial_reported(self, event: TrialReported) -> None:
        row = self.running.get(event.number)
        if row is not None:
            row.epoch, row.value = event.epoch, event.value

    def trial_finished(self, event: TrialFinished) -> None:
        self.running.pop(event.number, None)
        self.best = event.best
        self.progress.update(self.task, total=event.total, completed=event.done)
        style = STATUS_STYLE.get(event.status, "")
        line = Text(finished_line(event, self.metric))
        status_at = line.plain.index(event.status)
        line.stylize(style, status_at, status_at + len(event.status))
        self.console.print(line, soft_wrap=True)
        self.live.refresh()

    def confirm_started(self, event: ConfirmStarted) -> None:
        self._print(confirm_started_line(event))

    def confirm_run_finished(self, event: ConfirmRunFinished) -> None:
        self._print(confirm_run_line(event, self.metric))

    def _print(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)
        self.live.refresh()

    # -- rendering ------------------------------------------------------------------------

    def render(self) -> Group:
        """The bottom of the terminal: what Ray is doing, the bar, running trials, the best."""
        if self.status is not None:
            return Group(Spinner("dots", Text(self.status), style="bold cyan"))
        parts: list[Any] = [self.progress]
        if self.running:
            table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
            table.add_column("trial", no_wrap=True)
            table.add_column("activation", overflow="ellipsis", no_wrap=True, max_width=64)
            table.add_column("epoch", justify="right", no_wrap=True)
            table.add_column(self.metric, justify="right", no_wrap=True)
            for number in sorted(self.running):
                row = self.running[number]
                epoch = "replay" if row.replays is not None else f"{row.epoch}/{row.epochs}"
                table.add_row(f"#{number}", Text(row.activation), epoch, fmt(row.value))
            parts.append(table)
        parts.append(Text(best_text(self.best, self.metric), style="bold"))
        return Group(*parts)
