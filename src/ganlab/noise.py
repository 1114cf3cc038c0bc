"""The random draws of a training step made for the global batch, so 1 or N processes agree.

Dropout masks and the gradient penalty's interpolation weights are per sample. Drawn from
each process's own global RNG, N processes with batch B would use other draws than one
process with batch N x B, and a resumed run other draws than the run it continues. During a
training step the Lightning module opens ``step_noise`` with a stream of its own (seeded by
``seed``, identical on every rank, saved in checkpoints); ``batch_rand`` then draws for the
whole global batch from it and keeps this rank's slice, as the latents are drawn. Outside a
step (evaluation, a net used on its own) it draws from torch's global RNG. Plain PyTorch.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class StepNoise:
    """The stream a step draws from, and this process's place among the ranks."""

    generator: torch.Generator
    world_size: int = 1
    rank: int = 0


_ACTIVE: ContextVar[StepNoise | None] = ContextVar("ganlab_step_noise", default=None)


@contextmanager
def step_noise(generator: torch.Generator, world_size: int = 1, rank: int = 0) -> Iterator[None]:
    """Within the block, ``batch_rand`` draws for the global batch from ``generator``."""
    token = _ACTIVE.set(StepNoise(generator, world_size, rank))
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def batch_rand(shape: tuple[int, ...], device: torch.device, dtype: torch.dtype) -> Tensor:
    """Uniform [0, 1) numbers of ``shape``, whose first dimension is this rank's batch."""
    noise = _ACTIVE.get()
    if noise is None:
        return torch.rand(shape, device=device, dtype=dtype)
    n = shape[0]
    full = torch.rand(
        (n * noise.world_size, *shape[1:]),
        generator=noise.generator,
        device=noise.generator.device,
        dtype=dtype,
    )
    return full[noise.rank * n : (noise.rank + 1) * n].to(device)
