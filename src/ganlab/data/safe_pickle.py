"""An unpickler that rebuilds plain data and numpy arrays, and refuses everything else.

A pickle is a program: each global it names is imported and may be called with arguments the
file chooses, so `pickle.load` on a downloaded file runs whatever code the file asks for.
Datasets such as CIFAR-10 are distributed as pickles of dicts, lists, bytes, str, numbers and
ndarrays. Those need no global at all except the few callables numpy rebuilds arrays with
(and, for pickles from protocols 0-2, the way they spell bytes), so `ArrayUnpickler` admits
exactly those and raises `RefusedGlobal` for any other before anything is imported or called.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable

import numpy as np


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle asked for a global that plain data never needs; `name` is `module.name`."""

    def __init__(self, name: str) -> None:
        super().__init__(f"refused to load {name}")
        self.name = name


def _latin1_bytes(text: str, encoding: str) -> bytes:
    """`_codecs.encode(text, "latin1")`, how protocols 0-2 write non-empty bytes."""
    if encoding != "latin1":
        raise pickle.UnpicklingError(f"bytes written with codec {encoding!r}, not 'latin1'")
    return text.encode("latin1")


def _empty_bytes() -> bytes:
    """`bytes()`, how protocols 0-2 write b''."""
    return b""


def _array_globals() -> dict[tuple[str, str], Callable[..., object]]:
    """What numpy pickles arrays with, under numpy 1.x (`numpy.core`) and 2.x (`numpy._core`).

    The callables are taken from numpy's own pickling of an array, so they are the ones this
    numpy version has, wherever it keeps them.
    """
    reconstruct = np.empty(0).__reduce__()[0]  # protocols 0-4: _reconstruct + __setstate__
    frombuffer = np.empty(1).__reduce_ex__(5)[0]  # protocol 5: _frombuffer(buffer, ...)
    allowed: dict[tuple[str, str], Callable[..., object]] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _latin1_bytes,
        ("__builtin__", "bytes"): _empty_bytes,
        ("builtins", "bytes"): _empty_bytes,
    }
    for core in ("numpy.core", "numpy._core"):
        allowed[(f"{core}.multiarray", "_reconstruct")] = reconstruct
        allowed[(f"{core}.numeric", "_frombuffer")] = frombuffer
    return allowed


class ArrayUnpickler(pickle.Unpickler):
    """`pickle.Unpickler` limited to dicts, lists, tuples, bytes, str, numbers and ndarrays."""

    _allowed = _array_globals()

    def find_class(self, module: str, name: str) -> Callable[..., object]:
        """Admit only numpy's array rebuilders; any other global ends the load unimported."""
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise RefusedGlobal(f"{module}.{name}") from None
