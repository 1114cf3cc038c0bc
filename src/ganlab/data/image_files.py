"""Reading a user's image files (png, jpg, ...) and ``.npz`` arrays of images, or saying why not.

PIL is lenient in ways that silently change a data set: it opens files lazily, so a truncated
file only fails (or, with ``ImageFile.LOAD_TRUNCATED_IMAGES``, is padded) when its pixels are
read; a 16-bit greyscale PNG converted to 8 bits is clipped at 255, which turns it almost
white; converting away an alpha channel keeps whatever colour the transparent pixels happen
to hold; and an image above ``Image.MAX_IMAGE_PIXELS`` only warns. ``read_image`` decodes the
whole file, scales 16 bits to 8 by range, composites transparency on white and refuses
damaged files and decompression bombs with a ``DataError`` naming the file. ``read_npz_header``
checks an ``.npz`` member from its header alone, before any memory is allocated for it.
"""

from __future__ import annotations

import math
import os
import re
import threading
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np
from numpy.lib import format as npy_format
from PIL import Image, UnidentifiedImageError

from ganlab.errors import DataError

# Transparent pixels become this colour: how a transparent image looks in a browser or viewer.
ALPHA_BACKGROUND = 255
GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N"})
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
# What PIL raises for a damaged file while decoding its pixels.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, zlib.error)
_NPZ_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error)
# ``warnings.catch_warnings`` swaps process-wide state; decoding threads take turns with it.
_OPEN_LOCK = threading.Lock()


class ImageHeader(NamedTuple):
    """What an image file's header says: its size and channel count (1 grey, 3 colour)."""

    width: int
    height: int
    channels: int


class NpyHeader(NamedTuple):
    """One array of an ``.npz`` file as its header describes it."""

    key: str
    shape: tuple[int, ...]
    dtype: np.dtype


def image_header(path: str | os.PathLike[str]) -> ImageHeader:
    """Size and channels from the header alone: cheap checks of a folder before decoding it.

    Raises ``DataError`` for files PIL cannot identify, decompression bombs and pixel
    formats ``read_image`` does not decode.
    """
    with _open(Path(path)) as image:
        return ImageHeader(image.width, image.height, 1 if image.mode in GREY_MODES else 3)


def read_image(path: str | os.PathLike[str], channels: int | None = None) -> np.ndarray:
    """Every pixel of an image file as uint8 ``[H, W, C]``, or a ``DataError`` naming the file.

    ``channels`` is 1 (greyscale, PIL's luma of colour files) or 3 (RGB, grey repeated);
    None keeps the file's own: 1 for greyscale files, 3 for the rest. 16-bit pixels keep
    their high byte (65535 becomes 255, as PIL does for 16-bit colour PNGs), palettes are
    looked up, and transparent or translucent pixels are composited on white
    (``ALPHA_BACKGROUND``). Truncated files, decompression bombs (more pixels than
    ``PIL.Image.MAX_IMAGE_PIXELS``) and floating-point or 32-bit images are refused.
    """
    if channels not in (None, 1, 3):
        raise ValueError(f"channels={channels!r}: use 1, 3 or None")
    path = Path(path)
    with _open(path) as image:
        try:
            image.load()
        except _DECODE_ERRORS as exc:
            raise DataError(
                f"image {path} cannot be decoded: it is damaged or incomplete ({exc}); "
                "delete or replace the file"
            ) from None
        grey = image.mode in GREY_MODES
        image = _eight_bit(path, image)
        if image.mode in _ALPHA_MODES or "transparency" in image.info:
            image = _composite(image.convert("LA" if grey else "RGBA"))
        wanted = channels or (1 if grey else 3)
        image = image.convert("L" if wanted == 1 else "RGB")
    array = np.asarray(image, dtype=np.uint8)
    return array[..., None] if array.ndim == 2 else array


def _open(path: Path) -> Image.Image:
    """Open lazily (header only), refusing decompression bombs with their pixel count."""
    limit = Image.MAX_IMAGE_PIXELS
    try:
        with _OPEN_LOCK, warnings.catch_warnings():
            # Refused below with a clear message instead of PIL's warning on stderr.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        pixels = f"{int(found[1]):,}" if found else f"more than {2 * limit:,}"
        raise DataError(_bomb_message(path, pixels, limit)) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(
            f"image {path} cannot be decoded: it is no image PIL reads, or a damaged one "
            f"({exc}); delete or replace the file"
        ) from None
    if limit is not None and image.width * image.height > limit:
        image.close()
        pixels = f"{image.width}x{image.height} = {image.width * image.height:,}"
        raise DataError(_bomb_message(path, pixels, limit))
    if image.mode == "F":
        image.close()
        raise DataError(
            f"image {path} holds floating-point pixels (PIL mode F), which have no fixed "
            "range to scale to 8 bits; save it as an 8- or 16-bit PNG"
        )
    return image


