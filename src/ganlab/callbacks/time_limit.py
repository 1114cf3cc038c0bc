"""The time-limit warning of a cluster job: save ``last.ckpt``, then let the job be requeued.

A SLURM job submitted by submitit gets a signal (``SIGUSR2``, ``hydra.launcher.signal_delay_s``
seconds before its time limit); submitit's handler requeues the job and ends the process at
once, losing the steps since the last periodic checkpoint. This callback takes the signal
first: it notes it, finishes the step in progress, saves ``last.ckpt`` through the run's
``PeriodicCheckpoint``, and only then hands the signal to the handler that was there before
(submitit's requeue). Under DDP the ranks agree every ``every_d_steps`` D steps whether any
of them got the signal, so all save the same step together.
"""

from __future__ import annotations

import signal
from types import FrameType
from typing import Any

import lightning.pytorch as pl

from ganlab.callbacks.checkpoint import PeriodicCheckpoint


class SaveOnTimeLimit(pl.Callback):
    """On ``signal_name``: save ``last.ckpt`` at the next step boundary, then pass it on."""

    def __init__(self, signal_name: str = "SIGUSR2", every_d_steps: int = 10) -> None:
        if not hasattr(signal, signal_name) or not signal_name.startswith("SIG"):
            raise ValueError(f"signal_name: {signal_name!r} is not a signal (e.g. SIGUSR2)")
        if every_d_steps < 1:
            raise ValueError(f"every_d_steps must be >= 1, got {every_d_steps}")
        self.signum = getattr(signal, signal_name)
        self.every_d_steps = every_d_steps
        self.previous: Any = None
        self.frame: FrameType | None = None
        self.pending = False

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self.pending, self.frame = True, frame

    def on_fit_start(self, trainer: pl.Trainer, pl_module: Any) -> None:
        self.previous = signal.signal(self.signum, self._note)

    def teardown(self, trainer: pl.Trainer, pl_module: Any, stage: str) -> None:
        """Give the signal back to its handler however fit ended (an error included). This
        hook runs after Lightning puts back the handlers it found, ours among them."""
        if self.previous is not None:
            signal.signal(self.signum, self.previous)
            self.previous = None

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if trainer.world_size > 1:
            if pl_module.d_step % self.every_d_steps:
                return
            due = trainer.strategy.reduce_boolean_decision(self.pending, all=False)
        else:
            due = self.pending
        if not due:
            return
        savers = [c for c in trainer.callbacks if isinstance(c, PeriodicCheckpoint)]
        for saver in savers:
            saver.run(trainer, pl_module)
        name = signal.Signals(self.signum).name
        saved = "saved last.ckpt" if savers else "no checkpoint callback, nothing saved"
        pl_module.report(f"{name} (the time limit is near): {saved}; handing it on")
        self.pending = False
        signal.signal(self.signum, self.previous)
        if callable(self.previous):
            self.previous(self.signum, self.frame)  # submitit: requeue the job, end the process
        trainer.should_stop = True
