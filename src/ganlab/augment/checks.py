"""The checks every augment makes of its settings and of the data it is given."""

from __future__ import annotations

import math


def check_probability(field: str, value: object) -> None:
    """Raise unless ``value`` is a number in [0, 1]."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not 0 <= value <= 1:
        raise ValueError(f"{field}: expected a probability in [0, 1], got {value!r}")


def check_images(name: str, shape: tuple[int, ...]) -> None:
    """Raise unless samples of ``shape`` are images (C, H, W)."""
    if len(shape) != 3:
        raise ValueError(
            f"augment: {name} transforms images, but the data's samples have shape "
            f"{list(shape)}; use augment=none for points"
        )
