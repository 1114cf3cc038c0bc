"""Every conf/data file instantiates with Hydra to the right class without reading data."""

from pathlib import Path

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf
from omegaconf.errors import MissingMandatoryValue

import ganlab.data as data

CONF = Path(__file__).resolve().parents[2] / "conf" / "data"

EXPECTED = {
    "fashion_mnist": (data.FashionMNISTDataModule, (1, 28, 28), 10, 64),
    "mnist": (data.MNISTDataModule, (1, 28, 28), 10, 64),
    "cifar10": (data.CIFAR10DataModule, (3, 32, 32), 10, 64),
    "digits": (data.DigitsDataModule, (1, 32, 32), 10, 64),
    "mnist_5k": (data.MNIST5kDataModule, (1, 28, 28), 10, 64),
    "stacked_mnist": (data.StackedMNISTDataModule, (3, 28, 28), 1000, 64),
    "image_folder": (data.ImageFolderDataModule, (3, 64, 64), None, 64),
    "ring8": (data.RingDataModule, (2,), 0, 100),
    "grid25": (data.GridDataModule, (2,), 0, 100),
}


def compose(name: str, tmp_path: Path):
    return OmegaConf.create(
        {"paths": {"data_dir": str(tmp_path)}, "data": OmegaConf.load(CONF / f"{name}.yaml")}
    )


def test_every_file_is_covered():
    assert sorted(p.stem for p in CONF.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_config_instantiates(name, tmp_path):
    cls, shape, num_classes, batch_size = EXPECTED[name]
    cfg = compose(name, tmp_path)
    if name == "image_folder":
        with pytest.raises(MissingMandatoryValue):
            instantiate(cfg.data)
        cfg.data.root = str(tmp_path)
    dm = instantiate(cfg.data)
    assert type(dm) is cls
    assert dm.shape == shape and dm.batch_size == batch_size
    assert dm.name == name
    if num_classes is not None:
        assert dm.num_classes == num_classes
    if "root" in cfg.data and name != "digits":
        assert dm.root == str(tmp_path)
