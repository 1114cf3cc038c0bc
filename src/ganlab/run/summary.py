"""summary.json: what a run did, how long it took, and with which software."""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ganlab.run.durable import replace_durably, temporary_name
from ganlab.run.redaction import redact_overrides

if TYPE_CHECKING:
    from omegaconf import DictConfig

PACKAGES = (
    "ganlab",
    "torch",
    "torchvision",
    "lightning",
    "hydra-core",
    "omegaconf",
    "wandb",
    "torchmetrics",
)


def versions() -> dict[str, str]:
    """Versions of Python and of the packages that decide a run's numbers."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON via this process's own temporary file, flushed, and a rename, so readers
    never see half a file and a crash never leaves an empty one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
        replace_durably(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def command_line() -> str:
    """The command as typed, for the record (secret-looking overrides redacted)."""
    return " ".join([Path(sys.argv[0]).name, *redact_overrides(sys.argv[1:])])


def run_summary(
    cfg: DictConfig,
    *,
    module: Any,
    trainer: Any,
    metrics: Any,
    batch_size: int,
    checkpoint: Path | None,
    stopped_by: str | None,
    wall: float,
    experiment: str | None,
    overrides: list[str],
) -> dict[str, Any]:
    """What summary.json records of a finished (or stopped) run of ``module`` on ``trainer``."""
    import torch

    return {
        "name": cfg.name,
        "experiment": experiment,
        "seed": cfg.seed,
        "command": command_line(),
        "overrides": overrides,
        "run_dir": str(cfg.paths.run_dir),
        "resumed_from": None if checkpoint is None else str(checkpoint),
        "stopped_by": stopped_by,
        "g_steps": module.g_step,
        "d_steps": module.d_step,
        "kimg": module.kimg,
        "batch_size": {"per_rank": batch_size, "global": batch_size * trainer.world_size},
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
