"""The commands deploy/README.md and the files' comments tell users to run."""

from __future__ import annotations

import re
import shlex

import pathspec

from afsearch.space import load_space
from afsearch.store import DB_ENV
from tests.deploy.helpers import (
    COMPOSE,
    COMPOSE_GPU,
    DEPLOY,
    ROOT,
    cli_options,
    compose,
    environment,
    flag,
    image_path,
    instructions,
)

LAUNCH = re.compile(
    r"(?P<pre>[^\n`]*?)\b(?P<cmd>afsearch launch|afsearch-launch-or-resume)\s+"
    r"(?P<space>\S+\.ya?ml)(?P<rest>[^\n`]*)"
)


def texts() -> dict[str, str]:
    paths = [DEPLOY / "README.md", COMPOSE, COMPOSE_GPU, *sorted(DEPLOY.glob("*.yaml"))]
    return {str(p.relative_to(ROOT)): p.read_text() for p in paths}


def launch_commands() -> list[tuple[str, str, str, list[str]]]:
    """(file, text before the command, space file, options) of every launch command shown."""
    found = []
    for where, text in texts().items():
        for m in LAUNCH.finditer(text):
            rest = shlex.split(m.group("rest").split(" #")[0].rstrip("\\"))
            found.append((where, m.group("pre"), m.group("space"), rest))
    return found


def test_launch_commands_use_options_afsearch_has_and_reach_the_cluster() -> None:
    commands = launch_commands()
    assert {w for w, *_ in commands} >= {"deploy/README.md", "docker-compose.yml"}
    known = cli_options("launch")
    head_port = flag(compose()["services"]["ray-head"]["command"], "--port")
    for where, pre, _, options in commands:
        unknown = {o.split("=")[0] for o in options if o.startswith("--")} - known
        assert not unknown, f"{where}: `afsearch launch` has no {sorted(unknown)}"
        address = flag(options, "--address")
        assert address, f"{where}: a launch without --address starts a local Ray: {options}"
        if "docker compose exec" in pre:
            svc = pre.split("docker compose exec", 1)[1].split()[0]
            assert DB_ENV in environment(compose()["services"][svc]), f"{where}: {svc}"
            host, port = address.rsplit(":", 1)
            assert host in compose()["services"] and port == head_port, f"{where}: {address}"


def test_the_spaces_launched_are_in_the_image_and_valid() -> None:
    workdir = instructions("WORKDIR")[-1]
    for where, _, space, _ in launch_commands():
        path = image_path(space if space.startswith("/") else f"{workdir}/{space}")
        assert path and path.is_file(), f"{where} launches {space}, which the image does not hold"
        load_space(path)


def test_kubectl_applies_files_of_deploy_or_the_secret_users_keep_out_of_git() -> None:
    text = "\n".join(texts().values())
    applied = set(re.findall(r"kubectl apply(?: -f \S+)+", text))
    files = {f for cmd in applied for f in cmd.split()[3::2]}
    assert files
    created = set(re.findall(r"\bcp deploy/\S+ (deploy/\S+)", text))
    gitignore = pathspec.GitIgnoreSpec.from_lines((ROOT / ".gitignore").read_text().splitlines())
    for f in files:
        if f in created:
            assert gitignore.match_file(f), f"{f} holds the password: .gitignore must list it"
        else:
            assert (ROOT / f).is_file(), f"`kubectl apply -f {f}`: no such file"
