"""Image folders: class discovery, decoding, cropping and the errors for bad folders."""

import re
from pathlib import Path

import pytest
import torch
from PIL import Image

from ganlab.data import ImageFolderDataModule
from ganlab.errors import DataError


def solid(path: Path, color: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)


@pytest.fixture
def classed(tmp_path) -> Path:
    solid(tmp_path / "cat" / "a.png", (255, 0, 0))
    solid(tmp_path / "cat" / "nested" / "b.jpg", (250, 0, 0))
    solid(tmp_path / "dog" / "c.bmp", (0, 0, 255))
    solid(tmp_path / "dog" / "d.webp", (0, 0, 255))
    solid(tmp_path / "dog" / ".hidden.png", (0, 255, 0))
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    return tmp_path


def test_class_subfolders_give_labels(classed):
    dm = ImageFolderDataModule(root=str(classed), resolution=16, batch_size=2)
    assert dm.classes == ["cat", "dog"] and dm.num_classes == 2
    assert dm.shape == (3, 16, 16) and dm.name == "image_folder"
    dm.setup()
    assert dm.images.shape == (4, 3, 16, 16) and dm.images.dtype == torch.uint8
    assert dm.labels.tolist() == [0, 0, 1, 1]
    assert (dm.images[0, 0] == 255).all() and (dm.images[0, 1:] == 0).all()
    assert (dm.images[3, 2] == 255).all()  # dog (blue); the hidden green file is skipped
    x, y = dm.real_images("test")
    assert torch.equal(x, dm.images) and torch.equal(y, dm.labels)
    xb, _ = dm.on_after_batch_transfer(next(iter(dm.train_dataloader())), 0)
    assert xb.shape == (2, 3, 16, 16) and xb.min() >= -1 and xb.max() <= 1


def test_images_in_root_mean_unlabelled(tmp_path):
    solid(tmp_path / "top.png", (10, 20, 30))
    solid(tmp_path / "sub" / "inner.png", (10, 20, 30))
    dm = ImageFolderDataModule(root=str(tmp_path), resolution=8, batch_size=1)
    assert dm.num_classes == 0
    dm.setup()
    assert dm.labels.tolist() == [-1, -1]


def test_grayscale_conversion_and_limit(classed):
    dm = ImageFolderDataModule(root=str(classed), resolution=8, channels=1, limit=3, batch_size=1)
    assert dm.shape == (1, 8, 8)
    dm.setup()
    assert dm.images.shape == (3, 1, 8, 8)
    assert (dm.images[0] == 76).all()  # luma of pure red: 0.299 * 255
    with pytest.raises(DataError, match="channels=2"):
        ImageFolderDataModule(root=str(classed), resolution=8, channels=2)


def test_center_crop_keeps_the_middle(tmp_path):
    image = Image.new("RGB", (90, 30), (0, 255, 0))
    image.paste((255, 0, 0), (0, 0, 20, 30))
    image.paste((0, 0, 255), (70, 0, 90, 30))
    image.save(tmp_path / "wide.png")
    cropped = ImageFolderDataModule(root=str(tmp_path), resolution=8, batch_size=1)
    cropped.setup()
    assert (cropped.images[0, 1] == 255).all() and (cropped.images[0, [0, 2]] == 0).all()
    squeezed = ImageFolderDataModule(
        root=str(tmp_path), resolution=9, center_crop=False, batch_size=1
    )
    squeezed.setup()
    assert squeezed.images[0, 0, :, 0].min() > 200  # left column stays red
    assert squeezed.images[0, 2, :, -1].min() > 200  # right column stays blue


def test_missing_and_empty_folders(tmp_path):
    missing = tmp_path / "absent"
    with pytest.raises(DataError, match=rf"{re.escape(str(missing))}.*not an existing directory"):
        _ = ImageFolderDataModule(root=str(missing), resolution=8).num_classes
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataError, match=rf"{re.escape(str(tmp_path))} holds no images"):
        ImageFolderDataModule(root=str(tmp_path), resolution=8).setup()


def test_corrupt_file_is_named(classed):
    bad = classed / "dog" / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    with pytest.raises(DataError, match=rf"image {re.escape(str(bad))} cannot be decoded"):
        ImageFolderDataModule(root=str(classed), resolution=8).setup()
