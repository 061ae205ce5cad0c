"""A two-node Ray cluster on loopback: `afsearch launch --address` spreads trials over both."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from afsearch.store import trials

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ray_nodes(address: str, env: dict[str, str]) -> int:
    code = (
        f"import ray; ray.init(address={address!r}, logging_level='ERROR'); "
        "print(sum(1 for n in ray.nodes() if n['Alive']))"
    )
    out = subprocess.run(
        [str(BIN / "python"), "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    return int(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else 0


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    port = _free_port()
    address = f"127.0.0.1:{port}"
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    # A temp dir of its own marks this cluster's processes, so only they are stopped after;
    # short, since Ray puts Unix sockets under it (at most 107 characters a path).
    temp = Path(tempfile.mkdtemp(prefix="afsray-", dir="/tmp"))
    common = ["--num-cpus=1", "--disable-usage-stats", f"--temp-dir={temp}"]
    try:
        subprocess.run(
            [
                str(BIN / "ray"),
                "start",
                "--head",
                f"--port={port}",
                "--include-dashboard=false",
                *common,
            ],
            env=env,
            check=True,
            capture_output=True,
            timeout=180,
        )
        subprocess.run(
            [str(BIN / "ray"), "start", f"--address={address}", *common],
            env=env,
            check=True,
            capture_output=True,
            timeout=180,
        )
        deadline = time.monotonic() + 60
        while _ray_nodes(address, env) < 2 and time.monotonic() < deadline:
            time.sleep(1)
        assert _ray_nodes(address, env) == 2, "the two-node cluster did not come up"
        yield address, env
    finally:
        subprocess.run(["pkill", "-f", str(temp)], check=False)
        time.sleep(1)
        subprocess.run(["pkill", "-9", "-f", str(temp)], check=False)
        shutil.rmtree(temp, ignore_errors=True)


def test_launch_on_a_two_node_cluster_records_both_nodes(cluster, tmp_path: Path) -> None:
    address, env = cluster
    space = tmp_path / "s.yaml"
    space.write_text(
        yaml.safe_dump(
            {
                "task": {"name": "digits-mlp", "epochs": 6, "options": {"width": 32}},
                "scheduler": "none",
                "num_samples": 4,
                "max_concurrent": 2,
                "families": [{"family": "swish", "beta": {"low": 0.5, "high": 2.0}}],
            }
        )
    )
    url = f"sqlite:///{tmp_path / 'c.db'}"
    done = subprocess.run(
        [
            str(BIN / "afsearch"),
            "launch",
            str(space),
            "--study",
            "cl",
            "--db",
            url,
            "--address",
            address,
            "--cpus-per-trial",
            "1",
            "--quiet",
            "--runs-dir",
            str(tmp_path / "runs"),
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    rows = trials("cl", url)
    assert len(rows) == 4 and all(t.status.value == "completed" for t in rows)
    nodes = {t.node for t in rows}
    assert None not in nodes
    assert len(nodes) == 2, nodes


def test_unreachable_address_is_one_sentence(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    start = time.monotonic()
    done = subprocess.run(
        [
            str(BIN / "afsearch"),
            "launch",
            str(root / "search_spaces" / "quickstart.yaml"),
            "--db",
            f"sqlite:///{tmp_path / 'u.db'}",
            "--address",
            f"127.0.0.1:{_free_port()}",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Could not connect to the Ray cluster" in done.stderr
    assert "Traceback" not in done.stderr
    assert time.monotonic() - start < 200
    from afsearch.store import studies

    assert studies(f"sqlite:///{tmp_path / 'u.db'}") == []  # no study left behind
