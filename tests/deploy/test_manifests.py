"""Static checks of the Dockerfile, the compose files and the KubeRay manifests in deploy/.

No Docker engine or Kubernetes cluster is needed: the files are parsed and checked against each
other and against the code (the environment variables it reads, the search spaces it ships,
the extras pyproject.toml declares), so a typo in a name, a port or a path fails here.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
COMPOSE_GPU = ROOT / "docker-compose.gpu.yml"
SCRIPT = DEPLOY / "afsearch-launch-or-resume.sh"
SCRIPT_IN_IMAGE = "/usr/local/bin/afsearch-launch-or-resume"
IMAGE_PLACEHOLDER = "ghcr.io/OWNER/afsearch"
GCS_PORT, DASHBOARD_PORT, CLIENT_PORT, OPTUNA_PORT = 6379, 8265, 10001, 8080
SHELL_METACHARACTERS = set("|&;<>$`'\"\\()")


# --------------------------------------------------------------------------------------------
# Loading


def yaml_files() -> list[Path]:
    return [COMPOSE, COMPOSE_GPU, *sorted(DEPLOY.glob("*.yaml")), *sorted(DEPLOY.glob("*.yml"))]


@cache
def load_all(path: Path) -> tuple[Any, ...]:
    with path.open() as f:
        return tuple(d for d in yaml.safe_load_all(f) if d is not None)


def k8s_docs() -> list[dict[str, Any]]:
    return [d for p in sorted(DEPLOY.glob("*.yaml")) for d in load_all(p)]


def k8s_of_kind(kind: str) -> list[dict[str, Any]]:
    return [d for d in k8s_docs() if d.get("kind") == kind]


_VAR = re.compile(r"\$\$|\$\{(\w+)(?::?-([^}]*))?\}|\$(\w+)")


def interpolate(value: Any, env: dict[str, str] | None = None) -> Any:
    """``value`` as docker compose reads it: ``${VAR:-default}`` from ``env``, ``$$`` is ``$``."""
    env = env or {}
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(3)
        default = m.group(2)
        return env.get(name) or (default if default is not None else "")

    return _VAR.sub(sub, value)


@cache
def compose_raw() -> dict[str, Any]:
    (doc,) = load_all(COMPOSE)
    return doc


def compose() -> dict[str, Any]:
    """docker-compose.yml with every variable at its default, as `docker compose up` sees it."""
    return interpolate(compose_raw())


def service(name: str) -> dict[str, Any]:
    services = compose()["services"]
    assert name in services, f"docker-compose.yml has no service {name!r}"
    return services[name]


def environment(svc: dict[str, Any]) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    return {k: str(v) for k, v in env.items()}


def command(svc: dict[str, Any]) -> list[str]:
    cmd = svc.get("command") or []
    return shlex.split(cmd) if isinstance(cmd, str) else [str(c) for c in cmd]


def flag(args: list[str], name: str) -> str | None:
    """The value of ``--name=value`` or ``--name value`` in ``args``."""
    for i, a in enumerate(args):
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
        if a == name and i + 1 < len(args):
            return args[i + 1]
    return None


def container_ports(svc: dict[str, Any]) -> set[int]:
    ports = set()
    for p in svc.get("ports", []):
        spec = str(p["target"]) if isinstance(p, dict) else str(p)
        ports.add(int(spec.split("/")[0].rsplit(":", 1)[-1]))
    return ports


def volume_mounts(svc: dict[str, Any]) -> dict[str, str]:
    """target path -> source of each volume of a compose service."""
    mounts = {}
    for v in svc.get("volumes", []):
        if isinstance(v, dict):
            mounts[v["target"]] = v["source"]
        else:
            source, target = str(v).split(":")[:2]
            mounts[target] = source
    return mounts


@cache
def dockerfile() -> tuple[tuple[str, str], ...]:
    """The Dockerfile's instructions as (INSTRUCTION, arguments), continuations joined."""
    out: list[tuple[str, str]] = []
    buf = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        instruction, _, rest = buf.partition(" ")
        out.append((instruction.upper(), rest.strip()))
        buf = ""
    assert not buf, "the Dockerfile ends in a line continuation"
    return tuple(out)


def dockerfile_args() -> dict[str, str]:
    args = {}
    for ins, rest in dockerfile():
        if ins == "ARG":
            name, _, default = rest.partition("=")
            args[name] = default.strip('"')
    return args


def dockerfile_env() -> dict[str, str]:
    env = {}
    for ins, rest in dockerfile():
        if ins == "ENV":
            for item in shlex.split(rest):
                name, _, value = item.partition("=")
                env[name] = value
    return env


