#!/usr/bin/env bash
# The CUDA path of afsearch, run once on a machine with a GPU; every output lands under $OUT.
#
#     OUT=/tmp/gpu-check bash benchmarks/gpu_check.sh   # 5-10 minutes on one GPU, 18 at most
#
# 1. the unit suite's CUDA-marked tests (tests that skip without CUDA run here);
# 2. a 12-trial launch on mnist1d-cnn, --gpus-per-trial 0.25 (four trials share the GPU), AMP on;
# 3. cifar10-resnet20 on synthetic data of CIFAR's shape for two epochs (AMP, bfloat16);
# 4. the exported and the trial modules' forward+backward against the native op on CUDA at 16M
#    float32 elements, time and peak memory (torch.cuda.max_memory_allocated), eager and compiled.
# Each step writes its own log; a failed step is recorded in $OUT/summary.txt and the next runs.
set -u
OUT="${OUT:-$(pwd)/gpu-check-out}"
mkdir -p "$OUT"
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python
AFSEARCH="$(dirname "$(command -v "$PY")")/afsearch"
[ -x "$AFSEARCH" ] || AFSEARCH=afsearch
SUMMARY="$OUT/summary.txt"
: > "$SUMMARY"
export RAY_USAGE_STATS_ENABLED=0 PYTHONWARNINGS=ignore::DeprecationWarning

step() {  # step NAME TIMEOUT_S COMMAND...
    local name=$1 limit=$2
    shift 2
    local start=$SECONDS
    timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
    local rc=$?
    echo "$name: exit $rc in $((SECONDS - start)) s (log: $name.log)" | tee -a "$SUMMARY"
}

{
    nvidia-smi || true
    "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
torch.cuda.is_available() and torch.cuda.get_device_name(0))"
} > "$OUT/device.txt" 2>&1

# 1. The unit tests about CUDA (named so; they skip on a machine without it).
step cuda_tests 240 "$PY" -m pytest tests -q -p no:cacheprovider -rs -k cuda

# 2. Twelve trials on mnist1d-cnn, four at a time on the GPU, mixed precision.
cat > "$OUT/cnn_space.yaml" <<'YAML'
name: gpu-check-cnn
task:
  name: mnist1d-cnn
  epochs: 3
  options: {amp: true}
sampler: random
scheduler: none
num_samples: 12
max_concurrent: 4
families:
  - family: swish
    beta: {low: 0.5, high: 2.0}
    trainable: true
  - family: slaf
    basis: chebyshev
    degree: 6
YAML
step launch_cnn 300 "$AFSEARCH" launch "$OUT/cnn_space.yaml" \
    --db "sqlite:///$OUT/gpu-check.db" --gpus-per-trial 0.25 --cpus-per-trial 1 --seed 0
"$AFSEARCH" trials --db "sqlite:///$OUT/gpu-check.db" > "$OUT/launch_cnn_trials.txt" 2>&1

# 3 and 4 in Python.
step cifar_and_modules 540 "$PY" - "$OUT" <<'PY'
import json
import os
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from afsearch.activations import build
from afsearch.compiler import CompiledActivation, render_module
from afsearch.tasks import get_task, list_tasks

out = Path(sys.argv[1])
report = {}
# GPU_CHECK_DEVICE=cpu GPU_CHECK_NUMEL=65536 GPU_CHECK_SUBSET=256 try this part without a GPU.
DEVICE = os.environ.get("GPU_CHECK_DEVICE", "cuda")
CUDA = DEVICE == "cuda"
SUBSET = int(os.environ["GPU_CHECK_SUBSET"]) if "GPU_CHECK_SUBSET" in os.environ else None

