"""Hydra entry point: compose -> validate -> instantiate -> fit -> summary.json.

No training logic lives here: the task's objective holds the phases, ``GANModule`` drives
them, callbacks hold the schedules. This file only turns the composed config into objects
and reports.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import resource
import secrets
import sys
import time
import warnings
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from ganlab.build import build_module, instantiate_field, instantiate_group
from ganlab.checkpoints import check_resumable
from ganlab.config import CONF_DIR, check_moved_overrides, validate
from ganlab.errors import ConfigError, GanlabError
from ganlab.redaction import redact, redact_overrides, redact_text
from ganlab.run_folder import discard_if_created, is_locked, run_folder_lock
from ganlab.summary import command_line, versions, write_json

# A deprecation warning inside Lightning says nothing about the run.
warnings.filterwarnings("ignore", message=".*isinstance\\(treespec, LeafSpec\\)")


class _DropAdvert(logging.Filter):
    """Lightning logs an advertisement for a cloud service at every start; drop it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "litlogger" not in record.getMessage()


logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_DropAdvert())

_RUN_UID = secrets.token_hex(2)


def _sweep_group() -> str | None:
    """W&B group of a multirun job: its sweep folder's name, so a sweep's runs group together."""
    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return None
    return Path(HydraConfig.get().sweep.dir).name


def _override_tags() -> list[str]:
    """The job's command-line overrides as W&B tags (W&B caps a tag at 64 characters)."""
    return [override[:64] for override in _overrides()]


def _safe_folder_name(name: str) -> str:
    """``name`` with anything but letters, digits and ._+=,- replaced, for the run folder path.

    Hydra makes the folder before ganlab validates ``name``; this keeps even a rejected
    name (``../x``) from creating folders outside ``outputs/``.
    """
    return re.sub(r"[^A-Za-z0-9._+=,-]", "_", str(name)).lstrip(".") or "_"


OmegaConf.register_new_resolver("ganlab_uid", lambda: _RUN_UID, replace=True)
OmegaConf.register_new_resolver("ganlab_safe", _safe_folder_name, replace=True)
OmegaConf.register_new_resolver("ganlab_sweep_group", _sweep_group, replace=True)
OmegaConf.register_new_resolver("ganlab_override_tags", _override_tags, replace=True)


def find_checkpoint(cfg: DictConfig, run_dir: Path) -> Path | None:
    """The checkpoint that ``resume`` names.

    false: none; true: the newest ``last.ckpt`` of this run name whose run is not still
    training (its folder's lock is free); auto: this run folder's
    own ``last.ckpt`` if there is one (a requeued SLURM job), else none; or a path.
    """
    resume = cfg.resume
    if resume is False or resume is None:
        return None
    if resume == "auto":
        own = run_dir / "checkpoints" / "last.ckpt"
        return own if own.is_file() else None
    if resume is True:
        pattern = f"{cfg.name}/*/checkpoints/last.ckpt"
        found = [p for p in Path(cfg.paths.output_root).glob(pattern) if run_dir not in p.parents]
        idle = [p for p in found if not is_locked(p.parent.parent)]
        if not idle:
            training = f" ({len(found)} found, all in runs still training)" if found else ""
            raise ConfigError(
                f"resume=true: no checkpoint matches {cfg.paths.output_root}/{pattern}"
                f"{training}. Run without resume first, or give resume=PATH to a run folder "
                "or .ckpt file."
            )
        return max(idle, key=lambda p: p.stat().st_mtime)
    path = Path(str(resume))
    candidates = [path, path / "checkpoints" / "last.ckpt", path / "last.ckpt"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"resume={resume}: no checkpoint there (looked for {', '.join(map(str, candidates))})."
    )