def dockerfile_copies() -> list[tuple[list[str], str]]:
    copies = []
    for ins, rest in dockerfile():
        if ins in ("COPY", "ADD"):
            parts = [p for p in shlex.split(rest) if not p.startswith("--")]
            copies.append((parts[:-1], parts[-1]))
    return copies


def dockerfile_runs() -> list[str]:
    return [rest for ins, rest in dockerfile() if ins == "RUN"]


def image_path(path: str) -> Path:
    """The repository file that the image holds at ``path`` (an absolute path in the image)."""
    for sources, dest in dockerfile_copies():
        for src in sources:
            target = dest.rstrip("/")
            if dest.endswith("/") and len(sources) > 1:
                target = f"{target}/{Path(src).name}"
            if path == target or path.startswith(target + "/"):
                return ROOT / src / path[len(target) :].lstrip("/")
    raise AssertionError(f"the Dockerfile copies nothing to {path}")


def ray_groups() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(where, "head" or "worker", group spec) of every RayCluster and RayJob cluster."""
    for doc in k8s_docs():
        if doc.get("kind") == "RayCluster":
            spec = doc["spec"]
        elif doc.get("kind") == "RayJob":
            spec = doc["spec"]["rayClusterSpec"]
        else:
            continue
        name = f"{doc['kind']} {doc['metadata']['name']}"
        yield f"{name} head", "head", spec["headGroupSpec"]
        for group in spec.get("workerGroupSpecs", []):
            yield f"{name} {group['groupName']}", "worker", group


def ray_container(group: dict[str, Any]) -> dict[str, Any]:
    # KubeRay treats the first container of a group's pod as the Ray container.
    return group["template"]["spec"]["containers"][0]


def pod_specs() -> Iterator[tuple[str, dict[str, Any]]]:
    for where, _, group in ray_groups():
        yield where, group["template"]["spec"]
    for doc in k8s_docs():
        if doc.get("kind") in ("Deployment", "StatefulSet", "Job"):
            yield f"{doc['kind']} {doc['metadata']['name']}", doc["spec"]["template"]["spec"]


def k8s_env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def code_env_vars() -> set[str]:
    """Every AFSEARCH_* name that afsearch's source mentions in a string."""
    names = set()
    for path in (ROOT / "afsearch").rglob("*.py"):
        names.update(re.findall(r"[\"'](AFSEARCH_[A-Z0-9_]+)[\"']", path.read_text()))
    return names


def the_one(docs: list[dict[str, Any]] | tuple[Any, ...], what: str) -> dict[str, Any]:
    assert len(docs) == 1, f"expected one {what} in deploy/, found {len(docs)}"
    return docs[0]


def rayjob() -> dict[str, Any]:
    return the_one(k8s_of_kind("RayJob"), "RayJob")


def secret() -> dict[str, Any]:
    return the_one(load_all(DEPLOY / "secret.example.yaml"), "Secret in secret.example.yaml")


# --------------------------------------------------------------------------------------------
# Every file parses


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_yaml_parses(path: Path) -> None:
    docs = load_all(path)
    assert docs, f"{path} is empty"
    if path.parent == DEPLOY:
        for doc in docs:
            assert {"apiVersion", "kind", "metadata"} <= doc.keys(), f"{path}: {doc}"
            assert doc["metadata"].get("name"), f"{path}: a {doc['kind']} without a name"


def test_deploy_has_the_expected_files() -> None:
    for name in (
        "raycluster.yaml",
        "rayjob.yaml",
        "secret.example.yaml",
        "postgres.yaml",
        "runs-pvc.yaml",
        "optuna-dashboard.yaml",
        "README.md",
        SCRIPT.name,
    ):
        assert (DEPLOY / name).is_file(), f"deploy/{name} is missing"


def test_kuberay_kinds_are_ray_io_v1() -> None:
    kinds = {d["kind"]: d["apiVersion"] for d in k8s_docs() if d["kind"].startswith("Ray")}
    assert {"RayCluster", "RayJob"} <= kinds.keys()
    assert all(v == "ray.io/v1" for v in kinds.values()), kinds


# --------------------------------------------------------------------------------------------
# Environment variables: exactly the names the code reads


def test_code_reads_the_env_vars_the_deployment_sets() -> None:
    engine = (ROOT / "afsearch/store/_engine.py").read_text()
    launch = (ROOT / "afsearch/orchestrator/_launch.py").read_text()
    assert re.search(r"""ENV_VAR\s*=\s*["']AFSEARCH_DB["']""", engine)
    assert re.search(r"""environ\.get\(\s*["']AFSEARCH_RUNS["']""", launch)


