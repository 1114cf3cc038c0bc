"""A Rich progress bar counted in G steps (or kimg), with losses and ETA."""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks.progress import ProgressBar
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ganlab.module import GANModule


class GANProgressBar(ProgressBar):
    """Lightning's bars count batches per epoch; a GAN run is measured in G steps or kimg."""

    def __init__(self, refresh_every: int = 10) -> None:
        super().__init__()
        self.refresh_every = refresh_every
        self._enabled = True
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    def _position(self, pl_module: GANModule) -> tuple[float, float | None]:
        if pl_module.max_g_steps is not None:
            return pl_module.g_step, pl_module.max_g_steps
        if pl_module.max_kimg is not None:
            return pl_module.kimg, pl_module.max_kimg
        return pl_module.g_step, None

    def on_train_start(self, trainer: pl.Trainer, pl_module: GANModule) -> None:
        if not (self._enabled and trainer.is_global_zero):
            return
        unit = (
            "G steps" if pl_module.max_g_steps is not None or pl_module.max_kimg is None else "kimg"
        )
        self._progress = Progress(
            TextColumn(f"[bold]train[/] ({unit})"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[status]}"),
        )
        done, total = self._position(pl_module)
        self._task = self._progress.add_task("train", total=total, completed=done, status="")
        self._progress.start()

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: GANModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if self._progress is None or pl_module.d_step % self.refresh_every:
            return
        done, _ = self._position(pl_module)
        logged = pl_module.last_logged
        status = f"kimg {pl_module.kimg:.1f}"
        if logged:
            status += f" D {logged['loss/d']:.3f} G {logged['loss/g']:.3f}"
        self._progress.update(self._task, completed=done, status=status)

    def on_train_end(self, trainer: pl.Trainer, pl_module: GANModule) -> None:
        if self._progress is not None:
            done, _ = self._position(pl_module)
            self._progress.update(self._task, completed=done)
            self._progress.stop()
            self._progress = None

    def on_exception(
        self, trainer: pl.Trainer, pl_module: GANModule, exception: BaseException
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
