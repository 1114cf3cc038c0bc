"""What a dataset's images are: the name, the resolved root, the settings that change the
pixels, and a fingerprint of the pixels themselves.

Cached real features and domain evaluators are only valid for the images they were computed
on. Two image folders share the name ``image_folder`` and can share a resolution, and a
folder's files can change; so the cache key and an evaluator's record hold this identity and
a hash of the uint8 images actually loaded, never the name alone.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

# Constructor settings that change the images a data module yields (not which ones: `limit`
# only takes the first N, which the fingerprint of the images used already tells).
IMAGE_SETTINGS = ("resolution", "resize", "channels", "center_crop")


def images_fingerprint(images: Tensor) -> str:
    """sha256 of a uint8 image tensor's shape and bytes, hashed in chunks."""
    digest = hashlib.sha256(str(tuple(images.shape)).encode())
    flat = images.detach().to("cpu", torch.uint8).contiguous().view(-1)
    step = 1 << 24
    for start in range(0, flat.numel(), step):
        digest.update(flat[start : start + step].numpy().tobytes())
    return digest.hexdigest()


def resolved_root(datamodule: Any) -> str | None:
    """The data root as an absolute path with links resolved (None when the set has none)."""
    root = getattr(datamodule, "root", None)
    return None if root is None else str(Path(str(root)).expanduser().resolve())


def data_identity(datamodule: Any) -> dict[str, Any]:
    """Name, resolved root and pixel-changing settings of a data module (plain values)."""
    settings = {key: getattr(datamodule, key) for key in IMAGE_SETTINGS if hasattr(datamodule, key)}
    return {
        "dataset": datamodule.name,
        "root": resolved_root(datamodule),
        "content_from_root": bool(getattr(datamodule, "content_from_root", False)),
        "settings": settings,
    }


def evaluator_stem(datamodule: Any) -> str:
    """File stem of the data's evaluator: the dataset's name, and for a set whose content is
    whatever folder its root names (``image_folder``) a hash of that folder, so evaluators of
    two folders never overwrite each other."""
    if getattr(datamodule, "content_from_root", False):
        root = resolved_root(datamodule) or ""
        return f"{datamodule.name}-{hashlib.sha256(root.encode()).hexdigest()[:10]}"
    return datamodule.name


def default_evaluator_path(folder: str | Path, datamodule: Any) -> Path:
    """``<folder>/<stem>_<resolution>px.pt``: where the evaluator of this data is kept."""
    return Path(folder) / f"{evaluator_stem(datamodule)}_{datamodule.shape[-1]}px.pt"


def evaluator_record(datamodule: Any) -> dict[str, Any]:
    """What an evaluator file records of its data, for `DomainFeatures.check_data`."""
    test_images, _ = datamodule.real_images("test")
    return {
        "dataset": datamodule.name,
        "data_identity": data_identity(datamodule),
        "test_images": images_fingerprint(test_images),
    }


def train_evaluator_command(datamodule: Any) -> str:
    """The command that trains the evaluator `default_evaluator_path` looks for."""
    words = [f"ganlab-train-evaluator data={datamodule.name}"]
    if getattr(datamodule, "content_from_root", False):
        words.append(f"data.root={resolved_root(datamodule)}")
    words.append(f"data.resolution={datamodule.shape[-1]}")
    return " ".join(words)
