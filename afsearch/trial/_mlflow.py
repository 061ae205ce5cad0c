"""``log: mlflow``: one MLflow run per trial, in an experiment named after the study.

Written with ``MlflowClient`` from the driver rather than through Ray Tune's
``MLflowLoggerCallback``: Tune's callback logs the Tune config as parameters, which here is the
whole trial spec (the candidate's srepr and LaTeX, a replayed trial's stored epochs, checkpoint
paths), names runs by Ray's trial ids and steps by Tune's iteration; this one logs the sampled
activation config and the task's settings as parameters, the expression as a tag, steps by the
trial's epoch (a resumed trial goes on in its own run) and names each run ``#N activation``, the
N that ``afsearch show STUDY/N`` takes.

The runs go to ``$MLFLOW_TRACKING_URI`` when it is set (a server, a shared database), else to
``sqlite:///<runs>/<study>/mlflow.db``: MLflow 3 refuses its file store (``file://``, now in
maintenance mode) unless told ``MLFLOW_ALLOW_FILE_STORE``, and SQLite is the local store it
recommends; ``mlflow ui --backend-store-uri sqlite:///...`` reads it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from afsearch.exceptions import AfsearchError
from afsearch.trial._run_logs import BaseRunLogger, LoggedTrial, TrialEnd

#: MLflow's own variable naming where runs go; when set it wins over the runs directory.
TRACKING_ENV = "MLFLOW_TRACKING_URI"
#: The MLflow run status of each way a trial ends.
RUN_STATUS = {
    "completed": "FINISHED",
    "pruned": "FINISHED",
    "duplicate": "FINISHED",
    "diverged": "FAILED",
    "failed": "FAILED",
    "interrupted": "KILLED",
}
# MLflow's limits on a parameter's and a tag's value (mlflow.utils.validation).
_PARAM_CHARS, _TAG_CHARS = 6000, 8000


class MlflowLogger(BaseRunLogger):
    name = "mlflow"
    module = "mlflow"
    package = "mlflow-skinny"

    def __init__(self, folder: str, study: str) -> None:
        super().__init__(folder, study)
        self._client: Any = None
        self._experiment = ""
        self._runs: dict[int, str] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"folder": self.folder, "study": self.study}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["folder"], state["study"])  # type: ignore[misc]

    def location(self) -> str:
        return os.environ.get(TRACKING_ENV) or f"sqlite:///{self.folder}/mlflow.db"

    def check_location(self) -> None:
        if not os.environ.get(TRACKING_ENV) and "://" in self.folder:
            raise AfsearchError(
                f"log: mlflow keeps its runs in an SQLite file under the runs directory, which "
                f"must then be on this machine, not {self.folder!r}; set {TRACKING_ENV} to an "
                "MLflow server or database, or pass a local --runs-dir."
            )

    def _open(self) -> Any:
        if self._client is None:
            from mlflow import MlflowClient

            # Creating the SQLite store logs each migration at INFO level: keep the launch's
            # output to its own lines.
            logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)
            local = not os.environ.get(TRACKING_ENV)
            if local:
                Path(self.folder).mkdir(parents=True, exist_ok=True)
            client = MlflowClient(tracking_uri=self.location())
            found = client.get_experiment_by_name(self.study)
            if found is None:
                artifacts = Path(self.folder, "mlflow-artifacts").as_uri() if local else None
                self._experiment = client.create_experiment(self.study, artifacts)
            else:
                if found.lifecycle_stage == "deleted":
                    client.restore_experiment(found.experiment_id)
                self._experiment = found.experiment_id
            self._client = client
        return self._client

    def start(self, trial: LoggedTrial) -> None:
        from mlflow.entities import Param

        client = self._open()
        if trial.number in self._runs:
            return
        # A trial that runs again after a resume goes on in its run: its parameters are there.
        runs = client.search_runs(
            [self._experiment],
            filter_string=f"tags.`afsearch.trial` = '{trial.number}'",
            max_results=1,
        )
        if runs:
            run_id = runs[0].info.run_id
            client.update_run(run_id, status="RUNNING")
        else:
            run = client.create_run(
                self._experiment,
                run_name=f"#{trial.number} {trial.activation}"[:_TAG_CHARS],
                tags={
                    "afsearch.study": trial.study,
                    "afsearch.trial": str(trial.number),
                    "afsearch.activation": trial.activation[:_TAG_CHARS],
                    "expression": trial.expression[:_TAG_CHARS],
                },
            )
            run_id = run.info.run_id
            params = [Param(k, _text(v, _PARAM_CHARS)) for k, v in trial.params.items()]
            for at in range(0, len(params), 100):  # MLflow takes 100 parameters a batch
                client.log_batch(run_id, params=params[at : at + 100])
        self._runs[trial.number] = run_id

    def epoch(self, number: int, epoch: int, metrics: Mapping[str, float]) -> None:
        from mlflow.entities import Metric

        run_id = self._runs.get(number)
        if run_id is None or not metrics:
            return
        now = int(time.time() * 1000)
        self._open().log_batch(
            run_id, metrics=[Metric(k, float(v), now, epoch) for k, v in metrics.items()]
        )

    def finish(self, number: int, end: TrialEnd) -> None:
        from mlflow.entities import Metric, RunTag

        run_id = self._runs.pop(number, None)
        if run_id is None:
            return
        client, now = self._open(), int(time.time() * 1000)
        metrics = [Metric(f"learned.{k}", v, now, end.epoch) for k, v in end.learned.items()]
        tags = {"afsearch.status": end.status, "device": end.device, "node": end.node}
        if end.error:
            tags["afsearch.error"] = end.error
        client.log_batch(
            run_id,
            metrics=metrics,
            tags=[RunTag(k, _text(v, _TAG_CHARS)) for k, v in tags.items() if v],
        )
        client.set_terminated(run_id, status=RUN_STATUS.get(end.status, "FINISHED"))

    def close(self) -> None:
        self._client = None
        self._runs.clear()


def _text(value: Any, limit: int) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
