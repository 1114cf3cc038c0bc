"""Reader for the IDX format of (Fashion-)MNIST, plain or gzip-compressed.

Our own reader instead of torchvision's: it reads the Debian package's files directly, and a
truncated download or a wrong file fails here with the file's name instead of a reshape error.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from ganlab.errors import DataError

_GZIP_MAGIC = b"\x1f\x8b"
_UBYTE = 0x08  # IDX type code for unsigned bytes, the only one (Fashion-)MNIST uses


def _read_bytes(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            raw = handle.read()
        return gzip.decompress(raw) if raw[:2] == _GZIP_MAGIC else raw
    except FileNotFoundError:
        raise DataError(f"IDX file {path} does not exist") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"IDX file {path} is not readable ({exc}); the download is probably incomplete: "
            "delete the file and fetch it again"
        ) from exc


def read_idx(path: str | Path, ndim: int | None = None) -> np.ndarray:
    """Read an unsigned-byte IDX file into a uint8 array of the shape its header states.

    `ndim` (1 for labels, 3 for images) makes the magic number check strict:
    0x00000801 for labels, 0x00000803 for images. Gzip is detected from the content, so
    a decompressed file that kept its `.gz` name still reads.
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise DataError(
            f"IDX file {path} is truncated: {len(data)} bytes, shorter than the 4-byte magic "
            "number; delete it and fetch it again"
        )
    zero, dtype, dims = int.from_bytes(data[:2], "big"), data[2], data[3]
    expected = f"0x{_UBYTE << 8 | ndim:08x}" if ndim is not None else "0x0000080N"
    if zero != 0 or dtype != _UBYTE or dims == 0 or (ndim is not None and dims != ndim):
        raise DataError(
            f"IDX file {path} has magic number 0x{data[:4].hex()}, expected {expected}: "
            "it is not an unsigned-byte IDX file of this kind; check the file name and source"
        )
    header = 4 + 4 * dims
    if len(data) < header:
        raise DataError(
            f"IDX file {path} is truncated inside its header ({len(data)} of {header} bytes); "
            "delete it and fetch it again"
        )
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    expected_len = header + math.prod(shape)
    if len(data) != expected_len:
        state = "truncated" if len(data) < expected_len else "longer than its header says"
        raise DataError(
            f"IDX file {path} is {state}: header shape {shape} needs {expected_len} bytes, "
            f"found {len(data)}; delete it and fetch it again"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()
