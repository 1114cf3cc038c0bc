"""Metrics are never computed from the wrong data: cached real features and domain
evaluators belong to the images they were made from, not to a dataset's name."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganlab.callbacks.metrics import SampleMetrics, load_domain_evaluator
from ganlab.data import DigitsDataModule, ImageFolderDataModule
from ganlab.data.identity import default_evaluator_path, evaluator_record, images_fingerprint
from ganlab.errors import ConfigError, MetricsError
from ganlab.metrics import save_evaluator, train_domain_classifier
from tests.conftest import ROOT


def write_folder(folder: Path, images: np.ndarray) -> Path:
    """Grey PNGs in one class folder."""
    (folder / "a").mkdir(parents=True)
    for index, image in enumerate(images):
        Image.fromarray(image).save(folder / "a" / f"{index:03d}.png")
    return folder


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two folders of 40 32x32 digits each, different images at the same resolution."""
    images, _ = DigitsDataModule(resolution=32).real_images("train", 80)
    pixels = images[:, 0].numpy()
    base = tmp_path_factory.mktemp("folders")
    return write_folder(base / "one", pixels[:40]), write_folder(base / "two", pixels[40:])


def folder_data(root: Path) -> ImageFolderDataModule:
    return ImageFolderDataModule(root=str(root), resolution=32, channels=1)


@pytest.fixture(scope="module")
def evaluator_one(folders: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A quick evaluator for folder one, saved where `auto` looks for it."""
    data = folder_data(folders[0])
    x, y = data.real_images("train")
    model, _ = train_domain_classifier(x, y, x, y, epochs=1, batch_size=20)
    path = default_evaluator_path(tmp_path_factory.mktemp("evaluators"), data)
    save_evaluator(path, model, {**evaluator_record(data), "test_accuracy": 1.0})
    return path


def test_evaluators_of_two_folders_have_two_files(folders: tuple[Path, Path]) -> None:
    one, two = (default_evaluator_path("e", folder_data(f)) for f in folders)
    assert one != two and one.name.startswith("image_folder-") and one.name.endswith("_32px.pt")
    assert default_evaluator_path("e", DigitsDataModule()).name == "digits_32px.pt"


def test_the_evaluator_of_the_data_itself_is_accepted(
    folders: tuple[Path, Path], evaluator_one: Path
) -> None:
    extractor = load_domain_evaluator(folder_data(folders[0]), "auto", str(evaluator_one.parent))
    assert extractor.path == str(evaluator_one)


def test_an_evaluator_of_another_folder_is_refused_naming_both(
    folders: tuple[Path, Path], evaluator_one: Path
) -> None:
    with pytest.raises(MetricsError) as caught:
        load_domain_evaluator(folder_data(folders[1]), str(evaluator_one), "unused")
    message = str(caught.value)
    assert str(folders[0].resolve()) in message and str(folders[1].resolve()) in message
    assert "ganlab-train-evaluator data=image_folder data.root=" in message


def test_auto_finds_no_evaluator_for_another_folder(
    folders: tuple[Path, Path], evaluator_one: Path
) -> None:
    with pytest.raises(ConfigError, match=r"no evaluator at .*image_folder-"):
        load_domain_evaluator(folder_data(folders[1]), "auto", str(evaluator_one.parent))


@pytest.mark.parametrize("change", ["edit_a_file", "other_settings_and_folder", "older_evaluator"])
def test_an_evaluator_for_changed_data_is_refused(
    folders: tuple[Path, Path], tmp_path: Path, change: str
) -> None:
    source = folders[0]
    images = np.stack([np.asarray(Image.open(p)) for p in sorted((source / "a").glob("*.png"))])
    data = folder_data(write_folder(tmp_path / "data", images))
    x, y = data.real_images("train")
    model, _ = train_domain_classifier(x, y, x, y, epochs=1, batch_size=20)
    record = evaluator_record(data)
    if change == "older_evaluator":
        record = {"dataset": record["dataset"]}
    path = tmp_path / "evaluator.pt"
    save_evaluator(path, model, {**record, "test_accuracy": 1.0})
    if change == "edit_a_file":
        first = tmp_path / "data" / "a" / "000.png"
        Image.fromarray(255 - np.asarray(Image.open(first))).save(first)
        data = folder_data(tmp_path / "data")
        match = "test images sha256"
    elif change == "other_settings_and_folder":
        shutil.copytree(tmp_path / "data", tmp_path / "copy")
        data = ImageFolderDataModule(root=str(tmp_path / "copy"), resolution=32, channels=3)
        match = "channels=3"
    else:
        match = "older ganlab"
    with pytest.raises(MetricsError, match=match):
        load_domain_evaluator(data, str(path), "unused")


def test_other_settings_of_the_same_data_are_accepted(
    evaluator_one: Path, folders: tuple[Path, Path]
) -> None:
    """A 32 px grey evaluator measures RGB samples of its folder: inputs are converted to it."""
    rgb = ImageFolderDataModule(root=str(folders[0]), resolution=32, channels=3)
    assert load_domain_evaluator(rgb, str(evaluator_one), "unused").path == str(evaluator_one)


def test_real_features_of_two_folders_are_cached_apart(
    folders: tuple[Path, Path], evaluator_one: Path, tmp_path: Path
) -> None:
    metrics = SampleMetrics(
        evaluator=str(evaluator_one), num_samples=40, chunk_size=20, cache_dir=str(tmp_path)
    )
    one = folder_data(folders[0])
    metrics.check(one)
    first = metrics._real_features(one)
    assert len(list(tmp_path.glob("features-*.pt"))) == 1
    two = folder_data(folders[1])
    second = metrics._real_features(two)  # same name, resolution and extractor: other images
    assert len(list(tmp_path.glob("features-*.pt"))) == 2
    assert not torch.equal(first, second)
    assert torch.equal(metrics._real_features(one), first)  # and each is reused


def test_the_fingerprint_is_of_the_pixels_and_the_shape() -> None:
    images = torch.zeros(4, 1, 8, 8, dtype=torch.uint8)
    changed = images.clone()
    changed[3, 0, 7, 7] = 1
    assert images_fingerprint(images) == images_fingerprint(images.clone())
    assert images_fingerprint(images) != images_fingerprint(changed)
    assert images_fingerprint(images) != images_fingerprint(images.view(4, 1, 4, 16))


def test_training_with_another_folders_evaluator_stops_before_training(
    folders: tuple[Path, Path], evaluator_one: Path, tmp_path: Path
) -> None:
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "ganlab-train"),
            "data=image_folder",
            f"data.root={folders[1]}",
            "data.resolution=32",
            "data.channels=1",
            "model=mlp",
            "metrics=domain",
            f"metrics.evaluator={evaluator_one}",
            "logger=csv",
            "callbacks=quiet",
            f"paths.output_root={tmp_path}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert f"trained on 'image_folder' in {folders[0].resolve()}" in done.stderr
    assert not list(tmp_path.rglob("*.ckpt"))
