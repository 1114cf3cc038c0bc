"""Constructor argument checks shared by the networks.

A bad value must fail when the network is built, with a message that names the argument,
the value and what is allowed, never later as a shape error deep inside ``forward``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from numbers import Integral, Real


def _is_int(value: object) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def positive_int(owner: str, name: str, value: object) -> int:
    """Return ``value`` as an int, or raise if it is not an integer >= 1."""
    if not _is_int(value) or value < 1:
        raise ValueError(f"{owner}: {name} {value!r} is invalid; use an integer >= 1")
    return int(value)


def _int_tuple(values: object) -> tuple[int, ...] | None:
    """``values`` as a tuple of integers >= 1, or None if it is not a sequence of them."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        return None
    values = tuple(values)
    if not all(_is_int(v) and v >= 1 for v in values):
        return None
    return tuple(int(v) for v in values)


def positive_ints(owner: str, name: str, values: object) -> tuple[int, ...]:
    """Return a list of layer sizes as a tuple, or raise if any is not an integer >= 1."""
    sizes = _int_tuple(values)
    if sizes is None:
        raise ValueError(
            f"{owner}: {name} {values!r} is invalid; use a list of integers >= 1, e.g. [400, 400]"
        )
    return sizes


def num_classes(owner: str, value: object) -> int:
    """Return the class count (0 = unconditional), or raise if it is not an integer >= 0."""
    if not _is_int(value) or value < 0:
        raise ValueError(
            f"{owner}: num_classes {value!r} is invalid; use 0 for an unconditional network "
            "or the dataset's number of classes"
        )
    return int(value)


def data_shape(owner: str, shape: object) -> tuple[int, ...]:
    """Return the data shape as a tuple; it comes from the datamodule, often as a list."""
    dims = _int_tuple(shape)
    if not dims:
        raise ValueError(
            f"{owner}: shape {shape!r} is invalid; use (C, H, W) for images or (D,) for points"
        )
    return dims


def image_shape(owner: str, shape: object) -> tuple[int, ...]:
    """The data shape, which must be ``(C, H, W)``: convolutional nets cannot take points."""
    dims = data_shape(owner, shape)
    if len(dims) != 3:
        raise ValueError(
            f"{owner}: shape {dims} is not an image shape (C, H, W); "
            "use the MLP nets (model=mlp_2d) for points"
        )
    return dims


def choice(owner: str, name: str, value: object, allowed: Sequence[str]) -> None:
    """Raise unless ``value`` is one of ``allowed``, listing the options."""
    if value not in allowed:
        options = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{owner}: {name} {value!r} is not supported; use one of {options}")


def flag(owner: str, name: str, value: object) -> bool:
    """Return a switch, or raise if it is not a bool (a YAML "false" string would be truthy)."""
    if not isinstance(value, bool):
        raise ValueError(f"{owner}: {name} {value!r} is invalid; use true or false")
    return value


def probability(owner: str, name: str, value: object) -> float:
    """Return a dropout rate, or raise if it is not a number in [0, 1)."""
    if not isinstance(value, Real) or isinstance(value, bool) or not 0.0 <= value < 1.0:
        raise ValueError(f"{owner}: {name} {value!r} is invalid; use a number in [0, 1)")
    return float(value)


def optional_positive(owner: str, name: str, value: object) -> float | None:
    """Return None or a finite number > 0, or raise naming the field."""
    if value is None:
        return None
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value <= 0:
        raise ValueError(f"{owner}: {name} {value!r} is invalid; use a number > 0 or null")
    return float(value)


SQUARE_BASES = (4, 7)


def square_image_geometry(owner: str, shape: Sequence[int]) -> tuple[tuple[int, ...], int, int]:
    """``(shape, base, k)`` for square images of ``base * 2**k`` pixels, base 4 or 7, k >= 1.

    Convolutional nets that double or halve the resolution per stage can only make such
    sizes; anything else is refused here, at construction, with the sizes that work.
    """
    dims = image_shape(owner, shape)
    _, height, width = dims
    if height != width:
        raise ValueError(
            f"{owner}: images of {height}x{width} pixels are not supported; the net needs "
            "square images, set data.resolution to one size"
        )
    for base in SQUARE_BASES:
        steps = height // base
        if height % base == 0 and steps >= 2 and steps & (steps - 1) == 0:
            return dims, base, steps.bit_length() - 1
    raise ValueError(
        f"{owner}: resolution {height} is not supported; use 4·2^k or 7·2^k pixels "
        "(28, 32, 64, 128, ...) or set data.resolution accordingly"
    )
