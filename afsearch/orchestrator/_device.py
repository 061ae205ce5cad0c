"""What hardware trials get: the device a trial trains on (worker side) and the GPUs a launch
would leave idle (driver side)."""

from __future__ import annotations

#: What a launch says when the cluster has GPUs and its trials ask for none.
UNUSED_GPUS = (
    "the Ray cluster has {gpus} but trials ask for none; set resources.gpus_per_trial (or "
    "--gpus-per-trial) to train on them."
)


def trial_device() -> str:
    """The torch device of this Ray worker: ``"cuda"`` when Ray gave it a GPU and torch can use
    CUDA, else ``"cpu"`` (a GPU Ray counts but a CPU build of torch cannot use trains on CPU)."""
    import ray
    import torch

    return "cuda" if ray.get_gpu_ids() and torch.cuda.is_available() else "cpu"


def device_label() -> str:
    """The device this worker's trial trains on, as stored with the trial: ``"cpu"``, or
    ``"cuda:0 (NVIDIA H100 80GB HBM3, Ray GPU 3)"`` (Ray's id names the GPU on its node)."""
    import ray
    import torch

    if trial_device() == "cpu":
        return "cpu"
    index = torch.cuda.current_device()
    ids = ", ".join(str(i) for i in ray.get_gpu_ids())
    return f"cuda:{index} ({torch.cuda.get_device_name(index)}, Ray GPU {ids})"


def unused_gpus(gpus_per_trial: float) -> str | None:
    """The sentence for a Ray cluster with GPUs whose trials ask for none, else ``None``."""
    import ray

    gpus = float(ray.cluster_resources().get("GPU", 0.0))
    if gpus <= 0 or gpus_per_trial > 0:
        return None
    return UNUSED_GPUS.format(gpus=f"{gpus:g} GPU{'s' if gpus != 1 else ''}")
