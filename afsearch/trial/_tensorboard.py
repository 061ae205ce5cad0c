"""``log: tensorboard``: TensorBoard event files, one run folder per trial.

Written with tensorboardX's ``SummaryWriter`` from the driver rather than through Ray Tune's
``TBXLoggerCallback``: Tune's callback writes into each trial's folder of each Ray experiment
(one per launch and resume), tags scalars ``ray/tune/...`` by Tune's iteration and keeps only
scalar config values as hyperparameters; this one writes ``<runs>/<study>/tensorboard/trial-N``
for the study's trial N across its launches, each metric under its own name by epoch, the
expression and the config as text, and the config with the last epoch's metrics in the
HPARAMS tab. ``tensorboard --logdir <runs>/<study>/tensorboard`` shows them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from afsearch.exceptions import AfsearchError
from afsearch.trial._run_logs import BaseRunLogger, LoggedTrial, TrialEnd

#: The folder, under the study's runs directory, of the trials' run folders.
FOLDER = "tensorboard"


class TensorBoardLogger(BaseRunLogger):
    name = "tensorboard"
    module = "tensorboardX"
    package = "tensorboardX"

    def __init__(self, folder: str, study: str) -> None:
        super().__init__(folder, study)
        self._writers: dict[int, Any] = {}
        self._params: dict[int, Mapping[str, Any]] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"folder": self.folder, "study": self.study}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["folder"], state["study"])  # type: ignore[misc]

    def location(self) -> str:
        return f"{self.folder}/{FOLDER}"

    def check_location(self) -> None:
        if "://" in self.folder:
            raise AfsearchError(
                f"log: tensorboard writes its event files on this machine, under the runs "
                f"directory, which is {self.folder!r}; pass a local --runs-dir."
            )

    def run_folder(self, number: int) -> Path:
        """The run folder of trial ``number`` (zero-padded, so TensorBoard lists them in order)."""
        return Path(self.location(), f"trial-{number:04d}")

    def start(self, trial: LoggedTrial) -> None:
        from tensorboardX import SummaryWriter

        if trial.number in self._writers:
            return
        writer = SummaryWriter(logdir=str(self.run_folder(trial.number)))
        writer.add_text("activation", f"{trial.activation}\n\n`{trial.expression}`", 0)
        config = json.dumps(dict(trial.params), indent=2, default=str)
        # Indented four spaces: TensorBoard renders the text as Markdown, this as a code block.
        writer.add_text("config", "\n".join(f"    {line}" for line in config.splitlines()), 0)
        writer.flush()
        self._writers[trial.number] = writer
        self._params[trial.number] = trial.params

    def epoch(self, number: int, epoch: int, metrics: Mapping[str, float]) -> None:
        writer = self._writers.get(number)
        if writer is None:
            return
        for key, value in metrics.items():
            writer.add_scalar(key, value, epoch)
        # Each epoch on disk at once: a running study is watched while it runs.
        writer.flush()

    def finish(self, number: int, end: TrialEnd) -> None:
        from tensorboardX.summary import hparams

        writer = self._writers.pop(number, None)
        params = self._params.pop(number, {})
        if writer is None:
            return
        for key, value in end.learned.items():
            writer.add_scalar(f"learned/{key}", value, end.epoch)
        where = ", ".join(f"{k} {v}" for k, v in (("device", end.device), ("node", end.node)) if v)
        status = f"{end.status} after epoch {end.epoch}" + (f" ({where})" if where else "")
        writer.add_text("status", status + (f"\n\n    {end.error}" if end.error else ""), end.epoch)
        # The HPARAMS tab: the config against the values the metrics ended at (their scalars).
        for summary in hparams(dict(params), dict(end.metrics)):
            writer.file_writer.add_summary(summary, end.epoch)
        writer.close()

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
        self._params.clear()
