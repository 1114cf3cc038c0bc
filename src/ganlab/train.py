"""Hydra entry point: compose -> validate -> instantiate -> fit -> summary.json.

No training logic lives here: the task's objective holds the phases, ``GANModule`` drives
them, callbacks hold the schedules, ``build`` makes the objects, ``run`` writes the run
folder. This file only puts them in order and reports.
"""

from __future__ import annotations

import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from ganlab.build import build_module, build_trainer, instantiate_field
from ganlab.config import CONF_DIR, job
from ganlab.config.checks import check_moved_overrides, validate
from ganlab.config.resolvers import register_resolvers
from ganlab.errors import ConfigError, GanlabError
from ganlab.run.folder import WRITE_ERRORS, discard_if_created, run_folder_lock, write_failure
from ganlab.run.redaction import redact, redact_overrides, redact_text
from ganlab.run.resume import find_checkpoint
from ganlab.run.summary import run_summary, write_json


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train one run as configured; returns the summary also written to summary.json.

    The process that writes the run folder (rank 0) holds its lock until the summary is out.
    """
    validate(cfg)
    # Imported only now, so a bad config is reported without paying for Lightning's import.
    import lightning.pytorch as pl
    import torch

    if cfg.get("torch_threads") is not None:
        torch.set_num_threads(cfg.torch_threads)

    from ganlab.run.checkpoints import check_resumable
    from ganlab.run.loggers import quiet_lightning

    quiet_lightning()
    run_dir = Path(cfg.paths.run_dir)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = instantiate_field(cfg.data, "data")
    module = build_module(cfg, datamodule)
    checkpoint = find_checkpoint(cfg, run_dir)
    if checkpoint is not None:
        check_resumable(checkpoint, module)
    datamodule.prepare_data()
    datamodule.setup("fit")
    trainer, loggers, metrics = build_trainer(cfg, datamodule)

    resolved = redact(OmegaConf.to_container(cfg, resolve=True))
    with ExitStack() as held:
        if trainer.is_global_zero:
            run_dir.mkdir(parents=True, exist_ok=True)
            held.enter_context(run_folder_lock(run_dir))
            OmegaConf.save(resolved, run_dir / "config.yaml")
        _log_hyperparams(loggers, resolved)
        start = time.perf_counter()
        stopped_by = _fit(trainer, module, datamodule, checkpoint, loggers)
        summary = run_summary(
            cfg,
            module=module,
            trainer=trainer,
            metrics=metrics,
            batch_size=datamodule.batch_size,
            checkpoint=checkpoint,
            stopped_by=stopped_by,
            wall=time.perf_counter() - start,
            experiment=job.choice("experiment"),
            overrides=job.overrides(),
        )
        if trainer.is_global_zero:
            write_json(run_dir / "summary.json", summary)
    return summary


def _log_hyperparams(loggers: list[Any], resolved: Any) -> None:
    """Log the resolved config; the first log starts the W&B run, which records sys.argv, so
    it is shown the redacted one."""
    argv, sys.argv = sys.argv, [sys.argv[0], *redact_overrides(sys.argv[1:])]
    try:
        for logger in loggers:
            logger.log_hyperparams(resolved)
    finally:
        sys.argv = argv


def _fit(
    trainer: Any, module: Any, datamodule: Any, checkpoint: Path | None, loggers: list[Any]
) -> str | None:
    """``trainer.fit``; returns what stopped the run early ("SIGTERM") or None."""
    import lightning.pytorch as pl
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    try:
        trainer.fit(module, datamodule=datamodule, ckpt_path=checkpoint, weights_only=True)
    except SIGTERMException:
        return "SIGTERM"
    finally:
        for logger in loggers:
            if isinstance(logger, pl.loggers.WandbLogger):
                logger.experiment.finish()
    return None


def main() -> None:
    """``ganlab-train``: an override of a moved key is named before Hydra composes."""
    try:
        check_moved_overrides(sys.argv[1:])
    except ConfigError as exc:
        print(f"ganlab-train: error: {redact_text(str(exc))}", file=sys.stderr)
        sys.exit(2)
    register_resolvers()
    _main()


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="train")
def _main(cfg: DictConfig) -> float | None:
    """Train from the composed config; bad input exits 2 with one message.

    Returns ``optimized_metric`` from the run's final values, for sweepers such as Optuna.
    """
    try:
        summary = train(cfg)
        value = None if summary["stopped_by"] else optimized_value(summary, cfg.optimized_metric)
    except GanlabError as exc:
        discard_if_created(Path(HydraConfig.get().runtime.output_dir))
        print(f"ganlab-train: error: {redact_text(str(exc))}", file=sys.stderr)
        sys.exit(2)
    except OSError as exc:
        if exc.errno not in WRITE_ERRORS:
            raise
        print(f"ganlab-train: error: {write_failure(exc, cfg.paths.run_dir)}", file=sys.stderr)
        sys.exit(1)
    if summary["global_rank"] == 0:
        print(
            f"ganlab-train: {summary['g_steps']} G steps, {summary['kimg']:.1f} kimg in "
            f"{summary['wall_time_s']:.0f} s; outputs in {summary['run_dir']}"
        )
    if summary["stopped_by"] is not None:
        print(
            f"ganlab-train: stopped by {summary['stopped_by']}; last.ckpt is saved, continue "
            "with the same command and resume=true",
            file=sys.stderr,
        )
        sys.exit(143)
    return value


def optimized_value(summary: dict[str, Any], key: str | None) -> float | None:
    """The value a sweeper minimises: a key of the final metrics or of the final losses."""
    if key is None:
        return None
    final = {**summary["final"], **(summary["metrics"] or {}).get("final", {})}
    if key not in final:
        raise ConfigError(
            f"optimized_metric={key}: the run logged no such value ({', '.join(final)})"
        )
    return float(final[key])


if __name__ == "__main__":
    main()
