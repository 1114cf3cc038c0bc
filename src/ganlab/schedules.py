"""Values that follow training progress in kimg (thousands of real images shown to D).

R3GAN's presets anneal the learning rate, Adam's beta2 and the R1/R2 weight gamma along half a
cosine over a fixed number of images, then hold the final value. ``Cosine`` is that curve;
``KimgCosine`` applies it to an optimizer on the path of the other LR schedulers (built from
``optim.scheduler``, stepped after each G step, saved in checkpoints); a regularizer's
``decay`` multiplies its value by one. Plain PyTorch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler


@dataclass(frozen=True)
class Cosine:
    """``start`` at 0 kimg, ``end`` from ``kimg`` on, half a cosine between (R3GAN)."""

    start: float
    end: float
    kimg: float

    def __post_init__(self) -> None:
        for name in ("start", "end", "kimg"):
            value = getattr(self, name)
            if (
                not isinstance(value, int | float)
                or isinstance(value, bool)
                or not math.isfinite(value)
            ):
                raise ValueError(f"{name}: expected a finite number, got {value!r}")
        if self.kimg <= 0:
            raise ValueError(f"kimg: expected a positive number of kimg, got {self.kimg!r}")

    def __call__(self, kimg: float) -> float:
        done = min(max(kimg / self.kimg, 0.0), 1.0)
        return self.end + (self.start - self.end) * 0.5 * (1.0 + math.cos(math.pi * done))


class KimgCosine(LRScheduler):
    """Each parameter group's lr from its configured value to ``lr_end``, and Adam's beta2
    from its configured value to ``beta2_end``, along a ``Cosine`` over ``kimg``.

    Driven by progress, not by calls: ``step_to(kimg)`` sets the values for that point, so a
    resumed run (whose kimg is restored) continues on the same curve.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        kimg: float,
        lr_end: float | None = None,
        beta2_end: float | None = None,
    ) -> None:
        self.kimg = kimg
        self.lr_end = lr_end
        self.beta2_end = beta2_end
        self.progress_kimg = 0.0
        self.beta2_start: list[float] = []
        if beta2_end is not None:
            if any("betas" not in group for group in optimizer.param_groups):
                raise ValueError(
                    f"beta2_end: {type(optimizer).__name__} has no betas; use Adam or AdamW, "
                    "or set beta2_end=null"
                )
            self.beta2_start = [float(group["betas"][1]) for group in optimizer.param_groups]
        Cosine(0.0, 0.0, kimg)  # checks kimg
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        if self.lr_end is None:
            return list(self.base_lrs)
        return [Cosine(base, self.lr_end, self.kimg)(self.progress_kimg) for base in self.base_lrs]

    def step_to(self, kimg: float) -> None:
        """Set the learning rates and betas for ``kimg`` of progress."""
        self.progress_kimg = kimg
        self.step()
        for group, start in zip(self.optimizer.param_groups, self.beta2_start, strict=False):
            beta2 = Cosine(start, self.beta2_end, self.kimg)(kimg)
            group["betas"] = (group["betas"][0], beta2)
