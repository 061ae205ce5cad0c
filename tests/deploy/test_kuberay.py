"""The Kubernetes manifests in deploy/: KubeRay clusters, Secret, PostgreSQL, optuna-dashboard."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from afsearch.store import DB_ENV
from tests.deploy.helpers import (
    CLIENT_PORT,
    DASHBOARD_PORT,
    DEPLOY,
    GCS_PORT,
    OPTUNA_PORT,
    SCRIPT,
    compose,
    flag,
    image_path,
    is_afsearch_image,
    k8s_docs,
    k8s_env,
    k8s_mounts,
    load_yaml,
    of_kind,
    pod_templates,
    pyproject,
    ray_clusters,
    ray_container,
    ray_groups,
    walk,
)

# KubeRay pastes a RayJob's entrypoint into its submitter's `bash -c "... -- ENTRYPOINT ; ..."`.
SHELL_METACHARACTERS = set("|&;<>$`'\"\\()")


@pytest.mark.parametrize("path", sorted(DEPLOY.glob("*.yaml")), ids=lambda p: p.name)
def test_every_manifest_is_a_named_object(path: Path) -> None:
    docs = load_yaml(path)
    assert docs, f"{path.name} is empty"
    for doc in docs:
        assert {"apiVersion", "kind", "metadata"} <= doc.keys(), f"{path.name}: {doc}"
        assert doc["metadata"].get("name"), f"{path.name}: a {doc['kind']} without a name"


def test_ray_start_params_are_strings() -> None:
    # The CRD declares rayStartParams as map[string]string: `num-cpus: 0` is rejected.
    for where, _, group in ray_groups():
        for key, value in (group.get("rayStartParams") or {}).items():
            assert isinstance(value, str), f"{where}: rayStartParams.{key} must be a string"


def test_heads_expose_rays_ports_to_the_cluster() -> None:
    for where, role, group in ray_groups():
        if role == "head":
            ports = {p["containerPort"] for p in ray_container(group).get("ports", [])}
            missing = {GCS_PORT, DASHBOARD_PORT, CLIENT_PORT} - ports
            assert not missing, f"{where} lacks container ports {sorted(missing)}"
            assert group["rayStartParams"].get("dashboard-host") == "0.0.0.0", where


def test_ray_pods_have_dev_shm_in_memory() -> None:
    for where, _, group in ray_groups():
        mounts = k8s_mounts(ray_container(group), group["template"]["spec"])
        assert mounts.get("/dev/shm", {}).get("emptyDir", {}).get("medium") == "Memory", where


def test_worker_groups_ask_for_gpus_within_their_bounds() -> None:
    workers = [(w, g) for w, role, g in ray_groups() if role == "worker"]
    assert workers
    for where, group in workers:
        limits = ray_container(group)["resources"]["limits"]
        assert int(limits.get("nvidia.com/gpu", 0)) >= 1, where
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"], where


def test_each_clusters_nodes_agree_on_authentication() -> None:
    for name, spec in ray_clusters():
        groups = [spec["headGroupSpec"], *spec.get("workerGroupSpecs", [])]
        modes = set()
        for group in groups:
            env = k8s_env(ray_container(group))
            mode = env.get("RAY_AUTH_MODE", {}).get("value", "disabled")
            assert mode == "disabled" or (mode == "token" and "RAY_AUTH_TOKEN" in env), name
            modes.add(mode)
        assert len(modes) == 1, f"{name}: the head and the workers must use one mode: {modes}"


def test_secret_references_name_keys_of_a_secret_in_deploy() -> None:
    secrets = {s["metadata"]["name"]: s.get("stringData") or s["data"] for s in of_kind("Secret")}
    refs = [n["secretKeyRef"] for doc in k8s_docs() for n in walk(doc) if "secretKeyRef" in n]
    assert refs
    for ref in refs:
        assert ref["name"] in secrets, f"no Secret {ref['name']!r} in deploy/"
        assert ref["key"] in secrets[ref["name"]], f"{ref['name']} has no key {ref['key']!r}"


def test_the_example_secret_is_the_in_cluster_postgres() -> None:
    (secret,) = of_kind("Secret")
    url = make_url(secret["stringData"]["url"])
    (svc,) = [s for s in of_kind("Service") if s["metadata"]["name"] == url.host]
    assert url.port in {p["port"] for p in svc["spec"]["ports"]}
    (env,) = [
        k8s_env(c)
        for _, pod in pod_templates()
        for c in pod["spec"]["containers"]
        if "POSTGRES_USER" in k8s_env(c)
    ]
    assert (url.username, url.database) == (
        env["POSTGRES_USER"]["value"],
        env["POSTGRES_DB"]["value"],
    )
    ref = env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert ref["name"] == secret["metadata"]["name"]
    assert url.password == secret["stringData"][ref["key"]], (
        "the URL and the server need one password"
    )


def test_services_select_pods_and_their_ports() -> None:
    for svc in of_kind("Service"):
        name = svc["metadata"]["name"]
        selector = svc["spec"]["selector"]
        pods = [
            pod
            for _, pod in pod_templates()
            if selector.items() <= (pod.get("metadata", {}).get("labels") or {}).items()
        ]
        assert pods, f"Service {name} selects no pod of deploy/"
        ports = {
            x
            for pod in pods
            for c in pod["spec"]["containers"]
            for p in c.get("ports", [])
            for x in (p["containerPort"], p.get("name"))
        }
        for p in svc["spec"]["ports"]:
            target = p.get("targetPort", p["port"])
            assert target in ports, f"Service {name} targets port {target!r}, which no pod has"


def test_one_afsearch_image_everywhere() -> None:
    version = pyproject()["project"]["version"]
    images = {
        c["image"]
        for _, pod in pod_templates()
        for c in pod["spec"]["containers"]
        if is_afsearch_image(c["image"])
    }
    assert len(images) == 1, f"the manifests name different afsearch images: {images}"
    compose_images = {s["image"] for s in compose()["services"].values() if "build" in s}
    for ref in images | compose_images:
        assert ref.rsplit(":", 1)[1] == version, f"{ref}: not afsearch {version}"


def test_optuna_dashboard_gets_the_url_from_its_env() -> None:
    (deployment,) = [
        d
        for d in of_kind("Deployment")
        if "optuna-dashboard" in d["spec"]["template"]["spec"]["containers"][0].get("command", [])
    ]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    args = [*container.get("command", []), *container.get("args", [])]
    # Kubernetes expands $(NAME) only for variables the container defines.
    assert args[1] == f"$({DB_ENV})" and DB_ENV in k8s_env(container), args
    assert flag(args, "--host") == "0.0.0.0"
    port = int(flag(args, "--port") or OPTUNA_PORT)
    assert port in {p["containerPort"] for p in container["ports"]}


def test_the_rayjob_entrypoint_is_one_plain_command_of_the_image() -> None:
    jobs = of_kind("RayJob")
    assert jobs
    for job in jobs:
        entrypoint = job["spec"]["entrypoint"]
        bad = SHELL_METACHARACTERS & set(entrypoint)
        assert not bad, f"the entrypoint would run {sorted(bad)} in the submitter pod"
        args = entrypoint.split()
        # A retried or resubmitted RayJob must resume the study: the script decides that.
        program = args[0] if args[0].startswith("/") else f"/usr/local/bin/{args[0]}"
        assert image_path(program) == SCRIPT, f"{args[0]} is not the launch-or-resume script"
        assert flag(args, "--study"), "the resume check needs the study name"
        assert "--resume" not in args
