"""The environment variables afsearch reads, against what the image, compose and deploy/ set."""

from __future__ import annotations

from pathlib import Path

import pytest

from afsearch.orchestrator import RAY_ADDRESS_ENV, RUNS_ENV
from afsearch.store import DB_ENV
from tests.deploy.helpers import (
    COMPOSE,
    COMPOSE_GPU,
    compose,
    dockerfile,
    environment,
    k8s_env,
    k8s_mounts,
    load_yaml,
    of_kind,
    pod_templates,
    ray_container,
    ray_groups,
    service,
    shell_commands,
    volume_mounts,
)

AFSEARCH_VARS = {DB_ENV, RUNS_ENV}
# Variables that belong to the base image, pip, Ray or PostgreSQL rather than to afsearch.
THIRD_PARTY_PREFIXES = ("PYTHON", "PIP_", "RAY_", "POSTGRES_", "PGDATA")


def variables_set() -> dict[str, set[str]]:
    """name -> where, for every variable the Dockerfile, compose files and manifests set."""
    found = [(name, "Dockerfile") for name in dockerfile().envs]
    for path in (COMPOSE, COMPOSE_GPU):
        for svc, spec in load_yaml(path)[0]["services"].items():
            found += [(name, f"{path.name} {svc}") for name in environment(spec)]
    for where, pod in pod_templates():
        found += [(name, where) for c in pod["spec"]["containers"] for name in k8s_env(c)]
    out: dict[str, set[str]] = {}
    for name, where in found:
        out.setdefault(name, set()).add(where)
    return out


def test_the_package_reads_the_variables_it_names(monkeypatch: pytest.MonkeyPatch) -> None:
    from afsearch.orchestrator import default_runs_dir
    from afsearch.store import resolve_url

    url = "postgresql+psycopg://afsearch:pw@postgres:5432/afsearch"
    monkeypatch.setenv(DB_ENV, url)
    monkeypatch.setenv(RUNS_ENV, "/work/afsearch_runs")
    assert resolve_url(None) == url
    assert default_runs_dir() == str(Path("/work/afsearch_runs").resolve())
    monkeypatch.setenv(RUNS_ENV, "s3://bucket/runs/")
    assert default_runs_dir() == "s3://bucket/runs"


def test_every_variable_set_is_read_by_afsearch_or_by_its_tools() -> None:
    for name, where in variables_set().items():
        assert name in AFSEARCH_VARS or name.startswith(THIRD_PARTY_PREFIXES), (
            f"{sorted(where)} set {name}, which neither afsearch nor its tools read"
        )


def test_the_driver_has_the_database_and_the_workers_do_not() -> None:
    # `afsearch launch` runs on the Ray head (see deploy/README.md), optuna-dashboard reads the
    # same database; the workers never open it.
    for name in ("ray-head", "optuna-dashboard"):
        assert DB_ENV in environment(service(name)), name
    assert DB_ENV not in environment(service("ray-worker"))
    for where, role, group in ray_groups():
        assert (DB_ENV in k8s_env(ray_container(group))) == (role == "head"), where


def runs_dir() -> str:
    runs = dockerfile().envs.get(RUNS_ENV)
    assert runs, f"the Dockerfile does not set {RUNS_ENV}"
    return runs


def test_the_image_creates_the_runs_dir_for_its_user() -> None:
    # A fresh named volume takes the owner of the directory it is mounted over: without it
    # in the image, the volume belongs to root and the non-root user cannot write to it.
    runs = runs_dir()
    commands = [cmd for _, cmd in shell_commands()]
    assert any(c[0] == "mkdir" and runs in c for c in commands), f"no mkdir of {runs}"
    uid = dockerfile().args["UID"]
    owned = [c[-1] for c in commands if c[0] == "chown" and c[-2].split(":")[0] == uid]
    assert any(runs == d or runs.startswith(d.rstrip("/") + "/") for d in owned), owned


def test_compose_ray_nodes_share_one_runs_volume() -> None:
    # Ray Tune's storage_path must be one storage that the head and every worker see.
    runs = runs_dir()
    sources = set()
    for name in ("ray-head", "ray-worker"):
        svc = service(name)
        assert environment(svc).get(RUNS_ENV, runs) == runs, name
        mounts = volume_mounts(svc)
        assert runs in mounts, f"{name} does not mount {runs}"
        sources.add(mounts[runs])
    assert len(sources) == 1, f"ray-head and ray-worker mount different volumes: {sources}"
    assert sources <= set(compose().get("volumes") or {}), "not a named (shared) volume"


def test_kuberay_ray_nodes_share_one_read_write_many_claim() -> None:
    runs = runs_dir()
    claims = {pvc["metadata"]["name"]: pvc for pvc in of_kind("PersistentVolumeClaim")}
    for where, _, group in ray_groups():
        container = ray_container(group)
        env = k8s_env(container)
        assert env.get(RUNS_ENV, {}).get("value", runs) == runs, where
        mounts = k8s_mounts(container, group["template"]["spec"])
        assert runs in mounts, f"{where} does not mount {runs}"
        claim = mounts[runs].get("persistentVolumeClaim", {}).get("claimName")
        assert claim in claims, f"{where}: {runs} is not on a claim of deploy/"
        assert "ReadWriteMany" in claims[claim]["spec"]["accessModes"], claim


def test_the_driver_reads_the_address_ray_sets_for_a_job() -> None:
    # `afsearch launch` without --address joins $RAY_ADDRESS_ENV, and a RayJob's driver runs
    # where Ray sets it; `--address auto` is resolved by Ray from the same variable.
    ray_constants = pytest.importorskip("ray._private.ray_constants")
    assert RAY_ADDRESS_ENV == ray_constants.RAY_ADDRESS_ENVIRONMENT_VARIABLE
