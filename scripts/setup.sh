#!/usr/bin/env bash
# Create .venv and install afsearch with its development tools. Idempotent.
# torch and torchvision are pinned here as a pair; the package itself accepts any torch>=2.2.
# A torchvision wheel is built against one torch release and fails to import beside another
# ("operator torchvision::nms does not exist": PyPI's torchvision 0.28 beside the CPU torch
# 2.13.0), so the two are installed in one pip call, before the extras could pull a mismatched
# torchvision. AFSEARCH_TORCH_VERSION and AFSEARCH_TORCHVISION_VERSION override them together.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet \
  "torch==${AFSEARCH_TORCH_VERSION:-2.14.1}" \
  "torchvision==${AFSEARCH_TORCHVISION_VERSION:-0.29.1}"
.venv/bin/python -m pip install --quiet -e ".[dev]"