def _overrides() -> list[str]:
    overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    return redact_overrides(overrides)


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train one run as configured; returns the summary also written to summary.json.

    The process that writes the run folder (rank 0) holds its lock until the summary is out.
    """
    validate(cfg)
    with ExitStack() as held:
        return _train(cfg, held)


def _train(cfg: DictConfig, held: ExitStack) -> dict[str, Any]:
    # Imported only now, so a bad config is reported without paying for Lightning's import.
    import lightning.pytorch as pl
    import torch
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    run_dir = Path(cfg.paths.run_dir)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)

    datamodule = instantiate_field(cfg.data, "data")
    module = build_module(cfg, datamodule)
    checkpoint = find_checkpoint(cfg, run_dir)
    if checkpoint is not None:
        check_resumable(checkpoint, module)
    datamodule.prepare_data()
    datamodule.setup("fit")

    loggers = instantiate_group(cfg.logger, "logger")
    callbacks = instantiate_group(cfg.callbacks, "callbacks")
    metrics_cfg = cfg.get("metrics")
    metrics = None if metrics_cfg is None else instantiate_field(metrics_cfg, "metrics")
    if metrics is not None:
        metrics.check(datamodule)
        callbacks.insert(0, metrics)
    has_bar = any(isinstance(c, pl.callbacks.ProgressBar) for c in callbacks)
    trainer: pl.Trainer = instantiate_field(
        cfg.trainer,
        "trainer",
        logger=loggers,
        callbacks=callbacks,
        enable_progress_bar=has_bar,
    )
    resolved = redact(OmegaConf.to_container(cfg, resolve=True))
    if trainer.is_global_zero:
        run_dir.mkdir(parents=True, exist_ok=True)
        held.enter_context(run_folder_lock(run_dir))
        OmegaConf.save(resolved, run_dir / "config.yaml")
    # The first log starts the W&B run, which records sys.argv: show it the redacted one.
    argv, sys.argv = sys.argv, [sys.argv[0], *redact_overrides(sys.argv[1:])]
    try:
        for logger in loggers:
            logger.log_hyperparams(resolved)
    finally:
        sys.argv = argv

    start = time.perf_counter()
    stopped_by = None
    try:
        trainer.fit(module, datamodule=datamodule, ckpt_path=checkpoint, weights_only=True)
    except SIGTERMException:
        stopped_by = "SIGTERM"
    finally:
        for logger in loggers:
            if isinstance(logger, pl.loggers.WandbLogger):
                logger.experiment.finish()
    wall = time.perf_counter() - start

    per_rank = datamodule.batch_size
    summary = {
        "name": cfg.name,
        "experiment": _choice("experiment"),
        "seed": cfg.seed,
        "command": command_line(),
        "overrides": _overrides(),
        "run_dir": str(run_dir),
        "resumed_from": None if checkpoint is None else str(checkpoint),
        "stopped_by": stopped_by,
        "g_steps": module.g_step,
        "d_steps": module.d_step,
        "kimg": module.kimg,
        "batch_size": {"per_rank": per_rank, "global": per_rank * trainer.world_size},
        "world_size": trainer.world_size,
        "global_rank": trainer.global_rank,
        "wall_time_s": wall,
        "images_per_s": (module.kimg * 1000 / wall) if wall > 0 else None,
        "final": module.last_logged,
        "metrics": None if metrics is None else metrics.summary(),
        "eval_share": None if metrics is None or wall <= 0 else metrics.seconds / wall,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "torch_threads": torch.get_num_threads(),
        # 1/5/15-min load at the end: on a shared machine the wall time measures the others too.
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "warnings": module.run_warnings,
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
    }
    if trainer.is_global_zero:
        write_json(run_dir / "summary.json", summary)
    return summary


def _choice(group: str) -> str | None:
    if not HydraConfig.initialized():
        return None
    return HydraConfig.get().runtime.choices.get(group)


def main() -> None:
    """``ganlab-train``: an override of a moved key is named before Hydra composes."""
    try:
        check_moved_overrides(sys.argv[1:])
    except ConfigError as exc:
        print(f"ganlab-train: error: {redact_text(str(exc))}", file=sys.stderr)
        sys.exit(2)
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
        if exc.errno not in _WRITE_ERRORS:
            raise
        print(f"ganlab-train: error: {_write_failure(exc, cfg)}", file=sys.stderr)
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


_WRITE_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)


def _write_failure(exc: OSError, cfg: DictConfig) -> str:
    """One line for a run that could not write its outputs (disk full, read-only, denied)."""
    target = exc.filename2 or exc.filename
    last = Path(cfg.paths.run_dir) / "checkpoints" / "last.ckpt"
    if last.is_file():
        then = f"the last good checkpoint is {last}: continue from it with resume={last}"
    else:
        then = "no checkpoint was saved yet: start the run again"
    return (
        f"cannot write {target} ({exc.strerror}). Free some space or choose another folder "
        f"with paths.output_root=PATH; {then}"
    )


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
