"""What every feature extractor provides, and the steps all of them share.

Generated images are floats in [-1, 1] while real images are stored as uint8. Every extractor
first quantises its input to the 256 levels a saved PNG would have, so real and generated
images reach the network through exactly the same values and a metric never rewards a
generator for sub-quantum detail that no saved sample could show.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from torch import Tensor, nn

from ganlab.errors import MetricsError

# Metrics accept features as torch tensors or numpy arrays.
ArrayLike = Tensor | np.ndarray


@runtime_checkable
class FeatureExtractor(Protocol):
    """An `nn.Module` in eval mode mapping images in [-1, 1] `[B, C, H, W]` to features.

    `name` and `fingerprint` (a hash of the weights) identify the features in cache keys,
    so changing the weights can never reuse stale real-data features.
    """

    name: str
    fingerprint: str
    num_features: int

    def __call__(self, x: Tensor) -> Tensor:
        """Features `[B, num_features]` (float32) for FID, KID and precision/recall."""
        ...

    def logits(self, x: Tensor) -> Tensor:
        """Class logits `[B, K]` for the Inception Score."""
        ...

    def features_and_logits(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Both of the above from one pass through the network."""
        ...

    def parameters(self, recurse: bool = True) -> Iterator[nn.Parameter]:
        """As `nn.Module.parameters`: their device is where inputs are sent."""
        ...


def check_images(x: Tensor, what: str) -> None:
    """Reject anything but a float batch `[B, 1 or 3, H, W]`, naming the argument."""
    if not isinstance(x, Tensor) or x.dim() != 4 or x.shape[1] not in (1, 3):
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise MetricsError(
            f"{what}: expected images [B, C, H, W] with C = 1 or 3, got {shape}; "
            "pass a batch of grey or RGB images"
        )
    if not x.is_floating_point():
        raise MetricsError(
            f"{what}: expected float images in [-1, 1], got dtype {x.dtype}; "
            "convert uint8 images with x / 127.5 - 1 (or use extract(), which does)"
        )


def quantize_images(x: Tensor) -> Tensor:
    """Float images in [-1, 1] -> uint8 in [0, 255], rounded as when saving a PNG."""
    check_images(x, "quantize_images(x)")
    return ((x.detach() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)


def state_dict_sha256(state: Mapping[str, Tensor]) -> str:
    """sha256 of every tensor's name, dtype, shape and bytes, in key order.

    Hashing the tensors rather than the file makes the fingerprint independent of how the
    file was serialised, so re-saving identical weights keeps cached features valid.
    """
    digest = hashlib.sha256()
    for key in sorted(state):
        tensor = state[key].detach().cpu().contiguous()
        digest.update(f"{key}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def extract(
    extractor: FeatureExtractor, images: Tensor, batch_size: int = 64
) -> tuple[Tensor, Tensor]:
    """Features and logits of a whole image set, computed in batches on the extractor's device.

    `images` are uint8 `[N, C, H, W]` (as `real_images` returns them) or floats in [-1, 1];
    uint8 batches are converted one batch at a time, so a large set is never held as floats.
    Returns float32 CPU tensors `[N, F]` and `[N, K]`.
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise MetricsError(f"extract(batch_size={batch_size!r}): use an integer >= 1")
    if not isinstance(images, Tensor) or images.dim() != 4 or len(images) == 0:
        shape = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
        raise MetricsError(f"extract(images): expected a non-empty batch [N, C, H, W], got {shape}")
    device = next(extractor.parameters()).device
    features, logits = [], []
    for batch in images.split(batch_size):
        batch = batch.to(device)
        if batch.dtype == torch.uint8:
            batch = batch.to(torch.float32) / 127.5 - 1
        f, k = extractor.features_and_logits(batch)
        features.append(f.float().cpu())
        logits.append(k.float().cpu())
    return torch.cat(features), torch.cat(logits)


def as_float64(x: ArrayLike, what: str, ndim: int) -> np.ndarray:
    """A float64 numpy array from a torch tensor or array, with its rank and values checked."""
    array = x.detach().cpu().double().numpy() if isinstance(x, Tensor) else np.asarray(x)
    if array.ndim != ndim or not np.issubdtype(array.dtype, np.number):
        raise MetricsError(
            f"{what}: expected a numeric {ndim}-d array, got shape {array.shape} and "
            f"dtype {array.dtype}"
        )
    array = array.astype(np.float64, copy=False)
    if not np.isfinite(array).all():
        raise MetricsError(f"{what} contains NaN or inf; check the generator's outputs")
    return array
