"""Corruptions a restoration model learns to undo: holes, Gaussian noise, downsampling.

Plain PyTorch, no Lightning or Hydra. A corruption works in two steps so that training,
evaluation and several processes can share one convention: ``draw`` takes the random part
(a mask, a noise field) from a given ``torch.Generator``, independent of image content,
and ``apply`` combines it with clean images in [-1, 1]. Drawing for a whole global batch
and slicing keeps N processes equal to one, and a saved generator state resumes exactly.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

MASK_SHAPES = ("box", "free_form")
SR_FACTORS = (2, 4)


@dataclass(frozen=True)
class Corrupted:
    """What the restoration network gets for one batch.

    ``image`` is the corrupted image at the clean image's size (holes filled with 0, the
    noisy image, or the bicubic upsampling of the low-resolution one); ``mask`` is 1 where
    pixels are missing (inpainting only); ``observed`` is the measurement as a camera would
    store it (the low-resolution image for super-resolution, else ``image``).
    """

    image: Tensor
    mask: Tensor | None
    observed: Tensor

    def rows(self, start: int, stop: int) -> Corrupted:
        """The images ``start:stop`` of the batch (evaluation walks a set in chunks)."""
        return Corrupted(
            image=self.image[start:stop],
            mask=None if self.mask is None else self.mask[start:stop],
            observed=self.observed[start:stop],
        )

    @property
    def network_input(self) -> Tensor:
        """The generator's input: the corrupted image, with the mask as an extra channel."""
        if self.mask is None:
            return self.image
        return torch.cat([self.image, self.mask], dim=1)


class Corruption(ABC):
    """A degradation of images in [-1, 1]: ``draw`` its randomness, then ``apply`` it."""

    name: str

    @property
    def extra_channels(self) -> int:
        """Channels the generator gets beyond the image's own (1 for the inpainting mask)."""
        return 0

    def check_shape(self, shape: tuple[int, ...]) -> None:
        """Raise ``ValueError`` if images of ``shape`` (C, H, W) cannot be corrupted this way."""
        if len(shape) != 3:
            raise ValueError(f"{type(self).__name__}: needs images (C, H, W), got shape {shape}")

    def observed_size(self, size: int) -> int:
        """Side of the stored corrupted image for clean images of side ``size``."""
        return size

    @abstractmethod
    def draw(self, n: int, shape: tuple[int, ...], generator: torch.Generator) -> Tensor | None:
        """The random part for ``n`` images of ``shape`` (C, H, W), on ``generator``'s device."""

    @abstractmethod
    def apply(self, clean: Tensor, drawn: Tensor | None) -> Corrupted:
        """Corrupt ``clean`` [B, C, H, W] in [-1, 1] with what ``draw`` returned."""

    def __call__(self, clean: Tensor, generator: torch.Generator) -> Corrupted:
        """Draw and apply in one go (evaluation sets, tests)."""
        drawn = self.draw(clean.shape[0], tuple(clean.shape[1:]), generator)
        return self.apply(clean, None if drawn is None else drawn.to(clean.device))

    def from_observed(self, observed: Tensor, mask: Tensor | None = None) -> Corrupted:
        """A ``Corrupted`` from a stored measurement (a file given to ``ganlab-restore``)."""
        return Corrupted(image=observed, mask=None, observed=observed)

    def compose(self, output: Tensor, corrupted: Corrupted) -> Tensor:
        """The restored image from the generator's output (identity unless known pixels stay)."""
        return output

    def baselines(self, corrupted: Corrupted) -> dict[str, Tensor]:
        """Trivial restorations to compare against, at the clean image's size."""
        return {"input": corrupted.image}


