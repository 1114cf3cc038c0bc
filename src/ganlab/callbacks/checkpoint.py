"""Checkpoints on a schedule of G steps, written atomically."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import lightning.pytorch as pl
from lightning.pytorch.utilities.exceptions import SIGTERMException

from ganlab.callbacks.schedule import GStepCallback
from ganlab.module import GANModule
from ganlab.run.durable import replace_durably, temporary_name

_NUMBERED = re.compile(r"g(\d+)\.ckpt")


def save_checkpoint_atomically(trainer: pl.Trainer, path: Path) -> None:
    """Save on every rank's behalf (Lightning writes on rank 0) to this process's own
    temporary name, flush it and rename it, so a run killed during a save (or a machine that
    loses power) keeps the previous good file."""
    tmp = temporary_name(path)
    if trainer.is_global_zero:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        trainer.save_checkpoint(tmp, weights_only=False)
    except BaseException:
        if trainer.is_global_zero:
            tmp.unlink(missing_ok=True)
        raise
    if trainer.is_global_zero:
        replace_durably(tmp, path)


def replace_with_link(source: Path, target: Path) -> None:
    """Make ``target`` the same file as ``source`` in one rename (a copy where links fail)."""
    tmp = temporary_name(target)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    replace_durably(tmp, target)


class PeriodicCheckpoint(GStepCallback):
    """Writes ``last.ckpt`` every ``every_g_steps`` G steps, at the end and on SIGTERM.

    Lightning's ``ModelCheckpoint`` schedules by ``global_step``, which counts both
    optimizers; this one counts G steps. Files are written to a temporary name and renamed,
    so a run killed during a save keeps its previous good checkpoint. With ``keep`` > 0 each
    save is also kept as ``g<step>.ckpt`` (``last.ckpt`` is a hard link to the newest), and
    only the newest ``keep`` of those stay, so the folder stays bounded however long the run.
    """

    schedule_key = "saved_at"

    def __init__(self, dirpath: str, every_g_steps: int = 1000, keep: int = 3) -> None:
        if keep < 0:
            raise ValueError(f"keep must be >= 0, got {keep}")
        super().__init__(every_g_steps)
        self.dirpath = Path(dirpath)
        self.keep = keep

    @property
    def last_path(self) -> Path:
        return self.dirpath / "last.ckpt"

    def on_fit_start(self, trainer: pl.Trainer, pl_module: GANModule) -> None:
        """Remove the temporary files of saves that a kill interrupted (resume=auto reuses
        the folder), so kills cannot pile files up. This process holds the run folder's lock,
        so no other process is writing them."""
        if trainer.is_global_zero:
            for stale in self.dirpath.glob(".*.ckpt.*.tmp"):
                stale.unlink()

    def on_exception(
        self, trainer: pl.Trainer, pl_module: GANModule, exception: BaseException
    ) -> None:
        """SIGTERM (a scheduler's preemption notice) ends the step in progress: save it."""
        if isinstance(exception, SIGTERMException) and pl_module.g_step != self.acted_at:
            self.run(trainer, pl_module)

    def numbered(self) -> list[Path]:
        """The kept ``g<step>.ckpt`` files, oldest first."""
        found = [
            (int(match.group(1)), path)
            for path in self.dirpath.glob("g*.ckpt")
            if (match := _NUMBERED.fullmatch(path.name))
        ]
        return [path for _, path in sorted(found)]

    def act(self, trainer: pl.Trainer, pl_module: GANModule) -> None:
        if self.keep == 0:
            save_checkpoint_atomically(trainer, self.last_path)
            return
        path = self.dirpath / f"g{pl_module.g_step:08d}.ckpt"
        save_checkpoint_atomically(trainer, path)
        if trainer.is_global_zero:
            replace_with_link(path, self.last_path)
            for old in self.numbered()[: -self.keep]:
                old.unlink()
