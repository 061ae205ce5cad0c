"""What a trial is: one frozen record, built once on the driver, carried to the worker, stored
with the trial and read back from the database.

It travels through Ray Tune as plain data (:meth:`TrialSpec.to_dict`, under the ``afsearch``
key of the trial's config) and is stored without the fields that say how one run of it goes
(:meth:`TrialSpec.stored`); :meth:`TrialSpec.from_dict` reads either form back.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from afsearch.exceptions import AfsearchError

if TYPE_CHECKING:
    from afsearch.tasks import TaskSettings

#: The key of the Tune trial config that holds the spec.
CONFIG_KEY = "afsearch"

# Field metadata: a field that says how one run goes, not what the trial is; not stored.
_RUN = {"stored": False}


@dataclass(frozen=True)
class Checkpoint:
    """Where an interrupted trial left its training state, and after which epoch."""

    location: str
    epoch: int


@dataclass(frozen=True)
class Reuse:
    """A finished trial of the same function and settings, whose result a trial replays."""

    trial_id: int
    epochs: tuple[Mapping[str, Any], ...]
    learned_params: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class TrialSpec:
    """One trial of a study.

    ``activation`` is the family config the sampler chose (the worker builds the candidate from
    it, through the registry and the allow-list parser); ``candidate`` is the built candidate as
    data (:func:`afsearch.compiler.candidate_record`: expression, parameters, family, id, srepr,
    LaTeX), which the driver stores in the activations table.
    """

    activation: Mapping[str, Any]
    candidate: Mapping[str, Any] = field(metadata=_RUN)
    task: str
    settings: TaskSettings
    seeds: int
    seed: int
    metric: str
    mode: str
    dedup_key: str
    cpus_per_trial: float = 1.0
    trial_timeout_s: float | None = None
    optuna_trial: int | None = None
    replaces: int | None = field(default=None, metadata=_RUN)
    checkpoint_every: int = field(default=0, metadata=_RUN)
    checkpoint_min_seconds: float = field(default=0.0, metadata=_RUN)
    #: The space's ``compile``: when the trial runs its activation under torch.compile.
    compile: str = field(default="auto", metadata=_RUN)
    resume_from: Checkpoint | None = field(default=None, metadata=_RUN)
    reuse: Reuse | None = field(default=None, metadata=_RUN)

    @property
    def expression(self) -> str:
        return str(self.candidate["expression"])

    @property
    def activation_id(self) -> str:
        return str(self.candidate["id"])

    @property
    def training_seeds(self) -> list[int]:
        """The seed of each training run whose metrics the trial averages."""
        return [self.seed + 1000 * k for k in range(self.seeds)]

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-able) that :meth:`from_dict` reads back."""
        return dataclasses.asdict(self)

    def stored(self) -> dict[str, Any]:
        """The trial's stored config: what the trial is, with its expression for readers."""
        data = self.to_dict()
        out = {
            f.name: data[f.name] for f in dataclasses.fields(self) if f.metadata.get("stored", True)
        }
        out["expression"] = self.expression
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrialSpec:
        """A spec from :meth:`to_dict` or :meth:`stored` data (run-only fields then default)."""
        try:
            values = {f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data}
            from afsearch.tasks import TaskSettings

            values["settings"] = TaskSettings(**dict(data["settings"]))
            values.setdefault("candidate", {"expression": data.get("expression", "")})
            if values.get("resume_from"):
                values["resume_from"] = Checkpoint(**values["resume_from"])
            if values.get("reuse"):
                reuse = dict(values["reuse"])
                values["reuse"] = Reuse(
                    int(reuse["trial_id"]),
                    tuple(reuse["epochs"]),
                    reuse.get("learned_params"),
                )
            return cls(**values)
        except (KeyError, TypeError) as exc:
            raise AfsearchError(
                f"A stored trial config lacks what a trial needs ({exc}); it has the keys "
                f"{', '.join(sorted(data)) or 'none'}."
            ) from None

    @classmethod
    def of_config(cls, config: Mapping[str, Any]) -> TrialSpec:
        """The spec in a Tune trial's config."""
        return cls.from_dict(config[CONFIG_KEY])


def dedup_key(activation_id: str, task: str, settings: Any, seeds: int, seed: int) -> str:
    """Two trials with this key train the same function the same way."""
    blob = json.dumps(
        {
            "a": activation_id,
            "t": task,
            "s": dataclasses.asdict(settings),
            "n": seeds,
            "seed": seed,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:24]
