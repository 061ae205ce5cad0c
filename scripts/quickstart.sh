#!/usr/bin/env bash
# The main job: set up, run the quickstart search on local Ray with the embedded SQLite
# database, print the leaderboard and export the best activation as a standalone module.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export AFSEARCH_DB=${AFSEARCH_DB:-sqlite:///$PWD/afsearch.db}
STUDY=${STUDY:-quickstart-$(date +%Y%m%d-%H%M%S)}
.venv/bin/afsearch launch search_spaces/quickstart.yaml --study "$STUDY" --num-cpus 2
.venv/bin/afsearch export --study "$STUDY" --best --out exported
.venv/bin/python - <<'PY'
import glob, importlib.util, torch
path = sorted(glob.glob("exported/*.py"), key=lambda p: __import__("os").path.getmtime(p))[-1]
spec = importlib.util.spec_from_file_location("best", path)
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
cls = [v for k, v in vars(mod).items() if isinstance(v, type) and issubclass(v, torch.nn.Module)][-1]
act = cls()
x = torch.linspace(-3, 3, 7)
print(f"{path}: {mod.EXPRESSION}")
print("f(x) at -3..3:", [round(v, 4) for v in act(x).tolist()])
PY
