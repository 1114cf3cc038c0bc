"""On-disk cache of real-data features, keyed by everything that changes them.

Real images do not change between evaluations, so their features are computed once and
every later evaluation pays only for the generated side (as StyleGAN2-ADA's metric code
does). The key is hashed into the file name and also stored inside the file, so a hash
collision or a stale file is detected and recomputed instead of silently reused.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ganlab.errors import MetricsError
from ganlab.run.durable import replace_durably, temporary_name

log = logging.getLogger(__name__)


def cache_key_text(key: Mapping[str, Any]) -> str:
    """Canonical JSON of the key (sorted, compact): equal keys give equal text."""
    try:
        return json.dumps(dict(key), sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise MetricsError(
            f"cached_features(key): {exc}; use only JSON values (str, int, float, bool, "
            "None, lists, dicts), e.g. the extractor's fingerprint string, not the extractor"
        ) from None


def cache_path(cache_dir: str | Path, key: Mapping[str, Any]) -> Path:
    """`<cache_dir>/features-<sha256 of the key, 24 hex>.pt`."""
    digest = hashlib.sha256(cache_key_text(key).encode()).hexdigest()[:24]
    return Path(cache_dir).expanduser() / f"features-{digest}.pt"


def _load(path: Path, key_text: str) -> Tensor | None:
    """The stored features if `path` holds this exact key, else None (a cache miss)."""
    if not path.is_file():
        return None
    try:
        stored = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated or foreign file: recompute and overwrite it
        log.warning("feature cache %s is unreadable (%s); recomputing", path, exc)
        return None
    if not isinstance(stored, dict) or not isinstance(stored.get("features"), Tensor):
        log.warning("feature cache %s has no features; recomputing", path)
        return None
    if stored.get("key") != key_text:
        log.warning("feature cache %s holds another key; recomputing", path)
        return None
    return stored["features"]


def atomic_save(obj: Any, path: Path) -> None:
    """`torch.save` via a uniquely named temporary file, flushed, and a rename.

    Readers never see half a file, and two processes writing the same file (DDP ranks
    filling one cache) cannot interleave; the file gets the umask's usual permissions.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        torch.save(obj, tmp)
        replace_durably(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def cached_features(
    cache_dir: str | Path, key: Mapping[str, Any], compute: Callable[[], Tensor]
) -> Tensor:
    """Features for `key` from the cache, or `compute()`d, stored as float32, and returned.

    The key must name everything the features depend on: dataset, split, resolution,
    sample count, extractor name and weight fingerprint, and any preprocessing switch.
    """
    key_text = cache_key_text(key)
    path = cache_path(cache_dir, key)
    cached = _load(path, key_text)
    if cached is not None:
        return cached
    features = compute()
    if not isinstance(features, Tensor) or features.dim() != 2:
        shape = tuple(features.shape) if isinstance(features, Tensor) else type(features).__name__
        raise MetricsError(
            f"cached_features(compute): returned {shape}, expected a features tensor [N, F]"
        )
    features = features.detach().to("cpu", torch.float32).contiguous()
    atomic_save({"key": key_text, "features": features}, path)
    return features
