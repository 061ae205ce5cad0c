"""The orchestrator: Ray Tune with Optuna samplers, callbacks that write the trial database."""

from afsearch.orchestrator._launch import (
    RAY_ADDRESS_ENV,
    RUNS_ENV,
    LaunchResult,
    default_runs_dir,
    launch,
)

__all__ = ["RAY_ADDRESS_ENV", "RUNS_ENV", "LaunchResult", "default_runs_dir", "launch"]
