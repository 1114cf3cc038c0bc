"""Checkpoints on a schedule of G steps, written atomically."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.utilities.exceptions import SIGTERMException

from ganlab.module import GANModule


def save_checkpoint_atomically(trainer: pl.Trainer, path: Path) -> None:
    """Save on every rank's behalf (Lightning writes on rank 0) to a temporary name, then
    rename, so a run killed during a save keeps the previous good file."""
    tmp = path.with_name(f".{path.name}.tmp")
    if trainer.is_global_zero:
        path.parent.mkdir(parents=True, exist_ok=True)
    trainer.save_checkpoint(tmp, weights_only=False)
    if trainer.is_global_zero:
        os.replace(tmp, path)


class PeriodicCheckpoint(pl.Callback):
    """Writes ``last.ckpt`` every ``every_g_steps`` G steps, at the end and on SIGTERM.

    Lightning's ``ModelCheckpoint`` schedules by ``global_step``, which counts both
    optimizers; this one counts G steps. The file is written to a temporary name and
    renamed, so a run killed during a save keeps its previous good checkpoint.
    """

    def __init__(self, dirpath: str, every_g_steps: int = 1000) -> None:
        if every_g_steps < 1:
            raise ValueError(f"every_g_steps must be >= 1, got {every_g_steps}")
        self.dirpath = Path(dirpath)
        self.every_g_steps = every_g_steps
        self._saved_at = -1

    @property
    def last_path(self) -> Path:
        return self.dirpath / "last.ckpt"

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: GANModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        step = pl_module.g_step
        if step > 0 and step % self.every_g_steps == 0 and step != self._saved_at:
            self.save(trainer, pl_module)

    def on_train_end(self, trainer: pl.Trainer, pl_module: GANModule) -> None:
        if pl_module.g_step != self._saved_at:
            self.save(trainer, pl_module)

    def on_exception(
        self, trainer: pl.Trainer, pl_module: GANModule, exception: BaseException
    ) -> None:
        """SIGTERM (a scheduler's preemption notice) ends the step in progress: save it."""
        if isinstance(exception, SIGTERMException) and pl_module.g_step != self._saved_at:
            self.save(trainer, pl_module)

    def save(self, trainer: pl.Trainer, pl_module: GANModule) -> None:
        self._saved_at = pl_module.g_step
        save_checkpoint_atomically(trainer, self.last_path)

    def state_dict(self) -> dict[str, Any]:
        return {"saved_at": self._saved_at}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._saved_at = int(state_dict["saved_at"])
