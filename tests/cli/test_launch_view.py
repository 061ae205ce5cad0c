"""``afsearch launch`` off a terminal: plain lines, trials by number with their values."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from afsearch.cli import app
from afsearch.store import trials

pytestmark = pytest.mark.slow


def test_launch_prints_plain_lines_when_stdout_is_not_a_terminal(tmp_path: Path) -> None:
    space = tmp_path / "s.yaml"
    space.write_text(
        yaml.safe_dump(
            {
                "task": {"name": "digits-mlp", "epochs": 2, "options": {"width": 8, "depth": 1}},
                "sampler": "random",
                "scheduler": "none",
                "num_samples": 3,
                "max_concurrent": 2,
                "families": [{"family": "elu", "alpha": {"low": 0.1, "high": 2.0}}],
            }
        )
    )
    url = f"sqlite:///{tmp_path / 'a.db'}"
    args = ["launch", str(space), "--db", url, "--num-cpus", "2", "--runs-dir", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("starting Ray")
    assert re.fullmatch(r"Ray is up \(\d+\.\d s\)", lines[1])
    assert lines[2].startswith("running study s: 3 trials, val_accuracy (max)")
    stored = {t.number: t for t in trials("s", url)}
    for number, t in stored.items():
        shown = f"elu(alpha={t.config['activation']['alpha']:.4g})"
        assert f"#{number:<3} start     {shown}" in lines
        ended = [ln for ln in lines if ln.startswith(f"#{number:<3} completed")]
        assert len(ended) == 1 and f"val_accuracy {t.metric_value:.4f} after 2 epochs" in ended[0]
    # The progress lines (the leaderboard's rows after them start with "#" too).
    finished = [ln for ln in lines if ln.startswith("#") and " completed " in ln and "| " in ln]
    assert [ln.split("| ")[1].split(",")[0] for ln in finished] == [
        "done 1/3",
        "done 2/3",
        "done 3/3",
    ]
    assert "running 0" in finished[-1]
    assert any(ln.startswith("study s: completed, 3 trials") for ln in lines)
