"""The G-step schedule shared by the callbacks that act periodically (samples, metrics,
checkpoints): every ``every_g_steps`` generator steps and once more when training ends."""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl


class GStepCallback(pl.Callback):
    """Calls ``act`` every ``every_g_steps`` G steps and at the end of training.

    Lightning calls ``on_train_batch_end`` once per D step, so with ``n_critic`` > 1 one G
    step spans several calls: ``acted_at`` (saved in checkpoints under ``schedule_key``) makes
    each G step act at most once, and keeps a resumed run from acting again at the step it
    was saved at. Subclasses implement ``act``; ``run`` acts now, off schedule.
    """

    schedule_key = "acted_at"

    def __init__(self, every_g_steps: int) -> None:
        if every_g_steps < 1:
            raise ValueError(f"every_g_steps must be >= 1, got {every_g_steps}")
        self.every_g_steps = every_g_steps
        self.acted_at = -1

    def act(self, trainer: pl.Trainer, pl_module: Any) -> None:
        raise NotImplementedError

    def run(self, trainer: pl.Trainer, pl_module: Any) -> None:
        """Act at the current G step and remember it."""
        self.acted_at = pl_module.g_step
        self.act(trainer, pl_module)

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        step = pl_module.g_step
        if step > 0 and step % self.every_g_steps == 0 and step != self.acted_at:
            self.run(trainer, pl_module)

    def on_train_end(self, trainer: pl.Trainer, pl_module: Any) -> None:
        if pl_module.g_step != self.acted_at:
            self.run(trainer, pl_module)

    def state_dict(self) -> dict[str, Any]:
        return {self.schedule_key: self.acted_at}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.acted_at = int(state_dict[self.schedule_key])