def _bomb_message(path: Path, pixels: str, limit: int) -> str:
    return (
        f"image {path} is refused: {pixels} pixels, above PIL.Image.MAX_IMAGE_PIXELS "
        f"({limit:,}), PIL's guard against decompression bombs; shrink or remove the file"
    )


def _eight_bit(path: Path, image: Image.Image) -> Image.Image:
    """16-bit greyscale (modes I;16*, and I holding 16-bit values) reduced to mode L (or LA)."""
    if not image.mode.startswith("I"):
        return image
    values = np.asarray(image)
    low, high = int(values.min()), int(values.max())
    if low < 0 or high > 65535:
        raise DataError(
            f"image {path} holds 32-bit values from {low} to {high}, beyond 16 bits; save "
            "it as an 8- or 16-bit PNG"
        )
    grey = Image.fromarray((values.astype(np.uint16) >> 8).astype(np.uint8), "L")
    key = image.info.get("transparency")
    if isinstance(key, int):
        grey.putalpha(Image.fromarray(np.where(values == key, 0, 255).astype(np.uint8), "L"))
    return grey


def _composite(image: Image.Image) -> Image.Image:
    """An LA or RGBA image blended onto the ``ALPHA_BACKGROUND`` colour, as L or RGB."""
    base = image.mode[:-1]
    background = Image.new(base, image.size, (ALPHA_BACKGROUND,) * len(base))
    background.paste(image.convert(base), mask=image.getchannel("A"))
    return background


def read_npz_header(path: str | os.PathLike[str], key: str = "images") -> NpyHeader:
    """The header of array ``key`` (or, without it, the first) of an ``.npz`` file.

    Refuses, before allocating anything, a file that is no ``.npz`` archive, an array of
    Python objects (``allow_pickle`` stays off), and a header claiming more bytes than the
    memory available or than the archive stores, as a damaged or hostile header can.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist or is not a file; give an .npz file")
    if not zipfile.is_zipfile(path):
        with path.open("rb") as f:
            single = f.read(len(npy_format.MAGIC_PREFIX)) == npy_format.MAGIC_PREFIX
        what = "is a single .npy array" if single else "is not a zip file, or a truncated one"
        raise DataError(
            f"{path} {what}, not an .npz archive; write it with numpy.savez(file, images=...)"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            keys = [n.removesuffix(".npy") for n in archive.namelist() if n.endswith(".npy")]
            if not keys:
                raise DataError(f"{path} holds no arrays; write it with numpy.savez")
            key = key if key in keys else keys[0]
            info = archive.getinfo(f"{key}.npy")
            with archive.open(info) as member:
                version = npy_format.read_magic(member)
                if version == (1, 0):
                    shape, _, dtype = npy_format.read_array_header_1_0(member)
                elif version == (2, 0):
                    shape, _, dtype = npy_format.read_array_header_2_0(member)
                else:
                    raise ValueError(f"unsupported .npy format version {version}")
                stored = info.file_size - member.tell()
    except _NPZ_ERRORS as exc:
        raise DataError(
            f"{path} is not a readable .npz file ({exc}); write it again with numpy.savez"
        ) from None
    if dtype.hasobject:
        raise DataError(
            f"{path}: array {key!r} holds Python objects (dtype {dtype}), which are never "
            "loaded since that would run pickled code; save a numeric array instead"
        )
    claimed, available = math.prod(shape) * dtype.itemsize, _available_memory()
    if claimed > available:
        raise DataError(
            f"{path}: array {key!r} claims shape {shape} {dtype}, {_format_bytes(claimed)}, "
            f"more than the {_format_bytes(available)} of memory available; the file is "
            "damaged or far larger than intended, write a smaller one"
        )
    if claimed > stored:
        raise DataError(
            f"{path}: array {key!r} claims shape {shape} {dtype}, {_format_bytes(claimed)}, "
            f"but the file stores {_format_bytes(stored)} of it; the file is damaged or "
            "incomplete, write it again with numpy.savez"
        )
    return NpyHeader(key, shape, dtype)


def read_npz_array(path: str | os.PathLike[str], key: str = "images") -> np.ndarray:
    """Array ``key`` (or the first) of an ``.npz`` file, after ``read_npz_header``'s checks."""
    path = Path(path)
    header = read_npz_header(path, key)
    try:
        with np.load(path, allow_pickle=False) as data:
            return data[header.key]
    except _NPZ_ERRORS as exc:
        raise DataError(
            f"{path}: array {header.key!r} cannot be read ({exc}); the file is damaged or "
            "incomplete, write it again with numpy.savez"
        ) from None


def _available_memory() -> int:
    """Bytes this process could still allocate: MemAvailable, capped by a cgroup limit."""
    found = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
        if limit != "max":
            found.append(max(0, int(limit) - int(used)))
    except (OSError, ValueError):
        pass
    if not found:
        found.append(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    return min(found)


def _format_bytes(count: int) -> str:
    """A byte count as a person reads it: 931.3 GiB, 12.0 MiB, 512 B."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} B"