def test_env_vars_behave_as_the_deployment_expects(monkeypatch: pytest.MonkeyPatch) -> None:
    from afsearch.orchestrator._launch import default_runs_dir
    from afsearch.store import resolve_url

    url = "postgresql+psycopg://afsearch:pw@postgres:5432/afsearch"
    monkeypatch.setenv("AFSEARCH_DB", url)
    monkeypatch.setenv("AFSEARCH_RUNS", "/work/afsearch_runs")
    assert resolve_url(None) == url
    assert default_runs_dir() == str(Path("/work/afsearch_runs").resolve())
    monkeypatch.setenv("AFSEARCH_RUNS", "s3://bucket/runs/")
    assert default_runs_dir() == "s3://bucket/runs"


def test_every_afsearch_env_var_set_is_one_the_code_reads() -> None:
    known = code_env_vars()
    assert {"AFSEARCH_DB", "AFSEARCH_RUNS"} <= known
    texts = {p: p.read_text() for p in [DOCKERFILE, *yaml_files(), SCRIPT, DEPLOY / "README.md"]}
    for path, text in texts.items():
        for name in set(re.findall(r"\bAFSEARCH_[A-Z0-9_]+", text)):
            assert name in known, f"{path.name} uses {name}, which afsearch never reads"


def test_the_driver_gets_the_database_url_and_workers_do_not() -> None:
    for name in ("ray-head", "optuna-dashboard"):
        assert "AFSEARCH_DB" in environment(service(name)), name
    assert "AFSEARCH_DB" not in environment(service("ray-worker"))
    for where, role, group in ray_groups():
        env = k8s_env(ray_container(group))
        assert ("AFSEARCH_DB" in env) == (role == "head"), where


# --------------------------------------------------------------------------------------------
# The image


def test_dockerfile_base_workdir_user_and_entrypoint() -> None:
    froms = [rest for ins, rest in dockerfile() if ins == "FROM"]
    assert froms == ["python:3.11-slim"]
    assert [rest for ins, rest in dockerfile() if ins == "WORKDIR"][-1] == "/work"
    users = [rest for ins, rest in dockerfile() if ins == "USER"]
    assert users, "the image must not run as root"
    uid = interpolate(users[-1], dockerfile_args()).split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "USER must be a numeric non-root uid (runAsNonRoot)"
    entrypoints = [rest for ins, rest in dockerfile() if ins == "ENTRYPOINT"]
    # compose's `command:` and KubeRay append to an ENTRYPOINT: only none or afsearch works.
    assert entrypoints in ([], ['["afsearch"]'])


def test_dockerfile_sets_afsearch_runs() -> None:
    assert dockerfile_env().get("AFSEARCH_RUNS") == "/work/afsearch_runs"


def test_dockerfile_installs_torch_from_the_chosen_index() -> None:
    index = dockerfile_args().get("TORCH_INDEX_URL", "")
    assert re.fullmatch(r"https://download\.pytorch\.org/whl/cu12\d", index), index
    torch_runs = [r for r in dockerfile_runs() if re.search(r"\btorch\b", r) and "pip" in r]
    assert any('--index-url "${TORCH_INDEX_URL}"' in r for r in torch_runs), torch_runs
    # torch comes before afsearch, so afsearch's loose torch>=2.2 keeps the chosen build.
    runs = dockerfile_runs()
    torch_at = next((i for i, r in enumerate(runs) if "${TORCH_INDEX_URL}" in r), None)
    afsearch_at = next((i for i, r in enumerate(runs) if "[postgres]" in r), None)
    assert torch_at is not None and afsearch_at is not None, "torch or afsearch not installed"
    assert torch_at < afsearch_at


def test_dockerfile_installs_the_postgres_extra_ray_default_and_optuna_dashboard() -> None:
    tomllib = pytest.importorskip("tomllib")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert any(d.startswith("psycopg") for d in extras["postgres"])
    install = " ".join(dockerfile_runs())
    assert re.search(r"""["']?/tmp/afsearch-src\[postgres\]""", install) or re.search(
        r"""pip install ["']?\.\[postgres\]""", install
    )
    assert "optuna-dashboard" in install
    # ray[default] brings the dashboard and job server that KubeRay and `ray job submit` use.
    assert re.search(r"ray\[[^\]]*\bdefault\b[^\]]*\]==\$\{RAY_VERSION\}", install)
    # KubeRay's probes and its RayJob submitter call wget.
    assert re.search(r"apt-get install .*\bwget\b", install)


