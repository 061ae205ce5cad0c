"""A search on your own images, end to end: a generated image folder, ``image-folder`` with a
timm model, a 6-trial launch, the winner exported, and the exported module given to timm as
``act_layer``.

    python benchmarks/bench_image_folder.py                     # about 3 minutes on 2 cores
    python benchmarks/bench_image_folder.py --model test_efficientnet --trials 6

The folder holds three classes of 32x32 pictures (a disc, a square, horizontal stripes, in
random colours, sizes and places), 40 of each, split per class by the task; nothing is
downloaded. The search space is swish (beta searched), GELU and ELU and the standard ReLU,
GELU and SiLU, 4 epochs, no scheduler. After the launch the best trial is exported with
``afsearch export``, its module imported from the file and passed to
``timm.create_model(model, act_layer=...)``; the model's forward pass is checked and the
number of the exported activation modules inside it counted. Writes
``benchmarks/results/bench_image_folder.json``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from afsearch.orchestrator import launch
from afsearch.results import export_trial
from afsearch.store import study_best, trials

RESULTS = Path(__file__).resolve().parent / "results"


def write_folder(root: Path, per_class: int = 40, size: int = 32, seed: int = 0) -> Path:
    """Three classes of generated pictures under ``root/<class>/``."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    for name in ("disc", "square", "stripes"):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            back = tuple(rng.randrange(256) for _ in range(3))
            fore = tuple(rng.randrange(256) for _ in range(3))
            image = Image.new("RGB", (size, size), back)
            draw = ImageDraw.Draw(image)
            r = rng.randrange(size // 5, size // 3)
            cx, cy = rng.randrange(r, size - r), rng.randrange(r, size - r)
            if name == "disc":
                draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fore)
            elif name == "square":
                draw.rectangle((cx - r, cy - r, cx + r, cy + r), fill=fore)
            else:
                for y in range(0, size, 4):
                    draw.rectangle((0, y, size, y + 1), fill=fore)
            image.save(folder / f"{i:03d}.png")
    return root


def space(data_dir: Path, model: str, trials_n: int) -> dict[str, Any]:
    return {
        "name": "images",
        "task": {
            "name": "image-folder",
            "epochs": 4,
            "batch_size": 16,
            "lr": 3.0e-3,
            "options": {"data_dir": str(data_dir), "model": model, "image_size": 32},
        },
        "sampler": "tpe",
        "scheduler": "none",
        "num_samples": trials_n,
        "max_concurrent": 2,
        "families": [
            {"family": "standard", "name": ["relu", "gelu", "silu"]},
            {"family": "swish", "beta": {"low": 0.25, "high": 4.0, "log": True}},
            {"family": "gelu", "beta": {"low": 0.5, "high": 4.0, "log": True}},
            {"family": "elu", "alpha": {"low": 0.1, "high": 2.0}},
        ],
    }


def plug_into_timm(module_file: Path, model: str) -> dict[str, Any]:
    """Import the exported module and build the timm model with it as ``act_layer``."""
    import timm
    import torch

    spec = importlib.util.spec_from_file_location("exported_winner", module_file)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cls = next(
        v
        for v in vars(module).values()
        if isinstance(v, type)
        and issubclass(v, torch.nn.Module)
        and v.__module__ == module.__name__
    )
    net = timm.create_model(model, pretrained=False, num_classes=3, act_layer=cls)
    out = net(torch.randn(2, 3, 32, 32))
    inside = sum(isinstance(m, cls) for m in net.modules())
    return {"class": cls.__name__, "output_shape": list(out.shape), "modules_in_model": inside}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="resnet10t")
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--json", type=Path, default=RESULTS / "bench_image_folder.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="afsearch-images-") as tmp:
        work = Path(tmp)
        data = write_folder(work / "images")
        path = work / "images.yaml"
        path.write_text(yaml.safe_dump(space(data, args.model, args.trials)))
        url = f"sqlite:///{work / 'images.db'}"
        start = time.perf_counter()
        result = launch(path, study="images", url=url, runs_dir=work / "runs", num_cpus=2)
        wall = time.perf_counter() - start
        rows = trials("images", url)
        best = study_best("images", url)
        assert best is not None, "no trial of the search finished"
        exported = export_trial(None, url, study="images", out_dir=work / "exported")
        plugged = plug_into_timm(exported.module_path, args.model)
    report = {
        "model": args.model,
        "trials": len(rows),
        "status": result.status,
        "launch_wall_s": round(wall, 1),
        "values": sorted((r.metric_value for r in rows if r.metric_value), reverse=True),
        "best": {"number": best.number, "value": best.metric_value,
                 "expression": best.activation.expression if best.activation else None},
        "timm": plugged,
        "python": sys.version.split()[0],
    }  # fmt: skip
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
