"""Commands that train nothing answer at once: each runs in a fresh interpreter, and the heavy
libraries it must not load (torch, Ray, pandas) are not in ``sys.modules`` after it. The
reading commands go further: a database at the current schema opens without Alembic, no
reading command loads Optuna, and numpy comes with a fit or a task, not with a trial's label.

A module that such a command imports keeps torch and Ray inside the functions that train or
build networks: a task module imports its network and data where it builds them (see
``afsearch/tasks/_digits.py``), a command imports the orchestrator where it launches."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from afsearch.store import DB_ENV
from tests.helpers import store_trial

pytestmark = pytest.mark.slow

HEAVY = ("torch", "ray", "pandas", "alembic", "optuna", "sympy", "numpy")

#: Runs one command with Typer's runner and prints what it loaded, as JSON.
RUNNER = f"""
import json, sys
from typer.testing import CliRunner
from afsearch.cli import app
result = CliRunner().invoke(app, sys.argv[1:])
heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)
print(json.dumps({{"exit": result.exit_code, "output": result.output, "heavy": heavy}}))
"""

NO_TRAINING = ("torch", "ray", "pandas")
NO_RAY = ("ray", "pandas")
#: A leaderboard labels each trial by its family, a trial shows its learned values per site:
#: both bring SymPy, never numpy.
READING = (*NO_TRAINING, "alembic", "optuna", "numpy")
#: The list of studies: the database alone.
DATABASE_ONLY = (*READING, "sympy")


def loaded(args: list[str], env: dict[str, str], cwd: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Path]:
    """A database with one trial (s/0) and space files, and the environment to run in."""
    import os

    root = tmp_path_factory.mktemp("light")
    url = store_trial(root / "a.db")
    space = {
        "task": {"name": "digits-mlp", "epochs": 2},
        "families": [{"family": "elu", "alpha": {"low": 0.1, "high": 2.0}}],
    }
    (root / "space.yaml").write_text(yaml.safe_dump(space))
    (root / "typo.yaml").write_text(yaml.safe_dump({**space, "familes": []}))
    # Units fitted to a standard activation as the space is read (the quickstart has one).
    fitted = [
        {"family": "slaf", "basis": "chebyshev", "degree": [4, 6], "init": ["gelu", "silu"]},
        {"family": "rational", "m": [3], "n": [2], "init": ["leaky_relu", "gelu"]},
    ]
    (root / "fitted.yaml").write_text(yaml.safe_dump({**space, "families": fitted}))
    env = {**os.environ, DB_ENV: url, "PYTHONPATH": str(Path(__file__).parents[2])}
    return env, root


@pytest.mark.parametrize(
    ("args", "absent"),
    [
        (["--help"], NO_TRAINING),
        (["launch", "--help"], NO_TRAINING),
        (["families"], (*NO_TRAINING, "numpy")),
        (["families", "--json"], (*NO_TRAINING, "numpy")),
        (["studies"], DATABASE_ONLY),
        (["studies", "--json"], DATABASE_ONLY),
        (["trials"], READING),
        (["trials", "--format", "json"], READING),
        (["show", "s/0"], READING),
        (["show", "0", "--json"], READING),
        (["validate", "space.yaml"], NO_TRAINING),
        (["validate", "fitted.yaml"], NO_TRAINING),
        (["tasks"], NO_TRAINING),
        (["tasks", "--json"], NO_TRAINING),
        (["distill", "--help"], NO_TRAINING),
        # The fingerprint of an exported expression runs it: torch, but never Ray.
        (["export-expr", "x*sigmoid(beta*x)", "--param", "beta=1.5", "--out", "out"], NO_RAY),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_a_command_that_trains_nothing_loads_no_heavy_library(
    place: tuple[dict[str, str], Path], args: list[str], absent: tuple[str, ...]
) -> None:
    env, root = place
    got = loaded(args, env, root)
    assert got["exit"] == 0, got["output"]
    assert not set(got["heavy"]) & set(absent), got["heavy"]


def test_launch_refuses_a_typo_before_importing_ray_pandas_or_torch(
    place: tuple[dict[str, str], Path],
) -> None:
    env, root = place
    got = loaded(["launch", "typo.yaml"], env, root)
    assert got["exit"] == 2
    assert "familes" in got["output"] and "Traceback" not in got["output"]
    assert not set(got["heavy"]) & set(NO_TRAINING), got["heavy"]
