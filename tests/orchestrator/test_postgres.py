"""Studies on a real PostgreSQL server: a restart mid-study, and two studies at once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from afsearch.store import epochs, studies, trials
from tests.pg import PgServer

pytestmark = pytest.mark.slow
AFSEARCH = str(Path(sys.executable).parent / "afsearch")


def _space(path: Path, n: int, epochs_: int = 3) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "task": {
                    "name": "digits-mlp",
                    "epochs": epochs_,
                    "options": {"width": 16, "depth": 1},
                },
                "scheduler": "none",
                "num_samples": n,
                "max_concurrent": 1,
                "families": [
                    {"family": "swish", "beta": {"low": 0.5, "high": 2.0}},
                    {"family": "elu", "alpha": {"low": 0.2, "high": 2.0}},
                ],
            }
        )
    )
    return path


def _launch(space: Path, study: str, url: str, tmp: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "AFSEARCH_RUNS": str(tmp / "runs")}
    return subprocess.Popen(
        [
            AFSEARCH,
            "launch",
            str(space),
            "--study",
            study,
            "--db",
            url,
            "--num-cpus",
            "1",
            "--quiet",
            "--no-reuse",
        ],
        env=env,
        cwd=tmp,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_restart_of_postgres_loses_no_row(pg_server: PgServer, tmp_path: Path) -> None:
    url = pg_server.url
    proc = _launch(_space(tmp_path / "s.yaml", 6, epochs_=4), "pg-restart", url, tmp_path)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        names = {s.name for s in studies(url)}
        if "pg-restart" in names and any(
            t.status.value == "completed" for t in trials("pg-restart", url)
        ):
            break
        time.sleep(0.3)
    assert proc.poll() is None, "the study ended before the restart"
    pg_server.restart()
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out[-3000:]
    rows = trials("pg-restart", url)
    assert len(rows) == 6
    for t in rows:
        assert t.status.value == "completed", (t.number, t.status, t.error)
        assert [e.epoch for e in epochs(t.id, url)] == [1, 2, 3, 4]


def test_two_studies_at_once_do_not_mix(pg_server: PgServer, tmp_path: Path) -> None:
    url = pg_server.url
    a = _launch(_space(tmp_path / "a.yaml", 3), "pg-a", url, tmp_path)
    b = _launch(_space(tmp_path / "b.yaml", 4), "pg-b", url, tmp_path)
    for proc in (a, b):
        out, _ = proc.communicate(timeout=400)
        assert proc.returncode == 0, out[-3000:]
    ra, rb = trials("pg-a", url), trials("pg-b", url)
    assert sorted(t.number for t in ra) == [0, 1, 2]
    assert sorted(t.number for t in rb) == [0, 1, 2, 3]
    assert {t.study for t in ra} == {"pg-a"} and {t.study for t in rb} == {"pg-b"}
    assert not {t.id for t in ra} & {t.id for t in rb}
    assert all(t.status.value == "completed" for t in ra + rb)
    import optuna

    storage = optuna.storages.RDBStorage(url.replace("+psycopg", "+psycopg"))
    for name, n in (("afsearch:pg-a", 3), ("afsearch:pg-b", 4)):
        study = optuna.load_study(study_name=name, storage=storage)
        assert len(study.trials) == n
