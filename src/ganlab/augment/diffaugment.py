"""DiffAugment (Zhao et al. 2020): cheap differentiable transforms of every image D sees.

The policy string is the authors' (``color,translation,cutout``; a list of the words works
too, and Hydra's command line takes one without quotes: ``augment.policy=[color,cutout]``).
``color`` shifts brightness by U(-0.5, 0.5), scales saturation (each pixel's distance from
its channel mean) by U(0, 2) and contrast (distance from the image mean) by U(0.5, 1.5);
``translation`` shifts by a whole number of pixels, up to 1/8 of each side, filling with
zeros; ``cutout`` zeroes a rectangle of half each side at a random centre. Every draw is per
sample, from torch's global generator (seeded and restored on resume like dropout's). With
``p < 1`` each transform is applied to each sample with probability ``p``, so ``p = 0`` is
the identity. The images are in [-1, 1], where the authors' zero fill is mid-grey.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlab.augment.checks import check_images, check_probability


def _uniform(x: Tensor, low: float, high: float) -> Tensor:
    """One draw per sample in [low, high), shaped to broadcast over C, H, W."""
    return torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device) * (high - low) + low


def brightness(x: Tensor) -> Tensor:
    return x + _uniform(x, -0.5, 0.5)


def saturation(x: Tensor) -> Tensor:
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * _uniform(x, 0.0, 2.0) + mean


def contrast(x: Tensor) -> Tensor:
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * _uniform(x, 0.5, 1.5) + mean


def translation(x: Tensor, ratio: float = 0.125) -> Tensor:
    """Shift each image by whole pixels in [-ratio x side, ratio x side], zeros coming in."""
    b, _, h, w = x.shape
    shift_h, shift_w = int(h * ratio), int(w * ratio)
    dy = torch.randint(-shift_h, shift_h + 1, (b, 1, 1), device=x.device)
    dx = torch.randint(-shift_w, shift_w + 1, (b, 1, 1), device=x.device)
    # Index into a copy padded by one zero pixel; a source outside the image lands on it.
    rows = (torch.arange(h, device=x.device).view(1, h, 1) + dy + 1).clamp(0, h + 1)
    cols = (torch.arange(w, device=x.device).view(1, 1, w) + dx + 1).clamp(0, w + 1)
    padded = F.pad(x, (1, 1, 1, 1))
    batch = torch.arange(b, device=x.device).view(b, 1, 1)
    return padded[batch, :, rows, cols].permute(0, 3, 1, 2)


def cutout(x: Tensor, ratio: float = 0.5) -> Tensor:
    """Zero a (ratio x H) x (ratio x W) rectangle centred anywhere in the image (clipped)."""
    b, _, h, w = x.shape
    size_h, size_w = int(h * ratio), int(w * ratio)
    top = torch.randint(0, h + (1 - size_h % 2), (b, 1, 1), device=x.device) - size_h // 2
    left = torch.randint(0, w + (1 - size_w % 2), (b, 1, 1), device=x.device) - size_w // 2
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (rows >= top) & (rows < top + size_h) & (cols >= left) & (cols < left + size_w)
    return x * (~inside).unsqueeze(1).to(x.dtype)


TRANSFORMS: dict[str, tuple[Callable[[Tensor], Tensor], ...]] = {
    "color": (brightness, saturation, contrast),
    "translation": (translation,),
    "cutout": (cutout,),
}


class DiffAugment(nn.Module):
    """The policy's transforms in order, each to every sample (``p = 1``, the paper's
    setting) or to each sample with probability ``p``."""

    def __init__(
        self, policy: str | Sequence[str] = "color,translation,cutout", p: float = 1.0
    ) -> None:
        super().__init__()
        given = policy.split(",") if isinstance(policy, str) else list(policy)
        words = [str(word).strip() for word in given if str(word).strip()]
        unknown = [word for word in words if word not in TRANSFORMS]
        if unknown or not words:
            problem = f"has no word {unknown[0]!r}" if unknown else "names no transform"
            raise ValueError(
                f"augment.policy: {policy!r} {problem}; write a comma-separated list of "
                f"{', '.join(TRANSFORMS)} (the paper's: color,translation,cutout)"
            )
        check_probability("augment.p", p)
        self.policy = ",".join(words)
        self.p = float(p)
        self._transforms = [t for word in words for t in TRANSFORMS[word]]

    def check_shape(self, shape: tuple[int, ...]) -> None:
        """Refuse data that is not images, before training."""
        check_images("DiffAugment", shape)

    def forward(self, x: Tensor) -> Tensor:
        if self.p == 0:
            return x
        for transform in self._transforms:
            if self.p == 1:
                x = transform(x)
            else:
                chosen = torch.rand(x.shape[0], 1, 1, 1, device=x.device) < self.p
                x = torch.where(chosen, transform(x), x)
        return x

    def extra_repr(self) -> str:
        return f"policy={self.policy!r}, p={self.p:g}"
