"""Reading ganlab checkpoints safely, and checking one fits a model before training resumes.

Files are read with ``weights_only=True``, so a checkpoint can hold tensors and plain values
but never code. Lightning would only notice a truncated file, or one saved by another model,
deep inside ``Trainer.fit``; these checks name the file and the mismatch before anything starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganlab.errors import ConfigError

# What ganlab-train's training loop writes beyond Lightning's own keys (GANModule's
# on_save_checkpoint). Older versions of ganlab lack some: the global RNG states came after
# the first release, which kept only the latent stream as ``ganlab_latent_rng``.
TRAINING_KEYS: dict[str, tuple[str, ...]] = {
    "ganlab_counters": ("d_step", "g_step", "images_seen"),
    "ganlab_rng": ("latent", "torch", "cuda"),
}


def read_checkpoint(path: Path, hint: str) -> dict[str, Any]:
    """The checkpoint's payload, with a ``state_dict`` of tensors; ``hint`` says what to do."""
    try:
        payload: Any = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated, foreign or tampered files all end the same way
        detail = str(exc).splitlines()[0] if str(exc) else ""
        raise ConfigError(
            f"{path} is not a readable checkpoint ({type(exc).__name__}: {detail}); {hint}"
        ) from None
    state = payload.get("state_dict") if isinstance(payload, dict) else None
    if not isinstance(state, dict):
        raise ConfigError(
            f"{path} holds no state_dict, so it is not a ganlab-train checkpoint; {hint}"
        )
    for key, value in state.items():
        if not isinstance(value, torch.Tensor) and not key.endswith("_extra_state"):
            raise ConfigError(
                f"{path}: state_dict entry {key!r} is a {type(value).__name__}, not a tensor, "
                f"so it is not a ganlab-train checkpoint; {hint}"
            )
    return payload


def missing_training_keys(payload: dict[str, Any]) -> list[str]:
    """The keys of ``TRAINING_KEYS`` the checkpoint lacks, as ``group`` or ``group.key``."""
    missing = []
    for group, keys in TRAINING_KEYS.items():
        found = payload.get(group)
        if not isinstance(found, dict):
            missing.append(group)
        else:
            missing += [f"{group}.{key}" for key in keys if key not in found]
    return missing


def check_resumable(path: Path, module: nn.Module) -> None:
    """Raise ``ConfigError`` unless ``path`` is a training checkpoint of exactly this model.

    A checkpoint of an older ganlab is named as such: resuming from it would fail inside
    ``Trainer.fit``, or continue with other random numbers than the run it continues.
    """
    hint = "resume from another checkpoint, or without resume"
    payload = read_checkpoint(path, hint)
    ours = any(key.startswith("ganlab_") for key in payload)
    if "optimizer_states" not in payload or not ours:
        missing = [k for k in ("ganlab_counters", "optimizer_states") if k not in payload]
        raise ConfigError(
            f"{path} lacks {', '.join(missing)}: it was not written by ganlab-train's "
            f"training loop (a weights-only export cannot resume training); {hint}"
        )
    missing = missing_training_keys(payload)
    streams = payload.get("ganlab_rng")
    if isinstance(streams, dict):
        wanted = getattr(module, "rng_streams", ())
        missing += [f"ganlab_rng.{name}" for name in wanted if name not in streams]
    if missing:
        raise ConfigError(
            f"{path} was written by an older version of ganlab: it lacks {', '.join(missing)}, "
            "which this version restores to resume exactly; resume it with the ganlab version "
            "that wrote it, or start a new run without resume"
        )
    saved = payload["state_dict"]
    expected = module.state_dict()
    problems = [f"missing {key}" for key in expected if key not in saved]
    problems += [f"unexpected {key}" for key in saved if key not in expected]
    problems += [
        f"{key} has shape {tuple(saved[key].shape)}, the model {tuple(value.shape)}"
        for key, value in expected.items()
        if key in saved and saved[key].shape != value.shape
    ]
    if problems:
        more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
        shown = "; ".join(problems[:3]) + more
        raise ConfigError(
            f"{path} was saved by another model ({shown}); resume with the model, data and "
            "loss settings of the run that wrote it, or start without resume"
        )
