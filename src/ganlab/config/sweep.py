"""Check every job of a sweep before the first one starts.

Hydra's basic sweeper expands ``ganlab-train -m a=1,2 b=x,y`` into jobs and runs them one
after another; a bad value in the last job would surface only after the others trained.
This Hydra callback composes each job's config up front and validates it, so a sweep with
an invalid value fails at once, naming the job and the field.
"""

from __future__ import annotations

import sys
from typing import Any

from hydra import compose
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, open_dict

from ganlab.config.checks import validate
from ganlab.config.resolvers import register_resolvers
from ganlab.config.slurm import check_slurm
from ganlab.errors import GanlabError
from ganlab.run.redaction import redact_overrides, redact_text


def sweep_jobs(overrides: list[str]) -> list[list[str]]:
    """The override lists of the jobs the basic sweeper makes of ``overrides``."""
    parsed = OverridesParser.create().parse_overrides(overrides)
    (jobs,) = BasicSweeper.split_arguments(parsed, max_batch_size=None)
    return jobs


def compose_job(config_name: str, overrides: list[str]) -> DictConfig:
    """One job's config as the launcher will compose it (``${hydra:...}`` resolvable)."""
    register_resolvers()
    cfg = compose(config_name=config_name, overrides=overrides, return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg


class ValidateSweep(Callback):
    """On multirun start: a SLURM sweep's cluster (``check_slurm``), then (basic sweeper
    only) every job's composed config."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if "SlurmLauncher" in str(config.hydra.launcher.get("_target_", "")):
            try:
                check_slurm(config.hydra.launcher)
            except GanlabError as exc:
                print(f"ganlab-train: error: {exc}", file=sys.stderr)
                sys.exit(2)
        if "BasicSweeper" not in str(config.hydra.sweeper.get("_target_", "")):
            return
        config_name = config.hydra.job.config_name
        for number, job in enumerate(sweep_jobs(list(config.hydra.overrides.task))):
            try:
                validate(compose_job(config_name, job))
            except GanlabError as exc:
                shown = " ".join(redact_overrides(job))
                print(
                    f"ganlab-train: error in sweep job #{number} ({shown}): "
                    f"{redact_text(str(exc))}",
                    file=sys.stderr,
                )
                sys.exit(2)
