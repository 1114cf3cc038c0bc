"""``read_image`` / ``image_header`` and the ``.npz`` readers on files each test builds itself.

Every bad file is refused with one ``DataError`` naming it; every odd but valid file (16-bit,
alpha, palette) decodes to the 8-bit pixels a person would expect.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from numpy.lib import format as npy_format
from PIL import Image, ImageFile

from ganlab.data import ImageFolderDataModule, image_header, read_image, read_npz_array
from ganlab.data.image_files import ALPHA_BACKGROUND, read_npz_header
from ganlab.errors import DataError


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(width: int, height: int, bit_depth: int, colour_type: int, raw: bytes) -> bytes:
    """A PNG written by hand: PIL cannot write 16-bit colour, nor a header it refuses to open."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(raw))
        + png_chunk(b"IEND", b"")
    )


def bomb(tmp: Path, side: int) -> Path:
    """A valid PNG header claiming side x side pixels in front of a few bytes of data."""
    path = tmp / f"bomb_{side}.png"
    path.write_bytes(png_bytes(side, side, 8, 0, bytes(64)))
    return path


def truncated(tmp: Path, suffix: str) -> Path:
    """Noise saved whole, then cut in half: the header still opens, the pixels do not."""
    path = tmp / f"cut{suffix}"
    noise = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    Image.fromarray(noise).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def saved(tmp: Path, name: str, image: Image.Image, **options: object) -> Path:
    path = tmp / name
    image.save(path, **options)
    return path


def saved_bytes(tmp: Path, name: str, data: bytes) -> Path:
    (tmp / name).write_bytes(data)
    return tmp / name


def palette(transparent: bool) -> Image.Image:
    """A P image of palette entry 1 (red); with ``transparent`` that entry is transparent."""
    image = Image.new("P", (4, 2), 1)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    if transparent:
        image.info["transparency"] = 1
    return image


def grey16(tmp: Path) -> Path:
    values = np.array([[0, 255, 257, 32896, 65280, 65535]], dtype=np.uint16)
    return saved(tmp, "grey16.png", Image.fromarray(values))


def rgb16(tmp: Path) -> Path:
    pixels = np.array([[[0, 1000, 65535], [32896, 256, 255]]], dtype=">u2")
    path = tmp / "rgb16.png"
    path.write_bytes(png_bytes(2, 1, 16, 2, b"\x00" + pixels.tobytes()))
    return path


def int32(tmp: Path, high: int) -> Path:
    values = np.array([[0, high]], dtype=np.int32)
    return saved(tmp, f"int32_{high}.tif", Image.fromarray(values))


WHITE = ALPHA_BACKGROUND
# (case, file maker, channels asked, the first row of pixels read, as [[...channels] ...]).
GOOD = [
    ("16-bit grey keeps the high byte", grey16, None, [[0], [0], [1], [128], [255], [255]]),
    ("16-bit grey to RGB", grey16, 3, [[v] * 3 for v in (0, 0, 1, 128, 255, 255)]),
    ("16-bit colour PNG", rgb16, None, [[0, 3, 255], [128, 1, 0]]),
    ("32-bit ints in 16-bit range", lambda t: int32(t, 65535), None, [[0], [255]]),
    (
        "RGBA fully transparent",
        lambda t: saved(t, "a.png", Image.new("RGBA", (2, 1), (255, 0, 0, 0))),
        None,
        [[WHITE] * 3] * 2,
    ),
    (
        "RGBA half transparent black",
        lambda t: saved(t, "b.png", Image.new("RGBA", (2, 1), (0, 0, 0, 128))),
        None,
        [[127] * 3] * 2,
    ),
    (
        "RGBA opaque stays",
        lambda t: saved(t, "c.png", Image.new("RGBA", (2, 1), (10, 20, 30, 255))),
        None,
        [[10, 20, 30]] * 2,
    ),
    (
        "LA transparent",
        lambda t: saved(t, "d.png", Image.new("LA", (2, 1), (0, 0))),
        None,
        [[WHITE]] * 2,
    ),
    (
        "L with a transparent key",
        lambda t: saved(t, "e.png", Image.new("L", (2, 1), 7), transparency=7),
        None,
        [[WHITE]] * 2,
    ),
    (
        "palette with transparency",
        lambda t: saved(t, "f.png", palette(True), transparency=1),
        None,
        [[WHITE] * 3] * 4,
    ),
    ("palette", lambda t: saved(t, "g.png", palette(False)), None, [[255, 0, 0]] * 4),
    ("palette to grey (luma)", lambda t: saved(t, "h.png", palette(False)), 1, [[76]] * 4),
]