def test_dockerfile_copies_what_the_image_needs() -> None:
    tomllib = pytest.importorskip("tomllib")
    copies = dockerfile_copies()
    sources = {s for srcs, _ in copies for s in srcs}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert {"pyproject.toml", project["readme"], "afsearch", "search_spaces"} <= sources
    for src in sources:
        assert (ROOT / src).exists(), f"the Dockerfile copies {src}, which does not exist"
    assert ("search_spaces" in [Path(s).name for s in sources]) and image_path(
        "/work/search_spaces"
    ) == ROOT / "search_spaces"
    assert image_path(SCRIPT_IN_IMAGE) == SCRIPT
    assert any(SCRIPT_IN_IMAGE in r and "chmod" in r for r in dockerfile_runs())


def dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]


def ignored(path: str, patterns: list[str]) -> bool:
    parts = Path(path).parts
    for pattern in patterns:
        for i in range(1, len(parts) + 1):
            prefix = "/".join(parts[:i])
            if fnmatch.fnmatch(prefix, pattern):
                return True
            if pattern.startswith("**/") and fnmatch.fnmatch(parts[i - 1], pattern[3:]):
                return True
    return False


def test_dockerignore_keeps_local_state_out_and_the_sources_in() -> None:
    patterns = dockerignore()
    assert not any(p.startswith("!") for p in patterns), "negations are not checked here"
    for path in (
        ".venv",
        ".git",
        "afsearch/__pycache__/x.pyc",
        ".pytest_cache",
        ".ruff_cache",
        ".mypy_cache",
        "afsearch.db",
        "runs.db",
        "afsearch_runs",
        "exported",
    ):
        assert ignored(path, patterns), f".dockerignore lets {path} into the build context"
    for srcs, _ in dockerfile_copies():
        for src in srcs:
            assert not ignored(src, patterns), f".dockerignore drops {src}, which COPY needs"


def test_ray_version_is_the_same_everywhere() -> None:
    ray_version = dockerfile_args()["RAY_VERSION"]
    for where, doc in [(d["kind"], d["spec"]) for d in k8s_of_kind("RayCluster")] + [
        ("RayJob", d["spec"]["rayClusterSpec"]) for d in k8s_of_kind("RayJob")
    ]:
        assert doc.get("rayVersion") == ray_version, where
    # The pinned Ray must satisfy what afsearch itself asks for.
    tomllib = pytest.importorskip("tomllib")
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (ray_req,) = [Requirement(d) for d in deps if Requirement(d).name == "ray"]
    assert ray_req.specifier.contains(ray_version), (ray_req, ray_version)


def test_uid_matches_the_pods() -> None:
    uid = int(dockerfile_args()["UID"])
    for where, spec in pod_specs():
        ctx = spec.get("securityContext", {})
        if "postgres" in where:
            continue
        assert ctx.get("runAsNonRoot") is True, where
        assert ctx.get("runAsUser") == uid, where


# --------------------------------------------------------------------------------------------
# docker compose


AFSEARCH_SERVICES = ("ray-head", "ray-worker", "optuna-dashboard")


def test_compose_has_the_services() -> None:
    assert set(compose()["services"]) == {"postgres", *AFSEARCH_SERVICES}


def test_compose_afsearch_services_share_one_image_build() -> None:
    images = {service(n).get("image") for n in AFSEARCH_SERVICES}
    builds = {json.dumps(service(n).get("build"), sort_keys=True) for n in AFSEARCH_SERVICES}
    assert len(images) == 1 and None not in images, images
    assert len(builds) == 1, builds
    build = service("ray-head")["build"]
    context = build["context"] if isinstance(build, dict) else build
    assert (ROOT / context / "Dockerfile").resolve() == DOCKERFILE
    args = build.get("args", {}) if isinstance(build, dict) else {}
    assert set(args) <= set(dockerfile_args()), "a build arg the Dockerfile does not declare"


def test_compose_postgres() -> None:
    pg = service("postgres")
    assert pg["image"] == "postgres:16"
    assert "pg_isready" in " ".join(pg["healthcheck"]["test"])
    raw = compose_raw()["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert re.fullmatch(r"\$\{POSTGRES_PASSWORD:-[^}]+\}", raw), raw
    assert any(t == "/var/lib/postgresql/data" for t in volume_mounts(pg))
    for name in ("ray-head", "optuna-dashboard"):
        dep = service(name)["depends_on"]["postgres"]
        assert dep["condition"] == "service_healthy", name


