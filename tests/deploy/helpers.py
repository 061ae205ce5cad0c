"""What the deploy tests read: the Dockerfile, .dockerignore, the compose files and deploy/.

Libraries parse (PyYAML, dockerfile-parse, pathspec); these helpers only pick out the parts
that the tests compare: services, Ray groups, containers, mounts, pip installs.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pathspec
import pytest
import yaml
from dockerfile_parse import DockerfileParser
from dockerfile_parse.util import WordSplitter

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
COMPOSE_GPU = ROOT / "docker-compose.gpu.yml"
SCRIPT = DEPLOY / "afsearch-launch-or-resume.sh"

# Ray's default ports, which KubeRay and the compose file both use, and optuna-dashboard's.
GCS_PORT, DASHBOARD_PORT, CLIENT_PORT, OPTUNA_PORT = 6379, 8265, 10001, 8080


@cache
def load_yaml(path: Path) -> tuple[Any, ...]:
    with path.open() as f:
        return tuple(d for d in yaml.safe_load_all(f) if d is not None)


@cache
def pyproject() -> dict[str, Any]:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def flag(args: list[str], name: str) -> str | None:
    """The value of ``--name=value`` or ``--name value`` in ``args``."""
    for i, a in enumerate(args):
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
        if a == name and i + 1 < len(args):
            return args[i + 1]
    return None


def is_afsearch_image(image: str) -> bool:
    """Whether ``image`` names the image built from the repository's Dockerfile."""
    name = image.rsplit("/", 1)[-1]
    return name.split(":")[0] == "afsearch"


def cli_options(command: str) -> set[str]:
    """Every option (``--study``, ``--no-resume``, ...) of ``afsearch COMMAND``."""
    import typer

    from afsearch.cli import app

    cmd = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    return {o for p in cmd.params for o in [*p.opts, *p.secondary_opts] if o.startswith("-")}


# --------------------------------------------------------------------------------------------
# The Dockerfile and .dockerignore


@cache
def dockerfile() -> DockerfileParser:
    return DockerfileParser(str(DOCKERFILE), cache_content=True)


def instructions(name: str) -> list[str]:
    return [i["value"] for i in dockerfile().structure if i["instruction"] == name]


def words(value: str) -> list[str]:
    """``value`` split into shell words, the Dockerfile's ARG and ENV values substituted."""
    df = dockerfile()
    return list(WordSplitter(value, args=df.args, envs=df.envs).split())


def copies() -> list[tuple[list[str], str]]:
    """(sources, destination) of every COPY and ADD."""
    found = []
    for value in instructions("COPY") + instructions("ADD"):
        parts = [w for w in words(value) if not w.startswith("--")]
        found.append((parts[:-1], parts[-1]))
    return found


def image_path(path: str) -> Path | None:
    """The repository file that the image holds at ``path`` (an absolute path in the image)."""
    for sources, dest in copies():
        for src in sources:
            # A directory's contents go to the destination; files into it when it ends in /.
            target = dest.rstrip("/")
            if not (ROOT / src).is_dir() and (dest.endswith("/") or len(sources) > 1):
                target = f"{target}/{Path(src).name}"
            if path == target or path.startswith(target + "/"):
                return ROOT / src / path[len(target) :].lstrip("/")
    return None


def shell_commands() -> Iterator[tuple[int, list[str]]]:
    """(index of the RUN, words) of each command of each RUN, split at ``&&`` and ``;``."""
    for n, value in enumerate(instructions("RUN")):
        cmd: list[str] = []
        for w in [*words(value), ";"]:
            if w not in ("&&", ";", "||"):
                cmd.append(w)
            elif cmd:
                yield n, cmd
                cmd = []


def pip_installs() -> list[tuple[int, list[str]]]:
    """(index of the RUN, arguments) of each ``pip install``."""
    return [(n, cmd[2:]) for n, cmd in shell_commands() if cmd[:2] == ["pip", "install"]]