class MaskCorruption(Corruption):
    """Inpainting: a random share ``fraction`` of each image is missing (filled with 0).

    ``shape="box"``: one rectangle of that area, random aspect ratio in [1/2, 2] and random
    position. ``shape="free_form"``: brush strokes (random walks of discs of ``brush``
    pixels' radius, as in free-form inpainting work) until the holes cover ``fraction``.
    With ``paste_known`` the restored image keeps the known pixels and takes only the holes
    from the generator, the usual convention in inpainting.
    """

    name = "mask"

    def __init__(
        self,
        fraction: float = 0.25,
        shape: str = "box",
        brush: float = 2.0,
        paste_known: bool = True,
        max_steps: int = 400,
    ) -> None:
        owner = type(self).__name__
        number = isinstance(fraction, int | float) and not isinstance(fraction, bool)
        if not number or not 0 < fraction < 1:
            raise ValueError(f"{owner}: fraction {fraction!r} is invalid; use a number in (0, 1)")
        if shape not in MASK_SHAPES:
            raise ValueError(f"{owner}: shape {shape!r} is not one of {', '.join(MASK_SHAPES)}")
        if not isinstance(brush, int | float) or brush <= 0:
            raise ValueError(f"{owner}: brush {brush!r} is invalid; use a radius > 0 in pixels")
        if not isinstance(paste_known, bool):
            raise ValueError(f"{owner}: paste_known {paste_known!r} is invalid; use true or false")
        if not isinstance(max_steps, int) or max_steps < 1:
            raise ValueError(f"{owner}: max_steps {max_steps!r} is invalid; use an integer >= 1")
        self.fraction = float(fraction)
        self.shape = shape
        self.brush = float(brush)
        self.paste_known = paste_known
        self.max_steps = max_steps

    @property
    def extra_channels(self) -> int:
        return 1

    def draw(self, n: int, shape: tuple[int, ...], generator: torch.Generator) -> Tensor:
        height, width = shape[-2:]
        if self.shape == "box":
            return self._boxes(n, height, width, generator)
        return self._strokes(n, height, width, generator)

    def _boxes(self, n: int, height: int, width: int, generator: torch.Generator) -> Tensor:
        device = generator.device
        area = self.fraction * height * width
        aspect = torch.exp(
            (torch.rand(n, generator=generator, device=device) * 2 - 1) * math.log(2)
        )
        box_h = (area * aspect).sqrt().round().clamp(1, height)
        box_w = (area / box_h).round().clamp(1, width)
        top = (torch.rand(n, generator=generator, device=device) * (height - box_h + 1)).floor()
        left = (torch.rand(n, generator=generator, device=device) * (width - box_w + 1)).floor()
        rows = torch.arange(height, device=device).view(1, height, 1)
        cols = torch.arange(width, device=device).view(1, 1, width)
        inside_rows = (rows >= top.view(n, 1, 1)) & (rows < (top + box_h).view(n, 1, 1))
        inside_cols = (cols >= left.view(n, 1, 1)) & (cols < (left + box_w).view(n, 1, 1))
        return (inside_rows & inside_cols).float().unsqueeze(1)

    def _strokes(self, n: int, height: int, width: int, generator: torch.Generator) -> Tensor:
        """Random walks stamping discs, per image, until each covers ``fraction``.

        All images walk at once; an image stops as soon as its holes reach the target, so
        it overshoots by at most one disc. Each step turns by up to 45 degrees; a new
        stroke starts at a random point with probability 0.1.
        """
        device = generator.device
        mask = torch.zeros(n, height, width, device=device)
        rows = torch.arange(height, device=device, dtype=torch.float32).view(1, height, 1)
        cols = torch.arange(width, device=device, dtype=torch.float32).view(1, 1, width)
        size = torch.tensor([height - 1, width - 1], device=device, dtype=torch.float32)
        position = torch.rand(n, 2, generator=generator, device=device) * size
        angle = torch.rand(n, generator=generator, device=device) * 2 * math.pi
        for _ in range(self.max_steps):
            active = mask.flatten(1).mean(1) < self.fraction
            if not bool(active.any()):
                break
            distance = (rows - position[:, 0].view(n, 1, 1)) ** 2 + (
                cols - position[:, 1].view(n, 1, 1)
            ) ** 2
            disc = (distance <= self.brush**2) & active.view(n, 1, 1)
            mask = torch.where(disc, torch.ones_like(mask), mask)
            restart = torch.rand(n, generator=generator, device=device) < 0.1
            turn = (torch.rand(n, generator=generator, device=device) * 2 - 1) * math.pi / 4
            fresh = torch.rand(n, 2, generator=generator, device=device) * size
            angle = angle + turn
            step = torch.stack([angle.sin(), angle.cos()], dim=1) * self.brush
            position = torch.where(restart.view(n, 1), fresh, position + step)
            position = torch.minimum(position.clamp(min=0), size)
        return mask.unsqueeze(1)

    def apply(self, clean: Tensor, drawn: Tensor | None) -> Corrupted:
        mask = drawn.to(clean.dtype)
        image = clean * (1 - mask)
        return Corrupted(image=image, mask=mask, observed=image)

    def from_observed(self, observed: Tensor, mask: Tensor | None = None) -> Corrupted:
        if mask is None:
            raise ValueError("inpainting needs a mask (1 = missing) for every image")
        image = observed * (1 - mask)
        return Corrupted(image=image, mask=mask, observed=observed)

    def compose(self, output: Tensor, corrupted: Corrupted) -> Tensor:
        if not self.paste_known:
            return output
        return corrupted.mask * output + (1 - corrupted.mask) * corrupted.image

    def baselines(self, corrupted: Corrupted) -> dict[str, Tensor]:
        """The holes left at 0 (mid grey), and filled with the mean of the known pixels."""
        known = 1 - corrupted.mask
        mean = (corrupted.image * known).sum((2, 3), keepdim=True) / known.sum(
            (2, 3), keepdim=True
        ).clamp(min=1)
        return {
            "input": corrupted.image,
            "mean_fill": corrupted.image + corrupted.mask * mean,
        }


