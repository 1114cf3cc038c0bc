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


def read_checkpoint(path: Path, hint: str) -> dict[str, Any]:
    """The checkpoint's payload, with a ``state_dict`` of tensors; ``hint`` says what to do."""
    try:
        payload: Any = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated, foreign or tampered files all end the same way
        detail = str(exc).splitlines()[0] if str(exc) else ""
        raise ConfigError(
            f"{path} is not a readable checkpoint ({type(exc).__name__}: {detail}); {hint}"
        ) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("state_dict"), dict):
        raise ConfigError(f"{path} holds no state_dict; it is not a ganlab-train checkpoint")
    return payload


def check_resumable(path: Path, module: nn.Module) -> None:
    """Raise ``ConfigError`` unless ``path`` is a training checkpoint of exactly this model."""
    hint = "resume from another checkpoint, or without resume"
    payload = read_checkpoint(path, hint)
    missing = [key for key in ("ganlab_counters", "optimizer_states") if key not in payload]
    if missing:
        raise ConfigError(
            f"{path} lacks {', '.join(missing)}: it was not written by ganlab-train's "
            f"training loop (a weights-only export cannot resume training); {hint}"
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
