"""Bad data files, as a table: each stops ``train()`` before training with one message naming
the file, and writes nothing. (The command line's exit codes are tested in test_cli.py.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from ganlab.errors import DataError
from ganlab.train import train

from .conftest import TINY, ComposeFn


def _folder(tmp: Path, files: dict[str, bytes | tuple[int, int]]) -> list[str]:
    """An image folder: bytes are written as they are, a (w, h) pair is a grey PNG."""
    root = tmp / "images"
    root.mkdir()
    for name, content in files.items():
        if isinstance(content, bytes):
            (root / name).write_bytes(content)
        else:
            Image.new("L", content, 128).save(root / name)
    return ["data=image_folder", f"data.root={root}", "data.channels=1", "data.resolution=32"]


def _idx(tmp: Path, images: bytes) -> list[str]:
    """A Fashion-MNIST root holding ``images`` as its training images and 4 valid labels."""
    root = tmp / "fashion"
    root.mkdir()
    (root / "train-images-idx3-ubyte").write_bytes(images)
    labels = (0x801).to_bytes(4, "big") + (4).to_bytes(4, "big") + bytes(4)
    (root / "train-labels-idx1-ubyte").write_bytes(labels)
    return ["data=fashion_mnist", f"data.root={root}", f"data.system_root={tmp / 'none'}"]


IMAGE_HEADER = (0x803).to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in (4, 28, 28))

CASES: list[tuple[str, Callable[[Path], list[str]], str]] = [
    ("empty folder", lambda tmp: _folder(tmp, {}), "holds no images"),
    (
        "corrupt image",
        lambda tmp: _folder(tmp, {"a.png": (32, 32), "b.png": b"\x89PNG\r\n\x1a\n broken"}),
        "b.png cannot be decoded",
    ),
    (
        "truncated IDX",
        lambda tmp: _idx(tmp, IMAGE_HEADER + bytes(28 * 28 * 2)),
        "train-images-idx3-ubyte is truncated",
    ),
    (
        "wrong-magic IDX",
        lambda tmp: _idx(tmp, b"\x89PNG" + bytes(100)),
        "has magic number 0x89504e47",
    ),
    (
        "truncated gzip IDX",
        lambda tmp: _idx(tmp, b"\x1f\x8b\x08\x00" + bytes(20)),
        "the download is probably incomplete",
    ),
]


@pytest.mark.parametrize(("make", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_data_files_are_named_before_training(
    compose_cfg: ComposeFn, tmp_path: Path, make: Callable[[Path], list[str]], expected: str
) -> None:
    cfg = compose_cfg(*TINY, *make(tmp_path), "model=mlp")
    with pytest.raises(DataError, match=expected):
        train(cfg)
    assert not Path(cfg.paths.run_dir).exists()


def test_mixed_sizes_are_cropped_and_resized_not_refused(
    compose_cfg: ComposeFn, tmp_path: Path
) -> None:
    """Photo folders mix sizes; each image's centred square is resized to data.resolution."""
    overrides = _folder(tmp_path, {"wide.png": (64, 40), "tall.png": (30, 50), "s.png": (8, 8)})
    summary = train(compose_cfg(*TINY, *overrides, "model=mlp", "data.batch_size=3"))
    assert summary["g_steps"] == 2
