"""Checks on the composed config, run before anything heavy starts.

Rules are keyed by field name, so they hold in every config group, including the ones a
user adds: any ``lr`` must be positive, any ``betas`` a pair in [0, 1), and so on. Each
failure is a ``ConfigError`` naming the full dotted path and how to fix it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ganlab.errors import ConfigError

# Keys that moved, and where they live now: an old key gets one message naming its place.
MOVED = {
    "optim.n_critic": "phases.n_critic",
    "task.l1_weight": "task.objective.l1_weight",
}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive(value: Any) -> bool:
    return _is_number(value) and value > 0


def _non_negative(value: Any) -> bool:
    return _is_number(value) and value >= 0


def _positive_int(value: Any) -> bool:
    return _is_int(value) and value >= 1


def _non_negative_int(value: Any) -> bool:
    return _is_int(value) and value >= 0


def _betas(value: Any) -> bool:
    return (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(_is_number(b) and 0 <= b < 1 for b in value)
    )


def _unit_interval(value: Any) -> bool:
    return _is_number(value) and 0 <= value <= 1


def _decay(value: Any) -> bool:
    return _is_number(value) and 0 <= value < 1


# field name -> (check, what is expected, whether null is allowed)
RULES: dict[str, tuple[Callable[[Any], bool], str, bool]] = {
    "lr": (_positive, "a positive number", False),
    "betas": (_betas, "two numbers in [0, 1), e.g. [0.5, 0.999]", False),
    "momentum": (_non_negative, "a number >= 0", False),
    "weight_decay": (_non_negative, "a number >= 0", False),
    "n_critic": (_positive_int, "an integer >= 1", False),
    "unrolled_steps": (_non_negative_int, "an integer >= 0 (0: no unrolling)", False),
    "every": (_positive_int, "an integer >= 1 (1: every step; k: every k steps, value x k)", False),
    "batch_size": (_positive_int, "an integer >= 1", False),
    "resolution": (_positive_int, "an integer >= 1", False),
    "z_dim": (_positive_int, "an integer >= 1", False),
    "width": (_positive_int, "an integer >= 1", False),
    "limit": (_positive_int, "an integer >= 1 or null", True),
    "num_workers": (_non_negative_int, "an integer >= 0", False),
    "keep": (_non_negative_int, "an integer >= 0", False),
    "min_free_mb": (_non_negative, "a number >= 0", False),
    "max_g_steps": (_positive_int, "an integer >= 1 or null", True),
    "max_kimg": (_positive, "a positive number or null", True),
    "every_g_steps": (_positive_int, "an integer >= 1", False),
    "log_every": (_positive_int, "an integer >= 1", False),
    "num_samples": (_positive_int, "an integer >= 1", False),
    "ema_decay": (_decay, "a number in [0, 1)", False),
    "ema_kimg": (_positive, "a positive half-life in kimg or null", True),
    "ema_rampup": (_positive, "a positive number or null (StyleGAN2-ADA: 0.05)", True),
    "kimg": (_positive, "a positive number of kimg", False),
    "lr_end": (_positive, "a positive number or null", True),
    "beta2_end": (_decay, "a number in [0, 1) or null", True),
    "alpha": (_unit_interval, "a number in [0, 1]", False),
    "grad_clip": (_positive, "a positive number or null", True),
    "clip": (_positive, "a positive number or null", True),
    "weight": (_non_negative, "a number >= 0", False),
    "gamma": (_non_negative, "a number >= 0", False),
    "std": (_positive, "a positive number", False),
    "seed": (_is_int, "an integer", False),
    "torch_threads": (_positive_int, "an integer >= 1 or null (torch's default)", True),
    "pack": (_positive_int, "an integer >= 1 (1: no packing; 2: PacGAN2)", False),
    "l1_weight": (_non_negative, "a number >= 0 (pix2pix: 100)", False),
    "depth": (_positive_int, "an integer >= 1", False),
    "n_layers": (_positive_int, "an integer >= 1", False),
    "max_width": (_positive_int, "an integer >= 1", False),
    "num_images": (_positive_int, "an integer >= 1", False),
    "sigma": (_positive, "a positive number", False),
}


def _walk(node: Any, prefix: str) -> Iterator[tuple[str, str, Any]]:
    if isinstance(node, DictConfig):
        for key in node:
            if not prefix and key == "hydra":
                continue
            path = f"{prefix}.{key}" if prefix else str(key)
            try:
                value = node[key]
            except OmegaConfBaseException as exc:
                raise ConfigError(f"{path}: cannot be resolved ({exc.msg}). {_HINT}") from None
            yield from _walk_value(str(key), path, value)
    elif isinstance(node, ListConfig):
        for i, value in enumerate(node):
            yield from _walk(value, f"{prefix}[{i}]")


def _walk_value(key: str, path: str, value: Any) -> Iterator[tuple[str, str, Any]]:
    if isinstance(value, DictConfig | ListConfig) and key not in RULES:
        yield from _walk(value, path)
    else:
        if isinstance(value, ListConfig):
            value = OmegaConf.to_container(value)
        yield key, path, value


_RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+=,-]{0,127}")
_HINT = "Check the value on the command line or in the config file that sets it."


def _moved(key: str, value: Any = None) -> ConfigError:
    setting = "" if value is None else f"={value}"
    return ConfigError(
        f"{key}: this setting moved to {MOVED[key]}; write {MOVED[key]}{setting} instead"
    )


def check_moved_overrides(overrides: Sequence[str]) -> None:
    """Refuse command-line overrides of moved keys before Hydra composes (it would only say
    the key is unknown)."""
    for override in overrides:
        key, _, value = override.lstrip("+~").partition("=")
        if key in MOVED:
            raise _moved(key, value or None)


def validate(cfg: DictConfig) -> None:
    """Raise ``ConfigError`` for the first field that breaks a rule."""
    for key in MOVED:
        value = OmegaConf.select(cfg, key, default=None, throw_on_missing=False)
        if value is not None:
            raise _moved(key, value)
    for key, path, value in _walk(cfg, ""):
        if key not in RULES:
            continue
        check, expected, nullable = RULES[key]
        if value is None and nullable:
            continue
        if value is None or not check(value):
            raise ConfigError(f"{path}: expected {expected}, got {value!r}. {_HINT}")
    if not isinstance(cfg.name, str) or not _RUN_NAME.fullmatch(cfg.name):
        raise ConfigError(
            f"name: {cfg.name!r} is not a safe folder name; use letters, digits and . _ - + = , "
            "(it becomes outputs/<name>/)"
        )
    gan = cfg.gan
    if gan.max_g_steps is None and gan.max_kimg is None:
        raise ConfigError(
            "gan.max_g_steps and gan.max_kimg are both null: set one to bound the run."
        )
