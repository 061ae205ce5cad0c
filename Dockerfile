# The afsearch image: one build for the Ray head, the Ray workers, the RayJob submitter and
# optuna-dashboard, so every node runs the same Python, Ray, torch and afsearch.
#
#   GPU nodes (default, a CUDA 12.x build of torch):
#     docker build -t afsearch:0.1.0 .
#   CPU only (a much smaller image; laptops, CI, CPU-only clusters):
#     docker build -t afsearch:0.1.0-cpu --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu .
#   Another CUDA or a pinned torch:
#     docker build --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu126 \
#                  --build-arg TORCH_VERSION=2.13.0 -t afsearch:0.1.0 .
#
# See deploy/README.md for docker compose and KubeRay.

FROM python:3.11-slim

# Where torch comes from: a PyTorch wheel index (cu1xx for a CUDA build, cpu for the CPU one).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128
# Empty: the newest torch on that index. Set it (e.g. 2.13.0) to pin one.
ARG TORCH_VERSION=
# Every node and every driver must run the same Ray; deploy/*.yaml say rayVersion to match.
ARG RAY_VERSION=2.60.0
ARG OPTUNA_DASHBOARD_VERSION=0.21.0
# The non-root user; deploy/*.yaml run pods as this uid and give volumes this fsGroup.
ARG UID=1000

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RAY_USAGE_STATS_ENABLED=0 \
    AFSEARCH_RUNS=/work/afsearch_runs

# wget: KubeRay's liveness/readiness probes and its RayJob submitter call it.
RUN apt-get update \
    && apt-get install -y --no-install-recommends wget \
    && rm -rf /var/lib/apt/lists/*

# torch first, from the chosen index: afsearch asks for any torch>=2.2, so the install below
# keeps this build instead of fetching another one.
RUN pip install --index-url "${TORCH_INDEX_URL}" "torch${TORCH_VERSION:+==${TORCH_VERSION}}"

# afsearch from this repository, with the PostgreSQL driver; ray[default] brings the dashboard
# and job server that `ray job submit`, KubeRay and its probes talk to. Built outside /work so
# the source tree never shadows the installed package.
COPY pyproject.toml README.md /tmp/afsearch-src/
COPY afsearch /tmp/afsearch-src/afsearch
RUN pip install "/tmp/afsearch-src[postgres]" \
        "ray[default,tune]==${RAY_VERSION}" \
        "optuna-dashboard==${OPTUNA_DASHBOARD_VERSION}" \
    && rm -rf /tmp/afsearch-src \
    && python -c "import afsearch, psycopg, ray, torch, optuna_dashboard" \
    && afsearch --help > /dev/null

# Start a study, or resume it when the database already has it (the RayJob entrypoint).
COPY deploy/afsearch-launch-or-resume.sh /usr/local/bin/afsearch-launch-or-resume

WORKDIR /work
COPY search_spaces /work/search_spaces

RUN chmod 0755 /usr/local/bin/afsearch-launch-or-resume \
    && groupadd --gid "${UID}" afsearch \
    && useradd --uid "${UID}" --gid "${UID}" --create-home --shell /bin/bash afsearch \
    && mkdir -p /work/afsearch_runs \
    && chown -R "${UID}:${UID}" /work

# Numeric, so Kubernetes can check runAsNonRoot.
USER ${UID}:${UID}

# 6379 Ray GCS, 8265 Ray dashboard and job server, 10001 Ray client, 8080 optuna-dashboard.
EXPOSE 6379 8265 10001 8080

# No ENTRYPOINT: compose and KubeRay run `ray start ...`, `optuna-dashboard ...` or `afsearch ...`.
CMD ["afsearch", "--help"]