def test_compose_database_url_points_at_the_postgres_service() -> None:
    pg = environment(service("postgres"))
    for name in ("ray-head", "optuna-dashboard"):
        raw = environment(compose_raw()["services"][name])["AFSEARCH_DB"]
        assert "${POSTGRES_PASSWORD:-" in raw, "the URL must take the compose password"
        url = make_url(environment(service(name))["AFSEARCH_DB"])
        assert url.drivername == "postgresql+psycopg", name
        assert url.host == "postgres" and url.host in compose()["services"], name
        assert url.port == 5432 and url.username == pg["POSTGRES_USER"], name
        assert url.database == pg["POSTGRES_DB"], name
        assert url.password == pg["POSTGRES_PASSWORD"], name
    # The same password flows to both when it is set.
    env = {"POSTGRES_PASSWORD": "s3cret"}
    set_url = interpolate(environment(compose_raw()["services"]["ray-head"]), env)
    assert make_url(set_url["AFSEARCH_DB"]).password == "s3cret"


def test_compose_ray_head_ports_match_its_command() -> None:
    head = service("ray-head")
    cmd = command(head)
    assert cmd[:3] == ["ray", "start", "--head"] and "--block" in cmd
    assert flag(cmd, "--port") == str(GCS_PORT)
    assert flag(cmd, "--dashboard-port") in (None, str(DASHBOARD_PORT))
    assert flag(cmd, "--ray-client-server-port") in (None, str(CLIENT_PORT))
    assert flag(cmd, "--dashboard-host") == "0.0.0.0"
    assert flag(cmd, "--num-cpus") is not None
    assert container_ports(head) == {GCS_PORT, DASHBOARD_PORT, CLIENT_PORT}


def test_compose_workers_join_the_head() -> None:
    worker = service("ray-worker")
    cmd = command(worker)
    assert cmd[:2] == ["ray", "start"] and "--block" in cmd and "--head" not in cmd
    host, port = str(flag(cmd, "--address")).rsplit(":", 1)
    assert host == "ray-head" and port == flag(command(service("ray-head")), "--port")
    assert service("ray-worker")["depends_on"]["ray-head"]["condition"] == "service_healthy"
    replicas = compose_raw()["services"]["ray-worker"]["deploy"]["replicas"]
    assert re.fullmatch(r"\$\{RAY_WORKERS:-\d+\}", str(replicas)), replicas
    assert "resources" not in service("ray-worker")["deploy"], "GPUs belong in the gpu override"


def test_compose_ray_nodes_have_shm_and_auth_settings() -> None:
    for name in ("ray-head", "ray-worker"):
        svc = service(name)
        assert svc.get("shm_size"), f"{name}: Docker's 64 MB /dev/shm starves Ray"
        env = environment(svc)
        mode = env.get("RAY_AUTH_MODE")
        assert mode == "disabled" or (mode == "token" and env.get("RAY_AUTH_TOKEN")), name


def test_compose_runs_volume_is_shared_by_the_ray_nodes() -> None:
    runs = dockerfile_env()["AFSEARCH_RUNS"]
    sources = set()
    for name in ("ray-head", "ray-worker"):
        svc = service(name)
        assert environment(svc).get("AFSEARCH_RUNS", runs) == runs, name
        mounts = volume_mounts(svc)
        assert runs in mounts, f"{name} does not mount {runs}"
        sources.add(mounts[runs])
    (source,) = sources
    assert source in compose()["volumes"], "the runs volume must be a named (shared) volume"


def test_compose_optuna_dashboard() -> None:
    dash = service("optuna-dashboard")
    cmd = command(dash)
    if cmd[:2] == ["sh", "-c"]:
        cmd = shlex.split(cmd[2])
    cmd = cmd[1:] if cmd[0] == "exec" else cmd
    assert cmd[0] == "optuna-dashboard"
    # $$ in the file: the URL comes from the container's AFSEARCH_DB, not the host's.
    assert cmd[1] in ("$AFSEARCH_DB", "${AFSEARCH_DB}"), cmd
    assert "AFSEARCH_DB" in environment(dash)
    assert flag(cmd, "--host") == "0.0.0.0"
    assert flag(cmd, "--port") == str(OPTUNA_PORT)
    assert container_ports(dash) == {OPTUNA_PORT}


