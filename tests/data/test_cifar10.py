"""CIFAR-10 on small python-format batches written here."""

import codecs
import os
import pickle
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from ganlab.data import CIFAR10DataModule
from ganlab.data import cifar10 as cifar_module
from ganlab.errors import DataError


def write_batch(
    path: Path, data: np.ndarray, labels: list[int], protocol: int = pickle.DEFAULT_PROTOCOL
) -> None:
    with path.open("wb") as handle:
        batch = {b"batch_label": b"x", b"data": data, b"labels": labels, b"filenames": [b""]}
        pickle.dump(batch, handle, protocol=protocol)


def write_cifar(folder: Path, per_batch: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Five train batches and a test batch; returns the train images and labels."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    images, labels = [], []
    for i in range(1, 6):
        data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        y = [int(v) for v in rng.integers(0, 10, per_batch)]
        write_batch(folder / f"data_batch_{i}", data, y)
        images.append(data)
        labels += y
    write_batch(folder / "test_batch", np.full((3, 3072), 7, np.uint8), [1, 2, 3])
    return np.concatenate(images).reshape(-1, 3, 32, 32), np.array(labels)


@pytest.fixture
def offline(monkeypatch):
    def fail(root):
        raise OSError("no network in tests")

    monkeypatch.setattr(cifar_module, "torchvision_download", fail)


def test_reads_official_layout(tmp_path, offline):
    images, labels = write_cifar(tmp_path / "cifar-10-batches-py")
    dm = CIFAR10DataModule(root=str(tmp_path), batch_size=5)
    assert (dm.name, dm.shape, dm.num_classes) == ("cifar10", (3, 32, 32), 10)
    dm.setup()
    assert dm.images.dtype == torch.uint8 and dm.images.shape == (20, 3, 32, 32)
    assert torch.equal(dm.images, torch.from_numpy(images))
    assert dm.labels.tolist() == labels.tolist()
    x, y = dm.real_images("test")
    assert x.shape == (3, 3, 32, 32) and (x == 7).all() and y.tolist() == [1, 2, 3]
    xb, _ = dm.on_after_batch_transfer(next(iter(dm.train_dataloader())), 0)
    assert xb.shape == (5, 3, 32, 32) and xb.dtype == torch.float32
    assert xb.min() >= -1 and xb.max() <= 1


def test_root_may_be_the_batches_folder_and_grey_conversion(tmp_path, offline):
    write_cifar(tmp_path)
    dm = CIFAR10DataModule(root=str(tmp_path), channels=1, resolution=16, limit=6, batch_size=2)
    dm.setup()
    assert dm.shape == (1, 16, 16) and dm.images.shape == (6, 1, 16, 16)


def test_missing_reports_paths_and_download_reason(tmp_path, offline):
    with pytest.raises(DataError) as info:
        CIFAR10DataModule(root=str(tmp_path)).setup()
    message = str(info.value)
    assert f"{tmp_path}/cifar-10-batches-py" in message and "data_batch_1" in message
    assert "no network in tests" in message


def test_damaged_batch_names_the_file(tmp_path, offline):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar(folder)
    (folder / "data_batch_3").write_bytes(b"not a pickle")
    with pytest.raises(
        DataError, match=rf"{re.escape(str(folder / 'data_batch_3'))} is not readable"
    ):
        CIFAR10DataModule(root=str(tmp_path)).setup()
    write_batch(folder / "data_batch_3", np.zeros((4, 100), np.uint8), [0] * 4)
    with pytest.raises(DataError, match=r"data_batch_3 has no uint8 \[N, 3072\]"):
        CIFAR10DataModule(root=str(tmp_path)).setup()
    write_batch(folder / "data_batch_3", np.zeros((4, 3072), np.uint8), [0] * 3)
    with pytest.raises(DataError, match="4 images but 3 labels"):
        CIFAR10DataModule(root=str(tmp_path)).setup()


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_genuine_batches_load_in_every_protocol(tmp_path, protocol):
    """Protocols 0-2 spell bytes with globals, 5 rebuilds arrays with numpy's _frombuffer."""
    data = np.random.default_rng(protocol).integers(0, 256, (3, 3072), dtype=np.uint8)
    path = tmp_path / "data_batch_1"
    write_batch(path, data, [0, 9, 4], protocol)
    images, labels = cifar_module.read_cifar_batch(path)
    assert np.array_equal(images, data.reshape(-1, 3, 32, 32)) and labels.tolist() == [0, 9, 4]


def test_a_batch_written_by_numpy_1_loads(tmp_path):
    """The official files name numpy 1.x's `numpy.core.multiarray._reconstruct`."""
    data = np.arange(2 * 3072, dtype=np.int64).astype(np.uint8).reshape(2, 3072)
    new = pickle.dumps({b"data": data, b"labels": [3, 5]}, protocol=2)
    assert b"numpy._core.multiarray" in new
    path = tmp_path / "test_batch"
    path.write_bytes(new.replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
    images, labels = cifar_module.read_cifar_batch(path)
    assert np.array_equal(images.reshape(2, 3072), data) and labels.tolist() == [3, 5]


class Payload:
    """Pickles as a call of `function(*args)`, as a tampered batch would."""

    def __init__(self, function: Callable[..., object], *args: object) -> None:
        self.function, self.args = function, args

    def __reduce__(self) -> tuple[Callable[..., object], tuple[object, ...]]:
        return self.function, self.args


class Sneaky(dict):
    """A dict subclass: unpickling it would import this test module."""


def _makedirs(target: Path) -> object:
    return Payload(os.makedirs, str(target))


def _exec(target: Path) -> object:
    return Payload(exec, f"import os; os.makedirs({str(target)!r})")


def _makedirs_in_data(target: Path) -> object:
    return {b"data": _makedirs(target), b"labels": [0]}


def _subclass(target: Path) -> object:
    return Sneaky({b"data": np.zeros((1, 3072), np.uint8), b"labels": [0]})


def _numpy_but_not_an_array(target: Path) -> object:
    return {b"data": Payload(np.save, str(target), np.zeros(1)), b"labels": [0]}


LATEST = pickle.DEFAULT_PROTOCOL


@pytest.mark.parametrize(
    ("payload", "protocol", "refused"),
    [
        (_makedirs, 0, "os.makedirs"),
        (_makedirs, 2, "os.makedirs"),
        (_makedirs, LATEST, "os.makedirs"),
        (_exec, 2, "__builtin__.exec"),
        (_exec, LATEST, "builtins.exec"),
        (_makedirs_in_data, LATEST, "os.makedirs"),
        (_subclass, 0, "copy_reg._reconstructor"),
        (_subclass, LATEST, f"{__name__}.Sneaky"),
        (_numpy_but_not_an_array, LATEST, "numpy.save"),
    ],
)
def test_a_batch_that_asks_for_code_is_refused_unrun(tmp_path, payload, protocol, refused):
    target = tmp_path / "made-by-the-pickle"
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps(payload(target), protocol=protocol))
    with pytest.raises(DataError) as info:
        cifar_module.read_cifar_batch(path)
    assert str(info.value).startswith(
        f"CIFAR-10 batch {path} asks to load {refused}, which a data batch never holds; "
        "the file is not a genuine CIFAR-10 batch"
    )
    assert not target.exists() and not target.with_suffix(".npy").exists()


def test_a_tampered_batch_stops_the_data_module(tmp_path, offline):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar(folder)
    target = tmp_path / "made-by-the-pickle"
    (folder / "data_batch_2").write_bytes(pickle.dumps(_makedirs(target)))
    with pytest.raises(DataError, match=r"data_batch_2 asks to load os\.makedirs"):
        CIFAR10DataModule(root=str(tmp_path)).setup()
    assert not target.exists()


def test_bytes_in_another_codec_are_refused(tmp_path):
    """Protocols 0-2 write bytes as latin-1 text; any other codec is not a data batch."""
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps(Payload(codecs.encode, "abc", "rot13"), protocol=2))
    with pytest.raises(DataError, match=r"data_batch_1 is not readable \(bytes written with"):
        cifar_module.read_cifar_batch(path)


def _truncated(path: Path) -> None:
    write_batch(path, np.zeros((4, 3072), np.uint8), [0] * 4)
    path.write_bytes(path.read_bytes()[:5000])


def _not_a_dict(path: Path) -> None:
    path.write_bytes(pickle.dumps([np.zeros((4, 3072), np.uint8), [0] * 4]))


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (_truncated, "is not readable"),
        (_not_a_dict, r"has no uint8 \[N, 3072\] array under b'data'"),
    ],
)
def test_a_broken_batch_is_still_named(tmp_path, write, message):
    path = tmp_path / "data_batch_1"
    write(path)
    with pytest.raises(DataError, match=rf"{re.escape(str(path))} {message}"):
        cifar_module.read_cifar_batch(path)