@cache
def dockerignore() -> pathspec.PathSpec:
    lines = [ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines()]
    # Docker matches every pattern from the build context's root; gitignore matches a pattern
    # without a slash at any depth. Anchored with a leading slash, the two agree.
    anchored = [
        "!/" + p[1:].lstrip("/") if p.startswith("!") else "/" + p.lstrip("/")
        for p in lines
        if p and not p.startswith("#")
    ]
    return pathspec.GitIgnoreSpec.from_lines(anchored)


# --------------------------------------------------------------------------------------------
# docker compose


def compose() -> dict[str, Any]:
    (doc,) = load_yaml(COMPOSE)
    return doc


def service(name: str) -> dict[str, Any]:
    services = compose()["services"]
    assert name in services, f"docker-compose.yml has no service {name!r}"
    return services[name]


def built_services() -> list[str]:
    """The services that run the image built from the repository (all but postgres)."""
    return [n for n, s in compose()["services"].items() if "build" in s]


def environment(svc: dict[str, Any]) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    return {k: str(v) for k, v in env.items()}


def command(svc: dict[str, Any]) -> list[str]:
    """A service's command as words; ``sh -c "exec PROGRAM ..."`` as PROGRAM's words."""
    cmd = svc.get("command") or []
    args = shlex.split(cmd) if isinstance(cmd, str) else [str(c) for c in cmd]
    if args[:2] == ["sh", "-c"]:
        args = shlex.split(args[2])
    return args[1:] if args[:1] == ["exec"] else args


def container_ports(svc: dict[str, Any]) -> set[int]:
    """The container side of each published port ("127.0.0.1:8080:8080" -> 8080)."""
    specs = [str(p["target"] if isinstance(p, dict) else p) for p in svc.get("ports", [])]
    return {int(s.split("/")[0].rsplit(":", 1)[-1]) for s in specs}


def volume_mounts(svc: dict[str, Any]) -> dict[str, str]:
    """target path -> source of each volume of a service."""
    pairs = [
        (v["target"], v["source"]) if isinstance(v, dict) else str(v).split(":")[1::-1]
        for v in svc.get("volumes", [])
    ]
    return dict(pairs)


# --------------------------------------------------------------------------------------------
# Kubernetes


def k8s_docs() -> list[dict[str, Any]]:
    return [d for p in sorted(DEPLOY.glob("*.yaml")) for d in load_yaml(p)]


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [d for d in k8s_docs() if d.get("kind") == kind]


def ray_clusters() -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, RayCluster spec) of every RayCluster and of every RayJob's cluster."""
    for doc in of_kind("RayCluster"):
        yield f"RayCluster {doc['metadata']['name']}", doc["spec"]
    for doc in of_kind("RayJob"):
        yield f"RayJob {doc['metadata']['name']}", doc["spec"]["rayClusterSpec"]


def ray_groups() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(where, "head" or "worker", group spec) of every head and worker group."""
    for name, spec in ray_clusters():
        yield f"{name} head", "head", spec["headGroupSpec"]
        for group in spec.get("workerGroupSpecs", []):
            yield f"{name} {group['groupName']}", "worker", group


def ray_container(group: dict[str, Any]) -> dict[str, Any]:
    # KubeRay treats the first container of a group's pod as the Ray container.
    return group["template"]["spec"]["containers"][0]


def pod_templates() -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, pod template) of every Ray group and every Deployment, StatefulSet and Job."""
    for where, _, group in ray_groups():
        yield where, group["template"]
    for doc in k8s_docs():
        if doc.get("kind") in ("Deployment", "StatefulSet", "Job"):
            yield f"{doc['kind']} {doc['metadata']['name']}", doc["spec"]["template"]


def k8s_env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def k8s_mounts(container: dict[str, Any], pod: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """mount path -> the pod volume mounted there."""
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    return {m["mountPath"]: volumes[m["name"]] for m in container.get("volumeMounts", [])}


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every mapping in ``node``, nested ones included."""
    if isinstance(node, dict):
        yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    for child in children:
        yield from walk(child)