class NoiseCorruption(Corruption):
    """Denoising: additive Gaussian noise of ``sigma`` on the [0, 1] intensity scale.

    ``sigma=0.2`` is 51 grey levels of 255; in the model's [-1, 1] range the noise has
    standard deviation ``2 * sigma``. The noisy image is clipped to the valid range, as a
    stored image would be.
    """

    name = "noise"

    def __init__(self, sigma: float = 0.2) -> None:
        if not isinstance(sigma, int | float) or isinstance(sigma, bool) or not sigma > 0:
            raise ValueError(
                f"{type(self).__name__}: sigma {sigma!r} is invalid; use a number > 0 "
                "(on the [0, 1] intensity scale, e.g. 0.1 for about 25 grey levels)"
            )
        self.sigma = float(sigma)

    def draw(self, n: int, shape: tuple[int, ...], generator: torch.Generator) -> Tensor:
        return torch.randn(n, *shape, generator=generator, device=generator.device)

    def apply(self, clean: Tensor, drawn: Tensor | None) -> Corrupted:
        image = (clean + 2 * self.sigma * drawn.to(clean.dtype)).clamp(-1, 1)
        return Corrupted(image=image, mask=None, observed=image)


class DownsampleCorruption(Corruption):
    """Super-resolution: bicubic downsampling (antialiased) by ``factor`` 2 or 4.

    The generator sees the bicubic upsampling of the low-resolution image, at the clean
    size (pre-upsampling, as SRCNN), so the same U-Net serves every task; bicubic
    upsampling is then also the baseline to beat. ``input`` is the nearest-neighbour
    upsampling: the low-resolution image as it is, enlarged.
    """

    name = "downsample"

    def __init__(self, factor: int = 4) -> None:
        if factor not in SR_FACTORS:
            raise ValueError(
                f"{type(self).__name__}: factor {factor!r} is not supported; use 2 or 4"
            )
        self.factor = int(factor)

    def check_shape(self, shape: tuple[int, ...]) -> None:
        super().check_shape(shape)
        if shape[-1] % self.factor or shape[-2] % self.factor:
            raise ValueError(
                f"{type(self).__name__}: {shape[-2]}x{shape[-1]} images cannot be downsampled "
                f"by {self.factor}; use a resolution divisible by {self.factor}"
            )

    def observed_size(self, size: int) -> int:
        return size // self.factor

    def draw(self, n: int, shape: tuple[int, ...], generator: torch.Generator) -> None:
        return None

    def apply(self, clean: Tensor, drawn: Tensor | None) -> Corrupted:
        height, width = clean.shape[-2:]
        low = F.interpolate(
            clean,
            size=(height // self.factor, width // self.factor),
            mode="bicubic",
            align_corners=False,
            antialias=True,
        ).clamp(-1, 1)
        return self.from_observed(low)

    def from_observed(self, observed: Tensor, mask: Tensor | None = None) -> Corrupted:
        height, width = (s * self.factor for s in observed.shape[-2:])
        image = F.interpolate(
            observed, size=(height, width), mode="bicubic", align_corners=False
        ).clamp(-1, 1)
        return Corrupted(image=image, mask=None, observed=observed)

    def baselines(self, corrupted: Corrupted) -> dict[str, Tensor]:
        nearest = F.interpolate(corrupted.observed, scale_factor=self.factor, mode="nearest")
        return {"input": nearest, "bicubic": corrupted.image}
