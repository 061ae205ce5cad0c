"""The Dockerfile and .dockerignore, against pyproject.toml, compose and the manifests."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from pathlib import Path

import pytest
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from sqlalchemy.engine import make_url

from afsearch.orchestrator import RUNS_ENV
from afsearch.store import DB_ENV
from tests.deploy.helpers import (
    ROOT,
    built_services,
    command,
    compose,
    copies,
    dockerfile,
    dockerignore,
    environment,
    flag,
    image_path,
    instructions,
    is_afsearch_image,
    of_kind,
    pip_installs,
    pod_templates,
    pyproject,
    ray_clusters,
    service,
    shell_commands,
    words,
)


def requirements() -> list[Requirement]:
    """What pip installs from an index (ray[...]==..., optuna-dashboard==...)."""
    found = []
    for _, args in pip_installs():
        for a in args:
            # Not a requirement: an option, a URL, a path, a shell expansion kept as is.
            with contextlib.suppress(InvalidRequirement):
                found.append(Requirement(a))
    return found


def local_installs() -> list[tuple[int, set[str]]]:
    """(index of the RUN, extras) of each pip install of the repository copied in."""
    return [
        (n, {e for e in a.partition("[")[2].rstrip("]").split(",") if e})
        for n, args in pip_installs()
        for a in args
        if image_path(a.split("[")[0] + "/pyproject.toml") == ROOT / "pyproject.toml"
    ]


def test_the_base_image_has_a_python_afsearch_supports() -> None:
    name, _, tag = words(dockerfile().baseimage)[0].partition(":")
    assert name.rsplit("/", 1)[-1] == "python", name
    assert tag.split("-")[0] in SpecifierSet(pyproject()["project"]["requires-python"]), tag


def test_the_image_runs_as_the_non_root_uid_of_the_pods() -> None:
    users = instructions("USER")
    assert users, "the image must not run as root"
    uid = words(users[-1])[0].split(":")[0]
    # Numeric, so that Kubernetes can check runAsNonRoot.
    assert uid.isdigit() and int(uid) != 0, users[-1]
    for where, pod in pod_templates():
        if all(is_afsearch_image(c["image"]) for c in pod["spec"]["containers"]):
            ctx = pod["spec"].get("securityContext", {})
            assert ctx.get("runAsNonRoot") is True and ctx.get("runAsUser") == int(uid), where


def test_no_entrypoint_comes_before_the_commands_deploy_runs() -> None:
    # compose's `command:` and a pod's `command`/`args` are appended to an ENTRYPOINT.
    assert instructions("ENTRYPOINT") in ([], ['["afsearch"]'])


def test_torch_comes_from_the_chosen_index_before_afsearch_asks_for_any() -> None:
    index = dockerfile().args.get("TORCH_INDEX_URL")
    torch = [
        n
        for n, args in pip_installs()
        if index and flag(args, "--index-url") == index and any(a.startswith("torch") for a in args)
    ]
    assert torch, f"no pip install of torch from TORCH_INDEX_URL ({index})"
    # Installed later, afsearch's loose torch>=2.2 would first fetch PyPI's build.
    ours = [n for n, _ in local_installs()]
    assert ours and min(torch) < min(ours), (torch, ours)


def test_the_image_has_the_database_driver_of_the_deployment_urls() -> None:
    extras = pyproject()["project"]["optional-dependencies"]
    installed = {e for _, es in local_installs() for e in es}
    assert installed <= extras.keys(), f"the image asks for extras pyproject lacks: {installed}"
    provided = {Requirement(d).name for e in installed for d in extras[e]}
    urls = [
        env[DB_ENV] for s in compose()["services"].values() if DB_ENV in (env := environment(s))
    ]
    urls += [s["stringData"]["url"] for s in of_kind("Secret")]
    for url in urls:
        driver = make_url(url).get_driver_name()
        assert driver in provided, f"{url} needs {driver}; the image installs extras {installed}"


def test_ray_is_the_same_version_everywhere() -> None:
    version = dockerfile().args.get("RAY_VERSION")
    assert version, "the Dockerfile declares no RAY_VERSION"
    deps = [Requirement(d) for d in pyproject()["project"]["dependencies"]]
    (wanted,) = [r for r in deps if r.name == "ray"]
    assert wanted.specifier.contains(version), (wanted, version)
    (ray,) = [r for r in requirements() if r.name == "ray"]
    assert str(ray.specifier) == f"=={version}", ray
    # ray[default]: the dashboard and job server that KubeRay and `ray job submit` talk to.
    assert wanted.extras | {"default"} <= ray.extras, ray
    for where, spec in ray_clusters():
        assert spec.get("rayVersion") == version, where


def test_every_program_deploy_runs_is_in_the_image() -> None:
    runs = {command(service(n))[0]: f"docker-compose.yml {n}" for n in built_services()}
    for where, pod in pod_templates():
        for c in pod["spec"]["containers"]:
            if is_afsearch_image(c["image"]) and c.get("command"):
                runs[c["command"][0]] = where
    for job in of_kind("RayJob"):
        runs[job["spec"]["entrypoint"].split()[0]] = "the RayJob"
    if any(ray_clusters()):
        # KubeRay's probes and its RayJob submitter call these in the image.
        runs |= {"ray": "KubeRay", "wget": "KubeRay"}
    provided = {"sh", "bash", "python", *pyproject()["project"]["scripts"]}
    provided |= {r.name for r in requirements()}  # ray, optuna-dashboard
    provided |= {Path(dest).name for _, dest in copies() if dest.startswith("/usr/local/bin/")}
    for _, cmd in shell_commands():
        if cmd[:2] == ["apt-get", "install"]:
            provided |= {w for w in cmd[2:] if not w.startswith("-")}
    for program, where in runs.items():
        assert Path(program).name in provided, f"{where} runs {program}, which the image lacks"


def test_dockerignore_keeps_what_copy_needs() -> None:
    sources = [s for srcs, _ in copies() for s in srcs]
    missing = [s for s in sources if not (ROOT / s).exists()]
    assert not missing, f"the Dockerfile copies {missing}, which do not exist"
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    files = subprocess.run(
        [git, "ls-files", "--", *sources], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    dropped = [f for f in files if dockerignore().match_file(f)]
    assert files and not dropped, f".dockerignore drops files the image copies: {dropped}"


def test_dockerignore_keeps_local_state_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import typer

    from afsearch.cli import app
    from afsearch.orchestrator import default_runs_dir
    from afsearch.results import EXPORT_DIR
    from afsearch.store import DEFAULT_FILE

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(RUNS_ENV, raising=False)
    runs = Path(default_runs_dir()).relative_to(tmp_path)
    export = typer.main.get_command(app).commands["export"]  # type: ignore[attr-defined]
    (exported,) = [p.default for p in export.params if p.name == "out_dir"]
    assert str(exported) == EXPORT_DIR  # the command's default is the library's
    for path in (
        ".git/HEAD",
        ".venv/bin/python",
        "afsearch/__pycache__/cli.cpython-311.pyc",
        DEFAULT_FILE,
        f"{DEFAULT_FILE}-wal",
        f"{runs}/study/state.json",
        f"{exported}/activation.py",
    ):
        assert dockerignore().match_file(path), f".dockerignore lets {path} into the context"
