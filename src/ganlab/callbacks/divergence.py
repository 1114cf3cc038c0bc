"""Divergence guard: stop (or roll back) a run whose losses, gradients or weights blow up."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from torch import nn

from ganlab.errors import GanlabError
from ganlab.module import GANModule

ACTIONS = ("stop", "rollback")


class DivergenceError(GanlabError):
    """Training produced NaN or Inf and the guard ended the run."""


def first_non_finite(net: nn.Module) -> str | None:
    """``"gradient of NAME"`` or ``"parameter NAME"`` for the first non-finite tensor, else None."""
    for name, param in net.named_parameters():
        if not torch.isfinite(param).all():
            return f"parameter {name}"
        if param.grad is not None and not torch.isfinite(param.grad).all():
            return f"gradient of {name}"
    return None


class DivergenceGuard(pl.Callback):
    """Checks every ``every_d_steps`` D steps for NaN/Inf in the losses, gradients and weights.

    ``action="stop"`` ends the run with a message naming the step, the network and the
    quantity, before more compute is burnt. ``action="rollback"`` reloads ``checkpoint``
    (the last good ``last.ckpt``), multiplies both learning rates by ``lr_factor`` and goes
    on, at most ``max_rollbacks`` times. A discriminator that wins outright (|D loss| and the
    mean D(G(z)) below ``win_threshold``) for ``win_steps`` checks in a row is reported as
    a warning in the log and in summary.json: the generator has stopped learning.
    """

    def __init__(
        self,
        checkpoint: str,
        action: str = "stop",
        every_d_steps: int = 10,
        lr_factor: float = 0.5,
        max_rollbacks: int = 3,
        win_threshold: float = 1e-3,
        win_steps: int = 20,
    ) -> None:
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {ACTIONS}, got {action!r}")
        if every_d_steps < 1 or win_steps < 1 or max_rollbacks < 0 or not 0 < lr_factor < 1:
            raise ValueError("every_d_steps, win_steps >= 1; max_rollbacks >= 0; 0 < lr_factor < 1")
        self.checkpoint = Path(checkpoint)
        self.action = action
        self.every_d_steps = every_d_steps
        self.lr_factor = lr_factor
        self.max_rollbacks = max_rollbacks
        self.win_threshold = win_threshold
        self.win_steps = win_steps
        self.rollbacks = 0
        self._wins = 0
        self._warned = False

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: GANModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if pl_module.d_step % self.every_d_steps:
            return
        problem = self._find_problem(pl_module)
        if problem is not None:
            self._handle(trainer, pl_module, problem)
        else:
            self._watch_discriminator(pl_module)

    def _find_problem(self, pl_module: GANModule) -> str | None:
        for key, value in pl_module.latest_values().items():
            if not math.isfinite(value):
                return f"{key} is {value}"
        for role, net in (
            ("generator", pl_module.generator),
            ("discriminator", pl_module.discriminator),
        ):
            found = first_non_finite(net)
            if found is not None:
                return f"{role}: {found} is not finite"
        return None

    def _handle(self, trainer: pl.Trainer, pl_module: GANModule, problem: str) -> None:
        where = f"G step {pl_module.g_step} (D step {pl_module.d_step})"
        can_roll_back = self.action == "rollback" and self.rollbacks < self.max_rollbacks
        if not can_roll_back or not self.checkpoint.is_file():
            hint = (
                "lower the learning rates, add gradient clipping (gan.grad_clip) or a penalty"
                if self.action == "stop"
                else f"rolled back {self.rollbacks} time(s) already, or no {self.checkpoint}"
            )
            raise DivergenceError(f"training diverged at {where}: {problem}. {hint}")
        state = torch.load(self.checkpoint, map_location=pl_module.device, weights_only=True)
        pl_module.load_state_dict(state["state_dict"])
        pl_module.on_load_checkpoint(state)
        for optimizer, saved in zip(trainer.optimizers, state["optimizer_states"], strict=True):
            optimizer.load_state_dict(saved)
            for group in optimizer.param_groups:
                group["lr"] *= self.lr_factor
        self.rollbacks += 1
        pl_module.report(
            f"diverged at {where} ({problem}); rolled back to {self.checkpoint.name} "
            f"(G step {pl_module.g_step}) with learning rates x{self.lr_factor}"
        )

    def _watch_discriminator(self, pl_module: GANModule) -> None:
        values = pl_module.latest_values()
        fake = values.get("logits/fake")
        if fake is None:
            return
        d_wins = (
            abs(values["loss/d"]) < self.win_threshold
            and torch.sigmoid(torch.tensor(fake)).item() < self.win_threshold
        )
        self._wins = self._wins + 1 if d_wins else 0
        if self._wins >= self.win_steps and not self._warned:
            self._warned = True
            pl_module.report(
                f"the discriminator wins outright since G step ~{pl_module.g_step}: "
                f"D loss and D(G(z)) have stayed below {self.win_threshold} for "
                f"{self._wins} checks; the generator gets no useful gradient"
            )

    def state_dict(self) -> dict[str, Any]:
        return {"rollbacks": self.rollbacks}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.rollbacks = int(state_dict["rollbacks"])