def test_compose_gpu_override() -> None:
    (gpu,) = load_all(COMPOSE_GPU)
    assert set(gpu["services"]) == {"ray-worker"}
    (device,) = gpu["services"]["ray-worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    assert "count" in device or "device_ids" in device
    assert "devices" not in json.dumps(compose()), "the default compose file must need no GPU"


# --------------------------------------------------------------------------------------------
# Launch commands in the docs, the compose comments and the RayJob


_LAUNCH = re.compile(
    r"(?P<pre>[^\n`]*?)(?P<cmd>afsearch launch|afsearch-launch-or-resume)\s+(?P<space>\S+\.ya?ml)"
    r"(?P<rest>[^\n`]*)"
)


def launch_commands() -> list[tuple[str, str, str, list[str]]]:
    """(file, text before, space file, options) of every concrete launch command shown."""
    found = []
    sources = {
        "deploy/README.md": (DEPLOY / "README.md").read_text(),
        "docker-compose.yml": COMPOSE.read_text(),
        "docker-compose.gpu.yml": COMPOSE_GPU.read_text(),
        "deploy/raycluster.yaml": (DEPLOY / "raycluster.yaml").read_text(),
        "rayjob entrypoint": rayjob()["spec"]["entrypoint"],
    }
    for where, text in sources.items():
        for m in _LAUNCH.finditer(text):
            rest = m.group("rest").split("#")[0]
            found.append((where, m.group("pre"), m.group("space"), shlex.split(rest)))
    return found


def test_launch_commands_connect_to_the_cluster_and_name_existing_spaces() -> None:
    commands = launch_commands()
    where = {c[0] for c in commands}
    assert {"deploy/README.md", "docker-compose.yml", "rayjob entrypoint"} <= where, where
    head_port = flag(command(service("ray-head")), "--port")
    for source, pre, space, options in commands:
        address = flag(options, "--address")
        assert address, f"{source}: a launch without --address starts a local Ray: {options}"
        if "docker compose exec" in pre:
            svc = pre.split("docker compose exec", 1)[1].split()[0]
            assert svc in compose()["services"], f"{source}: no compose service {svc!r}"
            host, port = address.rsplit(":", 1)
            assert host in compose()["services"] and port == head_port, f"{source}: {address}"
        else:
            assert address == "auto" or re.fullmatch(r"[\w.-]+:\d+", address), address
        path = image_path(space) if space.startswith("/") else ROOT / space
        assert path.is_file(), f"{source} names {space}, which is not in the repository"


def test_the_compose_launch_command_is_documented() -> None:
    expected = (
        "docker compose exec ray-head afsearch launch search_spaces/quickstart.yaml "
        f"--address ray-head:{GCS_PORT} --study demo"
    )
    assert expected in (DEPLOY / "README.md").read_text()
    assert expected in COMPOSE.read_text()


def test_every_search_space_mentioned_exists() -> None:
    texts = [p.read_text() for p in [*yaml_files(), DEPLOY / "README.md"]]
    mentioned = {m for t in texts for m in re.findall(r"search_spaces/[\w.-]+\.ya?ml", t)}
    assert mentioned
    for rel in mentioned:
        assert (ROOT / rel).is_file(), f"{rel} is mentioned but does not exist"


# --------------------------------------------------------------------------------------------
# KubeRay


def test_rayjob_runs_once_and_resumes() -> None:
    job = rayjob()["spec"]
    assert job["shutdownAfterJobFinishes"] is True
    assert job.get("submissionMode", "K8sJobMode") == "K8sJobMode"
    entrypoint = job["entrypoint"]
    # KubeRay pastes the entrypoint into its submitter's `bash -c`: no shell syntax allowed.
    bad = SHELL_METACHARACTERS & set(entrypoint)
    assert not bad, f"the entrypoint would run {sorted(bad)} in the submitter pod"
    args = entrypoint.split()
    assert args[0] in (Path(SCRIPT_IN_IMAGE).name, SCRIPT_IN_IMAGE), args[0]
    assert flag(args, "--study"), "the resume check needs the study name"
    assert "--resume" not in args


def test_worker_groups_ask_for_gpus() -> None:
    workers = [(w, g) for w, role, g in ray_groups() if role == "worker"]
    assert workers
    for where, group in workers:
        limits = ray_container(group)["resources"]["limits"]
        assert int(limits.get("nvidia.com/gpu", 0)) >= 1, where
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"], where
        assert group["groupName"], where


def test_ray_start_params_are_strings() -> None:
    # The CRD declares rayStartParams as map[string]string: num-cpus: 0 is rejected.
    for where, _, group in ray_groups():
        for key, value in group.get("rayStartParams", {}).items():
            assert isinstance(value, str), f"{where}: rayStartParams.{key} must be a string"


def test_head_ports_and_dashboard_host() -> None:
    for where, role, group in ray_groups():
        if role != "head":
            continue
        ports = {p["containerPort"] for p in ray_container(group).get("ports", [])}
        assert {GCS_PORT, DASHBOARD_PORT, CLIENT_PORT} <= ports, where
        assert group["rayStartParams"].get("dashboard-host") == "0.0.0.0", where


def test_ray_pods_have_dev_shm_in_memory() -> None:
    for where, _, group in ray_groups():
        spec = group["template"]["spec"]
        memory_volumes = {
            v["name"]
            for v in spec.get("volumes", [])
            if v.get("emptyDir", {}).get("medium") == "Memory"
        }
        mounts = {m["mountPath"]: m["name"] for m in ray_container(group).get("volumeMounts", [])}
        assert mounts.get("/dev/shm") in memory_volumes, where


def test_ray_pods_share_the_runs_volume() -> None:
    runs = dockerfile_env()["AFSEARCH_RUNS"]
    (pvc,) = load_all(DEPLOY / "runs-pvc.yaml")
    assert "ReadWriteMany" in pvc["spec"]["accessModes"]
    for where, _, group in ray_groups():
        container = ray_container(group)
        env = k8s_env(container)
        assert env.get("AFSEARCH_RUNS", {}).get("value", runs) == runs, where
        mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
        assert runs in mounts, f"{where} does not mount {runs}"
        volumes = {v["name"]: v for v in group["template"]["spec"]["volumes"]}
        claim = volumes[mounts[runs]].get("persistentVolumeClaim", {}).get("claimName")
        assert claim == pvc["metadata"]["name"], where


def test_ray_auth_mode_is_explicit() -> None:
    for where, _, group in ray_groups():
        env = k8s_env(ray_container(group))
        mode = env.get("RAY_AUTH_MODE", {}).get("value")
        assert mode == "disabled" or (mode == "token" and "RAY_AUTH_TOKEN" in env), where


def test_one_afsearch_image_everywhere() -> None:
    tomllib = pytest.importorskip("tomllib")
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    images = {
        c["image"]
        for where, spec in pod_specs()
        if "postgres" not in where
        for c in spec["containers"]
    }
    assert images == {f"{IMAGE_PLACEHOLDER}:{version}"}, images
    assert service("ray-head")["image"].rsplit(":", 1)[1] == version


def test_optuna_dashboard_manifest() -> None:
    deployment = the_one(
        [d for d in k8s_of_kind("Deployment") if d["metadata"]["name"] == "optuna-dashboard"],
        "optuna-dashboard Deployment",
    )
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    args = [*container.get("command", []), *container.get("args", [])]
    assert args[0] == "optuna-dashboard"
    # Kubernetes expands $(NAME) only for variables the container defines.
    assert args[1] == "$(AFSEARCH_DB)" and "AFSEARCH_DB" in k8s_env(container)
    assert flag(args, "--host") == "0.0.0.0" and flag(args, "--port") == str(OPTUNA_PORT)
    assert {p["containerPort"] for p in container["ports"]} == {OPTUNA_PORT}
    svc = the_one(
        [d for d in k8s_of_kind("Service") if d["metadata"]["name"] == "optuna-dashboard"],
        "optuna-dashboard Service",
    )
    assert {p["port"] for p in svc["spec"]["ports"]} == {OPTUNA_PORT}


def test_secret_references_match_the_example_secret() -> None:
    example = secret()
    assert example["kind"] == "Secret"
    keys = set(example["stringData"])
    refs = [
        (node["secretKeyRef"]["name"], node["secretKeyRef"]["key"])
        for doc in k8s_docs()
        for node in walk(doc)
        if "secretKeyRef" in node
    ]
    assert ("afsearch-db", "url") in refs
    for name, key in refs:
        assert name == example["metadata"]["name"], f"no Secret {name!r} in the example"
        assert key in keys, f"the example Secret has no key {key!r}"
    # The driver's env var comes from that Secret in every head.
    for where, role, group in ray_groups():
        if role == "head":
            ref = k8s_env(ray_container(group))["AFSEARCH_DB"]["valueFrom"]["secretKeyRef"]
            assert (ref["name"], ref["key"]) == (example["metadata"]["name"], "url"), where


def test_example_secret_matches_the_in_cluster_postgres() -> None:
    data = secret()["stringData"]
    url = make_url(data["url"])
    assert url.drivername == "postgresql+psycopg"
    assert url.password == "CHANGE_ME" == data["postgres-password"]
    (svc,) = [d for d in load_all(DEPLOY / "postgres.yaml") if d["kind"] == "Service"]
    (sts,) = [d for d in load_all(DEPLOY / "postgres.yaml") if d["kind"] == "StatefulSet"]
    assert url.host == svc["metadata"]["name"]
    assert url.port == svc["spec"]["ports"][0]["port"]
    env = k8s_env(sts["spec"]["template"]["spec"]["containers"][0])
    assert url.username == env["POSTGRES_USER"]["value"]
    assert url.database == env["POSTGRES_DB"]["value"]
    assert sts["spec"]["template"]["spec"]["containers"][0]["image"] == "postgres:16"


# --------------------------------------------------------------------------------------------
# The RayJob entrypoint script and how afsearch reaches the job's cluster


def test_launch_connects_where_a_rayjob_says(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--address auto` in a Ray job: Ray resolves it from RAY_ADDRESS, set for the driver."""
    import ray

    from afsearch.orchestrator import _launch

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", lambda *a, **kw: calls.append(kw))
    saved = dict(os.environ)
    try:
        _launch._init_ray("auto", None, None)
        # No network here: a pre-connection check of a host:port, if any, is not tested.
        monkeypatch.setattr(_launch, "_check_reachable", lambda *a, **kw: None, raising=False)
        monkeypatch.setenv("RAY_ADDRESS", "192.0.2.10:6379")
        _launch._init_ray(None, None, None)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert calls[0].get("address") == "auto"
    assert calls[0].get("num_cpus") is None and calls[0].get("num_gpus") is None
    # Without --address, a set RAY_ADDRESS (KubeRay sets it in the head pod) must still win.
    assert calls[1].get("address") in (None, "auto", "192.0.2.10:6379"), calls[1]


def test_script_is_executable_bash() -> None:
    assert SCRIPT.read_text().startswith("#!/usr/bin/env bash\n")
    assert SCRIPT.stat().st_mode & stat.S_IXUSR, "chmod +x deploy/afsearch-launch-or-resume.sh"
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash here")
    subprocess.run([bash, "-n", str(SCRIPT)], check=True)


FAKE_AFSEARCH = """#!/usr/bin/env bash
printf '%s\\n' "$*" >> "$FAKE_LOG"
if [[ "$1" == studies ]]; then
    if [[ -n "${FAKE_STUDIES_FAIL:-}" ]]; then echo "error: no database" >&2; exit 2; fi
    printf '%s' "$FAKE_STUDIES"
fi
"""


RunScript = Callable[..., tuple[int, list[str]]]


@pytest.fixture
def run_script(tmp_path: Path) -> RunScript:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash here")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "afsearch"
    fake.write_text(FAKE_AFSEARCH)
    fake.chmod(0o755)
    (bin_dir / "python3").symlink_to(sys.executable)
    log = tmp_path / "calls.log"

    def run(*args: str, studies: Any = (), fail: bool = False) -> tuple[int, list[str]]:
        env = {
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "FAKE_LOG": str(log),
            "FAKE_STUDIES": studies if isinstance(studies, str) else json.dumps(studies),
        }
        if fail:
            env["FAKE_STUDIES_FAIL"] = "1"
        log.write_text("")
        proc = subprocess.run(
            [bash, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60
        )
        return proc.returncode, log.read_text().splitlines()

    return run


def test_script_resumes_a_study_the_database_has(run_script: RunScript) -> None:
    rc, calls = run_script(
        "s.yaml", "--study", "demo", "--address", "auto", studies=[{"name": "demo"}]
    )
    assert rc == 0
    assert calls == ["studies --json", "launch s.yaml --study demo --address auto --resume"]


def test_script_starts_a_study_the_database_lacks(run_script: RunScript) -> None:
    for studies in ([], [{"name": "other"}], [{"name": "demo-2"}]):
        rc, calls = run_script("s.yaml", "--study=demo", studies=studies)
        assert rc == 0
        assert calls == ["studies --json", "launch s.yaml --study=demo"], studies


def test_script_starts_when_the_database_cannot_be_listed(run_script: RunScript) -> None:
    rc, calls = run_script("s.yaml", "--study", "demo", "--db", "sqlite:///x.db", fail=True)
    assert rc == 0
    assert calls == [
        "studies --json --db sqlite:///x.db",
        "launch s.yaml --study demo --db sqlite:///x.db",
    ]


def test_script_refuses_bad_arguments(run_script: RunScript) -> None:
    assert run_script("s.yaml")[0] == 2  # no --study
    assert run_script("s.yaml", "--study", "demo", "--resume")[0] == 2
    rc, calls = run_script("s.yaml", "--study", "demo", studies="not json")
    assert rc == 1 and not any(c.startswith("launch") for c in calls)
