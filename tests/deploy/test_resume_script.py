"""deploy/afsearch-launch-or-resume.sh, the RayJob entrypoint: launch, or resume what exists."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from afsearch.store import DB_ENV, TrialStore
from tests.deploy.helpers import SCRIPT, cli_options
from tests.store.helpers import make_study

# Stands in for afsearch: logs its arguments; `studies` prints $FAKE_STUDIES, or fails, or,
# with $REAL_AFSEARCH, runs the real command.
FAKE_AFSEARCH = """#!/usr/bin/env bash
printf '%s\\n' "$*" >> "$FAKE_LOG"
if [[ "$1" == studies ]]; then
    if [[ -n "${REAL_AFSEARCH:-}" ]]; then exec "$REAL_AFSEARCH" "$@"; fi
    if [[ -n "${FAKE_STUDIES_FAIL:-}" ]]; then echo "error: no database" >&2; exit 2; fi
    printf '%s' "$FAKE_STUDIES"
fi
"""

RunScript = Callable[..., tuple[int, list[str]]]


@pytest.fixture
def bash() -> str:
    path = shutil.which("bash")
    if path is None:
        pytest.skip("no bash here")
    return path


@pytest.fixture
def run_script(tmp_path: Path, bash: str) -> RunScript:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "afsearch"
    fake.write_text(FAKE_AFSEARCH)
    fake.chmod(0o755)
    (bin_dir / "python3").symlink_to(sys.executable)
    log = tmp_path / "calls.log"

    def run(
        *args: str, studies: Any = (), fail: bool = False, real: bool = False
    ) -> tuple[int, list[str]]:
        env = {
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "FAKE_LOG": str(log),
            "FAKE_STUDIES": studies if isinstance(studies, str) else json.dumps(studies),
        }
        if fail:
            env["FAKE_STUDIES_FAIL"] = "1"
        if real:
            env["REAL_AFSEARCH"] = str(Path(sys.executable).with_name("afsearch"))
        log.write_text("")
        proc = subprocess.run(
            [bash, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=120
        )
        return proc.returncode, log.read_text().splitlines()

    return run


def test_the_script_is_executable_bash(bash: str) -> None:
    # COPY keeps the mode: the image runs the script as it is in the repository.
    assert SCRIPT.stat().st_mode & stat.S_IXUSR, f"chmod +x {SCRIPT.name}"
    subprocess.run([bash, "-n", str(SCRIPT)], check=True)


def test_the_script_calls_options_afsearch_has() -> None:
    assert {"--json", "--db"} <= cli_options("studies")
    assert {"--study", "--db", "--resume", "--no-resume"} <= cli_options("launch")


def test_resumes_a_study_the_database_has(run_script: RunScript) -> None:
    rc, calls = run_script(
        "s.yaml", "--study", "demo", "--address", "auto", studies=[{"name": "demo"}]
    )
    assert rc == 0
    assert calls == ["studies --json", "launch s.yaml --study demo --address auto --resume"]


def test_starts_a_study_the_database_lacks(run_script: RunScript) -> None:
    for studies in ([], [{"name": "other"}], [{"name": "demo-2"}]):
        rc, calls = run_script("s.yaml", "--study=demo", studies=studies)
        assert rc == 0
        assert calls == ["studies --json", "launch s.yaml --study=demo"], studies


def test_starts_when_the_database_cannot_be_listed(run_script: RunScript) -> None:
    rc, calls = run_script("s.yaml", "--study", "demo", "--db", "sqlite:///x.db", fail=True)
    assert rc == 0
    assert calls == [
        "studies --json --db sqlite:///x.db",
        "launch s.yaml --study demo --db sqlite:///x.db",
    ]


def test_refuses_bad_arguments(run_script: RunScript) -> None:
    assert run_script("s.yaml")[0] == 2  # no --study
    assert run_script("s.yaml", "--study", "demo", "--resume")[0] == 2
    rc, calls = run_script("s.yaml", "--study", "demo", studies="not json")
    assert rc == 1 and not any(c.startswith("launch") for c in calls)


def test_reads_what_the_real_afsearch_studies_prints(
    run_script: RunScript, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DB_ENV, raising=False)
    url = f"sqlite:///{tmp_path / 'afsearch.db'}"
    store = TrialStore(url)
    try:
        make_study(store, "demo")
    finally:
        store.close()
    rc, calls = run_script("s.yaml", "--study", "demo", "--db", url, real=True)
    assert rc == 0 and calls[-1] == f"launch s.yaml --study demo --db {url} --resume", calls
    rc, calls = run_script("s.yaml", "--study", "other", f"--db={url}", real=True)
    assert rc == 0 and calls[-1] == f"launch s.yaml --study other --db={url}", calls
