"""Check that runs can be written before Hydra makes the run folder.

Hydra creates ``outputs/<name>/<time>`` before ganlab's code runs, so an output root under a
file, on a read-only mount or on a full disk would otherwise fail with Hydra's traceback or
halfway through training. This Hydra callback checks the root first and ends with one message.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from ganlab.errors import ConfigError
from ganlab.run.folder import LOCK_NAME, note_if_new

_MIB = 1024 * 1024


def nearest_existing(path: Path) -> Path:
    """``path`` itself or its closest ancestor that exists."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_output_root(root: Path, min_free_mb: float) -> None:
    """Raise ``ConfigError`` unless a run folder can be made and written under ``root``."""
    fix = "choose another folder with paths.output_root=PATH"
    existing = nearest_existing(root)
    if not existing.is_dir():
        raise ConfigError(f"paths.output_root={root}: {existing} is a file, not a folder; {fix}")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise ConfigError(
            f"paths.output_root={root}: cannot write in {existing} ({exc.strerror}); {fix}"
        ) from None
    free_mb = shutil.disk_usage(existing).free / _MIB
    if free_mb < min_free_mb:
        raise ConfigError(
            f"paths.output_root={root}: only {free_mb:.1f} MiB free on its disk, less than "
            f"paths.min_free_mb={min_free_mb:g}; free some space or {fix}"
        )


class CheckOutputFolder(Callback):
    """Before a run or a sweep starts, check that its output root is a writable folder, and
    note whether its folder is new (only a folder this launch made is ever cleaned up)."""

    def _check(self, config: DictConfig) -> None:
        HydraConfig.instance().set_config(config)
        try:
            check_output_root(Path(config.paths.output_root), config.paths.min_free_mb)
        except ConfigError as exc:
            print(f"ganlab-train: error: {exc}", file=sys.stderr)
            sys.exit(2)

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config)
        run_dir = Path(config.hydra.run.dir)
        requeued = config.get("resume") == "auto"  # a job continuing in its own folder
        ours = (run_dir / LOCK_NAME).is_file() or requeued
        if (run_dir / ".hydra").is_dir() and not ours:
            print(
                f"ganlab: error: hydra.run.dir={run_dir} exists and was not made by ganlab-train "
                "(it holds .hydra/ but no run lock), and Hydra would rewrite the .hydra/ files "
                "in it; give a new folder",
                file=sys.stderr,
            )
            sys.exit(2)
        note_if_new(run_dir)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config)
        note_if_new(Path(config.hydra.sweep.dir))