@pytest.mark.parametrize(
    ("make", "channels", "row"), [c[1:] for c in GOOD], ids=[c[0] for c in GOOD]
)
def test_odd_files_decode_to_what_a_viewer_shows(
    tmp_path: Path, make: Callable[[Path], Path], channels: int | None, row: list[list[int]]
) -> None:
    path = make(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pixels = read_image(path, channels)
    assert pixels.dtype == np.uint8 and pixels.ndim == 3
    assert pixels[0].tolist() == row
    assert pixels.shape[-1] == (channels or image_header(path).channels)


# (case, file maker, text the one message holds besides the file's name).
BAD = [
    ("truncated PNG", lambda t: truncated(t, ".png"), "damaged or incomplete"),
    ("truncated JPEG", lambda t: truncated(t, ".jpg"), "damaged or incomplete"),
    ("truncated WebP", lambda t: truncated(t, ".webp"), "damaged"),
    ("not an image", lambda t: saved_bytes(t, "x.png", b"not a png"), "no image PIL reads"),
    ("bomb above the limit", lambda t: bomb(t, 10_000), "10000x10000 = 100,000,000 pixels"),
    ("bomb above twice the limit", lambda t: bomb(t, 20_000), "400,000,000 pixels"),
    ("32-bit values", lambda t: int32(t, 70_000), "32-bit values from 0 to 70000"),
    (
        "floating point",
        lambda t: saved(t, "f.tif", Image.fromarray(np.ones((2, 2), np.float32))),
        "floating-point pixels",
    ),
]


@pytest.mark.parametrize(("make", "expected"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_files_are_refused_naming_them(
    tmp_path: Path, make: Callable[[Path], Path], expected: str
) -> None:
    path = make(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PIL's DecompressionBombWarning included: no warning
        with pytest.raises(DataError, match=re.escape(str(path))) as caught:
            read_image(path)
    assert expected in str(caught.value)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_bombs_are_refused_from_the_header(tmp_path: Path) -> None:
    """The header check alone refuses them; the limit itself is left as it was."""
    limit = Image.MAX_IMAGE_PIXELS
    message = "100,000,000 pixels, above PIL.Image.MAX_IMAGE_PIXELS"
    with pytest.raises(DataError, match=re.escape(message)):
        image_header(bomb(tmp_path, 10_000))
    assert limit == Image.MAX_IMAGE_PIXELS
    assert image_header(bomb(tmp_path, 100)) == (100, 100, 1)


def test_image_folder_decodes_through_read_image(tmp_path: Path) -> None:
    saved(tmp_path, "a.png", Image.new("RGBA", (8, 8), (255, 0, 0, 0)))
    grey16(tmp_path)
    dm = ImageFolderDataModule(root=str(tmp_path), resolution=4, channels=1, batch_size=1)
    dm.setup()
    assert dm.images[0].unique().tolist() == [WHITE]  # transparent red: white, not red
    truncated(tmp_path, ".png")
    with pytest.raises(DataError, match=re.escape(str(tmp_path / "cut.png"))):
        ImageFolderDataModule(root=str(tmp_path), resolution=4, batch_size=1).setup()


def npy_member(shape: tuple[int, ...], descr: str = "|u1", data: bytes = bytes(16)) -> bytes:
    """A .npy file: a header saying ``shape`` and ``descr`` whatever the data that follows."""
    buf = io.BytesIO()
    npy_format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue() + data


def zipped(tmp: Path, name: str, members: dict[str, bytes]) -> Path:
    path = tmp / name
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return path


def npz_of(tmp: Path, name: str, **arrays: np.ndarray) -> Path:
    np.savez(tmp / name, **arrays)
    return tmp / name


def cut_npz(tmp: Path) -> Path:
    path = npz_of(tmp, "cut.npz", images=np.zeros((4, 8, 8, 3), np.uint8))
    path.write_bytes(path.read_bytes()[:200])
    return path


def plain_npy(tmp: Path) -> Path:
    path = tmp / "plain.npz"
    with path.open("wb") as f:
        np.save(f, np.zeros((4, 8, 8), np.uint8))
    return path


NPZ_BAD = [
    (
        "claims a terabyte",
        lambda t: zipped(t, "big.npz", {"images.npy": npy_member((10**15,))}),
        "claims shape (1000000000000000,) uint8, 909.5 TiB, more than the",
    ),
    (
        "claims more than it stores",
        lambda t: zipped(t, "short.npz", {"images.npy": npy_member((4, 8, 8, 3))}),
        "768 B, but the file stores 16 B",
    ),
    (
        "object array",
        lambda t: npz_of(t, "obj.npz", images=np.array([{"a": 1}, None], dtype=object)),
        "holds Python objects",
    ),
    ("a .npy, not .npz", plain_npy, "is a single .npy array, not an .npz archive"),
    ("text", lambda t: saved_bytes(t, "text.npz", b"hello"), "is not a zip file"),
    ("cut short", cut_npz, "is not a zip file, or a truncated one"),
    ("no arrays", lambda t: zipped(t, "none.npz", {"notes.txt": b"hi"}), "holds no arrays"),
    (
        "bad header",
        lambda t: zipped(t, "hdr.npz", {"images.npy": b"\x93NUMPY\x09\x00"}),
        "is not a readable .npz file",
    ),
]


@pytest.mark.parametrize(
    ("make", "expected"), [c[1:] for c in NPZ_BAD], ids=[c[0] for c in NPZ_BAD]
)
def test_bad_npz_files_are_refused_from_the_header(
    tmp_path: Path, make: Callable[[Path], Path], expected: str
) -> None:
    path = make(tmp_path)
    with pytest.raises(DataError, match=re.escape(str(path))) as caught:
        read_npz_array(path)
    assert expected in str(caught.value)


def test_npz_reads_images_or_the_first_array(tmp_path: Path) -> None:
    images = np.arange(24, dtype=np.uint8).reshape(2, 3, 4, 1)
    both = npz_of(tmp_path, "both.npz", labels=np.zeros(2), images=images)
    assert np.array_equal(read_npz_array(both), images)
    assert read_npz_header(both) == ("images", (2, 3, 4, 1), np.dtype(np.uint8))
    other = npz_of(tmp_path, "other.npz", samples=images)
    assert read_npz_header(other).key == "samples"
    np.savez_compressed(tmp_path / "packed.npz", images=images)
    assert np.array_equal(read_npz_array(tmp_path / "packed.npz"), images)
