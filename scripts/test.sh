#!/usr/bin/env bash
# The test command: set up, lint, type-check, run the whole test suite.
# The suite starts what it needs itself (a PostgreSQL server from Debian's binaries, local Ray
# instances, a two-node Ray cluster on loopback); this script only installs PostgreSQL where it
# is missing and it can (root with apt-get); without it the PostgreSQL tests skip.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } \
      >/dev/null 2>&1 || echo "PostgreSQL could not be installed; its tests will skip" >&2
  fi
fi
.venv/bin/ruff check afsearch tests benchmarks
.venv/bin/ruff format --check afsearch tests benchmarks
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
