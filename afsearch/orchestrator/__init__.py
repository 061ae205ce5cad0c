"""The orchestrator: Ray Tune with Optuna samplers, callbacks that write the trial database."""

from afsearch.orchestrator._launch import LaunchResult, default_runs_dir, launch

__all__ = ["LaunchResult", "default_runs_dir", "launch"]
