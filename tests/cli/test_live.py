"""How ``afsearch launch`` renders a launch's events: plain lines, and the live view."""

from __future__ import annotations

import io

from rich.console import Console

from afsearch.cli._live import LiveView, PlainLines
from afsearch.trial import Best, StudyStarted, TrialFinished, TrialReported, TrialStarted

STUDY = StudyStarted("quick", "sqlite:///a.db", "val_accuracy", "max", 4, 0, False)
ELU_A = TrialStarted(0, "elu(alpha=1.33)", "Piecewise(...)", 4)
ELU_B = TrialStarted(1, "elu(alpha=0.27)", "Piecewise(...)", 4)


def finished(number: int, activation: str, value: float, done: int, running: int, best: int):  # type: ignore[no-untyped-def]
    return TrialFinished(
        number=number,
        activation=activation,
        status="completed",
        value=value,
        epochs=4,
        done=done,
        total=4,
        running=running,
        best=Best(best, 0.9312, "elu(alpha=1.33)"),
    )


def feed(view) -> None:  # type: ignore[no-untyped-def]
    view.ray_starting(None)
    view.ray_started(4.2)
    view.study_started(STUDY)
    view.trial_started(ELU_A)
    view.trial_started(ELU_B)
    view.trial_reported(TrialReported(0, 1, 4, 0.8123))
    view.trial_reported(TrialReported(1, 2, 4, 0.7))


def test_plain_lines_name_trials_by_number_with_their_values() -> None:
    buffer = io.StringIO()
    view = PlainLines(Console(file=buffer, width=200))
    feed(view)
    view.trial_finished(finished(0, "elu(alpha=1.33)", 0.9312, 1, 1, 0))
    view.trial_finished(finished(1, "elu(alpha=0.27)", 0.9001, 2, 0, 0))
    lines = buffer.getvalue().splitlines()
    assert lines[0].startswith("starting Ray")
    assert lines[1] == "Ray is up (4.2 s)"
    assert lines[2] == "running study quick: 4 trials, val_accuracy (max), in sqlite:///a.db"
    assert lines[3].split() == ["#0", "start", "elu(alpha=1.33)"]
    assert lines[4].split() == ["#1", "start", "elu(alpha=0.27)"]
    assert lines[5] == (
        "#0   completed val_accuracy 0.9312 after 4 epochs  elu(alpha=1.33)"
        "  | done 1/4, running 1, best 0.9312 (#0)"
    )
    assert lines[6].endswith("| done 2/4, running 0, best 0.9312 (#0)")
    assert len(lines) == 7


def render(view: LiveView) -> str:
    console = Console(record=True, force_terminal=True, width=120)
    console.print(view.render())
    return console.export_text()


def test_the_live_view_shows_ray_starting_then_the_bar_the_running_trials_and_the_best() -> None:
    view = LiveView(Console(file=io.StringIO(), force_terminal=True, width=120))
    view.ray_starting(None)
    assert "starting Ray" in render(view)
    feed(view)
    text = render(view)
    assert "0/4" in text and "ETA" in text
    rows = [line.split() for line in text.splitlines() if line.startswith("#")]
    assert rows == [
        ["#0", "elu(alpha=1.33)", "1/4", "0.8123"],
        ["#1", "elu(alpha=0.27)", "2/4", "0.7000"],
    ]
    assert "best val_accuracy: -" in text

    view.trial_finished(finished(0, "elu(alpha=1.33)", 0.9312, 1, 1, 0))
    text = render(view)
    assert "1/4" in text
    assert [line.split()[0] for line in text.splitlines() if line.startswith("#")] == ["#1"]
    assert "best val_accuracy: 0.9312 (#0 elu(alpha=1.33))" in text

    view.trial_finished(finished(1, "elu(alpha=0.27)", 0.9001, 2, 0, 0))
    text = render(view)
    # No trial is shown running once all have ended.
    assert not [line for line in text.splitlines() if line.startswith("#")]


def test_the_live_view_prints_each_finished_trial_above_itself() -> None:
    console = Console(record=True, force_terminal=True, width=160)
    with LiveView(console, refresh_per_second=20) as view:
        feed(view)
        view.trial_finished(finished(0, "elu(alpha=1.33)", 0.9312, 1, 1, 0))
        view.trial_finished(finished(1, "elu(alpha=0.27)", 0.9001, 2, 0, 0))
    text = console.export_text()
    assert "Ray is up (4.2 s)" in text
    assert "#0   completed val_accuracy 0.9312 after 4 epochs  elu(alpha=1.33)" in text
    assert "#1   completed val_accuracy 0.9001" in text
    assert "2/4" in text


def test_a_per_site_label_is_text_not_markup() -> None:
    # rich reads "[tanh; silu]" as a style tag: as markup the sites would vanish.
    view = LiveView(Console(file=io.StringIO(), force_terminal=True, width=120))
    view.study_started(STUDY)
    view.trial_started(TrialStarted(0, "sites[tanh; silu]", "tanh(x); silu(x)", 4))
    rows = [line.split() for line in render(view).splitlines() if line.startswith("#")]
    assert rows == [["#0", "sites[tanh;", "silu]", "0/4", "-"]]
