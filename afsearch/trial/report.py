"""What a trial reports to the driver each epoch, besides the task's metrics, and what the
driver reads from it: the keys, the entries that are not metrics, how a trial ended."""

from __future__ import annotations

import math
from typing import Any

from afsearch.store import TrialStatus

EPOCH = "epoch"
FINAL = "final"  # 1 on the last report of a trial that ran to its end
DIVERGED = "diverged"
WHY_DIVERGED = "diverged_because"  # text: why a training without a NaN counts as diverged
TIMED_OUT = "timed_out"
REUSED_FROM = "reused_from"  # store id of the trial whose result was reused, else -1
# JSON text: {"mean": {name: value}, "per_site": {name: [values]}}, and for per-channel
# parameters "per_channel": {name: [[value per channel] per site]}.
LEARNED = "learned_params"
NODE = "node"  # "<ip> <node id>" of the Ray node that ran the trial
#: The device the trial trained on: "cpu" or "cuda:0 (NVIDIA H100 80GB HBM3, Ray GPU 3)".
DEVICE = "device"
RESUMED_AT = "resumed_at"  # epoch of the checkpoint the trial continued from, else 0
STOPPED = "stopped"  # 1 on the last report of a trial that `afsearch stop` ended
REFUSED = "refused_because"  # text: why the task refused the candidate before training it
#: The activation's forward+backward time per element and the memory it keeps for backward,
#: each relative to ReLU's on the same device (afsearch.compiler.measure_cost).
ACTIVATION_COST = "activation_cost"
ACTIVATION_MEMORY = "activation_memory"

#: Entries of a result that are not epoch metrics: Tune's own bookkeeping and the texts above.
NOT_METRICS = frozenset(
    {
        "config",
        "trial_id",
        "experiment_tag",
        "date",
        "timestamp",
        "pid",
        "hostname",
        "node_ip",
        "done",
        "should_checkpoint",
        "checkpoint_dir_name",
        "iterations_since_restore",
        "time_since_restore",
        "timesteps_since_restore",
        LEARNED,
        NODE,
        DEVICE,
        WHY_DIVERGED,
        STOPPED,
        REFUSED,
    }
)


def worst(mode: str) -> float:
    """A finite stand-in for the metric of a trial that produced none."""
    return -1e30 if mode == "max" else 1e30


def epoch_metrics(result: dict[str, Any]) -> dict[str, float | None]:
    """The numbers of one report that are metrics (non-finite ones as ``None``)."""
    out: dict[str, float | None] = {}
    for k, v in result.items():
        if k in NOT_METRICS or isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        out[k] = float(v) if math.isfinite(v) else None
    return out


def classify(result: dict[str, Any]) -> tuple[TrialStatus, str | None, int | None]:
    """How a trial ended, from its last result: (status, error text, id of the reused trial)."""
    reused = int(result.get(REUSED_FROM, -1) or -1)
    if reused >= 0:
        return TrialStatus.DUPLICATE, None, reused
    if result.get(REFUSED):
        return TrialStatus.FAILED, str(result[REFUSED]), None
    if result.get(DIVERGED):
        why = result.get(WHY_DIVERGED) or "the training loss became NaN or infinite"
        return TrialStatus.DIVERGED, str(why), None
    if result.get(TIMED_OUT):
        return TrialStatus.FAILED, "the trial ran past its time limit (trial_timeout_s)", None
    if result.get(FINAL):
        return TrialStatus.COMPLETED, None, None
    if result.get(STOPPED):
        # Not pruned: `afsearch stop` ended it, and a resumed study runs it again.
        return TrialStatus.INTERRUPTED, None, None
    return TrialStatus.PRUNED, None, None
