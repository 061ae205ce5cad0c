"""docker-compose.yml and docker-compose.gpu.yml: services that find each other and the image."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from afsearch.store import DB_ENV
from tests.deploy.helpers import (
    CLIENT_PORT,
    COMPOSE_GPU,
    DASHBOARD_PORT,
    DOCKERFILE,
    ROOT,
    built_services,
    command,
    compose,
    container_ports,
    dockerfile,
    environment,
    flag,
    load_yaml,
    service,
    walk,
)


def test_the_afsearch_services_share_one_build_of_the_dockerfile() -> None:
    names = built_services()
    assert {"ray-head", "ray-worker", "optuna-dashboard"} <= set(names), names
    images = {service(n).get("image") for n in names}
    builds = {repr(service(n)["build"]) for n in names}
    assert len(images) == 1 and None not in images, f"one image name for all: {images}"
    assert len(builds) == 1, builds
    build = service(names[0])["build"]
    build = build if isinstance(build, dict) else {"context": build}
    path = ROOT / build["context"] / build.get("dockerfile", "Dockerfile")
    assert path.resolve() == DOCKERFILE
    unknown = set(build.get("args") or {}) - set(dockerfile().args)
    assert not unknown, f"build args the Dockerfile does not declare: {unknown}"


def test_depends_on_names_services_that_can_become_healthy() -> None:
    services = compose()["services"]
    for name, svc in services.items():
        deps = svc.get("depends_on") or {}
        for dep, cond in deps.items() if isinstance(deps, dict) else []:
            assert dep in services, f"{name} depends on {dep}, which is not a service"
            if cond.get("condition") == "service_healthy":
                assert services[dep].get("healthcheck"), f"{dep} has no healthcheck for {name}"


def test_the_database_url_is_the_postgres_service() -> None:
    services = compose()["services"]
    users = [n for n, s in services.items() if DB_ENV in environment(s)]
    assert users
    for name in users:
        url = make_url(environment(service(name))[DB_ENV])
        assert url.host in services, f"{name}: {url.host} is no service"
        pg = services[url.host]
        assert pg["image"].startswith("postgres:"), f"{name}: {url.host} is no PostgreSQL"
        pg_env = environment(pg)
        assert url.port in container_ports(pg) | {5432}, name
        assert url.username == pg_env["POSTGRES_USER"], name
        assert url.database == pg_env["POSTGRES_DB"], name
        # The same ${POSTGRES_PASSWORD:-...} expression: one setting changes both.
        assert url.password == pg_env["POSTGRES_PASSWORD"], name
        assert url.host in (service(name).get("depends_on") or {}), f"{name} may start first"


def test_the_ray_head_publishes_the_ports_it_listens_on() -> None:
    cmd = command(service("ray-head"))
    assert cmd[:3] == ["ray", "start", "--head"] and "--block" in cmd, cmd
    port = int(flag(cmd, "--port") or 6379)
    dashboard = int(flag(cmd, "--dashboard-port") or DASHBOARD_PORT)
    client = int(flag(cmd, "--ray-client-server-port") or CLIENT_PORT)
    missing = {port, dashboard, client} - container_ports(service("ray-head"))
    assert not missing, f"ray-head listens on {sorted(missing)} but does not publish them"
    # Ray's dashboard and job server listen on localhost only unless told otherwise.
    assert flag(cmd, "--dashboard-host") == "0.0.0.0"


def test_everything_that_joins_the_head_uses_its_port() -> None:
    head_port = flag(command(service("ray-head")), "--port") or "6379"
    worker = command(service("ray-worker"))
    assert worker[:2] == ["ray", "start"] and "--block" in worker and "--head" not in worker
    host, port = str(flag(worker, "--address")).rsplit(":", 1)
    assert (host, port) == ("ray-head", head_port), worker
    for name in built_services():
        test = (service(name).get("healthcheck") or {}).get("test") or []
        address = flag([str(t) for t in test], "--address")
        if address:
            assert address.rsplit(":", 1)[1] == head_port, f"{name} healthcheck: {address}"


def test_the_ray_nodes_agree_on_authentication_and_have_shared_memory() -> None:
    modes = set()
    for name in ("ray-head", "ray-worker"):
        svc = service(name)
        assert svc.get("shm_size"), f"{name}: Docker's 64 MB /dev/shm starves Ray"
        env = environment(svc)
        mode = env.get("RAY_AUTH_MODE", "disabled")
        assert mode == "disabled" or (mode == "token" and env.get("RAY_AUTH_TOKEN")), name
        modes.add(mode)
    assert len(modes) == 1, f"the head and the workers must use one RAY_AUTH_MODE: {modes}"


def test_optuna_dashboard_reads_the_database_and_listens_where_published() -> None:
    dash = service("optuna-dashboard")
    cmd = command(dash)
    assert cmd[0] == "optuna-dashboard"
    # $$ in the file leaves $ for the container's shell: the URL comes from the container's
    # environment. A single $ would be filled in by compose from the host's (unset) one.
    assert cmd[1] in (f"$${DB_ENV}", f"$${{{DB_ENV}}}"), cmd
    assert DB_ENV in environment(dash)
    assert flag(cmd, "--host") == "0.0.0.0"
    assert int(flag(cmd, "--port") or 8080) in container_ports(dash)


def test_the_gpu_override_adds_gpus_to_base_services() -> None:
    (gpu,) = load_yaml(COMPOSE_GPU)
    unknown = set(gpu["services"]) - set(compose()["services"])
    assert not unknown, f"docker-compose.gpu.yml overrides services the base lacks: {unknown}"
    devices = [d for node in walk(gpu) for d in node.get("devices", [])]
    assert devices and all(
        d["driver"] == "nvidia" and "gpu" in d["capabilities"] for d in devices
    ), devices
    # The base file runs on any machine: GPUs only come with the override.
    assert not [n for n in walk(compose()) if "devices" in n], "GPUs in docker-compose.yml"