# 3. ResNet-20 on synthetic CIFAR-shaped data (uint8 images, 10 classes), two epochs.
with tempfile.TemporaryDirectory() as tmp:
    rng = np.random.default_rng(0)
    for name, n in [(f"data_batch_{i}", 2000) for i in range(1, 6)] + [("test_batch", 2000)]:
        batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 b"labels": rng.integers(0, 10, n).tolist()}
        with open(Path(tmp) / name, "wb") as handle:
            pickle.dump(batch, handle)
    Task = next(t for t in list_tasks() if t.name == "cifar10-resnet20")
    options = {"data_dir": tmp, "n_val": 1000, "subset": SUBSET}
    task = get_task("cifar10-resnet20", Task.make_settings(epochs=2, options=options))
    # A trainable Swish beta: several ops, so ResNet-20's large activations take the fused path.
    cand = build({"family": "swish", "trainable": True})
    epochs = []
    start = time.perf_counter()
    for result in task.fit(lambda: CompiledActivation(cand, fold=True, fused=None), seed=0,
                           device=DEVICE):
        epochs.append({**result.metrics, "wall_s": time.perf_counter() - start})
    report["cifar10_resnet20_synthetic"] = {
        "epochs": epochs, "peak_mib": torch.cuda.max_memory_allocated() / 2**20 if CUDA else None}
    print("cifar10-resnet20 synthetic:", json.dumps(report["cifar10_resnet20_synthetic"]))

# 4. Exported and trial modules against native ops at 16M elements, eager and compiled.
N = int(os.environ.get("GPU_CHECK_NUMEL", 1 << 24))
x = torch.randn(N, device=DEVICE, requires_grad=True)
g = torch.randn(N, device=DEVICE)


def sync():
    if CUDA:
        torch.cuda.synchronize()


def one(fn):
    x.grad = None
    sync()
    t0 = time.perf_counter()
    fn(x).backward(g)
    sync()
    return time.perf_counter() - t0


def peak(fn):
    if not CUDA:
        return 0
    x.grad = None
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    fn(x).backward(g)
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - base


cases = {
    "SiLU": ({"family": "swish"}, F.silu),
    "GELU": ({"family": "gelu"}, F.gelu),
    "Mish": ({"family": "mish"}, F.mish),
    "Swish-beta-trainable": ({"family": "swish", "trainable": True}, F.silu),
    "SLAF-cheb6": ({"family": "slaf", "basis": "chebyshev", "degree": 6}, F.relu),
}
rows = {}
with tempfile.TemporaryDirectory() as tmp:
    for label, (config, native) in cases.items():
        cand = build(config)
        path = Path(tmp) / f"Act{len(rows)}.py"
        path.write_text(render_module(cand, f"Act{len(rows)}"))
        import importlib.util
        spec = importlib.util.spec_from_file_location(path.stem, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        exported = getattr(mod, path.stem)().to(DEVICE)
        trial = CompiledActivation(cand, fold=True, fused=None).to(DEVICE)
        variants = {"native": native, "native+c": torch.compile(native),
                    "export": exported, "export+c": torch.compile(exported),
                    "trial": trial, "trial+c": torch.compile(trial)}
        times = {k: [] for k in variants}
        for fn in variants.values():
            one(fn); one(fn)
        for _ in range(10):
            for k, fn in variants.items():
                times[k].append(one(fn))
        med = {k: statistics.median(v) for k, v in times.items()}
        mem = {k: peak(fn) for k, fn in variants.items()}
        rows[label] = {k: {"ms": med[k] * 1e3, "ratio": med[k] / med["native"],
                           "peak_mib": mem[k] / 2**20,
                           "peak_ratio": mem[k] / max(mem["native"], 1)} for k in variants}
        print(label, json.dumps({k: [round(v["ratio"], 2), round(v["peak_ratio"], 2)]
                                 for k, v in rows[label].items()}))
        torch._dynamo.reset()
report["modules_16M"] = rows
(out / "gpu_check.json").write_text(json.dumps(report, indent=2))
PY

echo "done; outputs in $OUT" | tee -a "$SUMMARY"
