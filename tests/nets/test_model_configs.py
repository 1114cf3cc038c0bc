"""Every conf/model file builds working nets the way train.py does (shape, num_classes added)."""

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

MODEL_CONF = Path(__file__).resolve().parents[2] / "conf" / "model"
SHAPES = {"mlp_2d": (2,)}  # the others are for images


# Restoration models (task: restoration) are built in tests/restoration/test_nets.py.
GENERATION = [
    p for p in sorted(MODEL_CONF.glob("*.yaml")) if OmegaConf.load(p).get("task") != "restoration"
]


@pytest.mark.parametrize("path", GENERATION, ids=lambda p: p.stem)
def test_model_config_builds_nets(path: Path) -> None:
    cfg = OmegaConf.create({"model": OmegaConf.load(path)}).model  # as composed: model.*
    assert cfg.name == path.stem
    shape = OmegaConf.create(list(SHAPES.get(path.stem, (1, 28, 28))))  # as the datamodule's
    num_classes = 10 if cfg.conditional else 0
    g = instantiate(cfg.generator, shape=shape, num_classes=num_classes)
    d = instantiate(cfg.discriminator, shape=shape, num_classes=num_classes)
    y = torch.randint(0, 10, (3,)) if cfg.conditional else None
    x = g(torch.randn(3, g.z_dim), y)
    assert x.shape == (3, *shape)
    assert d(x, y).shape == (3,)
    assert g.num_classes == d.num_classes == num_classes


def test_paper_sizes() -> None:
    mlp = OmegaConf.load(MODEL_CONF / "mlp.yaml")
    assert list(mlp.generator.hidden) == [1200, 1200] and mlp.generator.z_dim == 100
    assert mlp.discriminator.maxout_pieces == 5 and mlp.discriminator.dropout == 0.5
    pac = OmegaConf.load(MODEL_CONF / "mlp_2d.yaml")
    assert list(pac.generator.hidden) == [400] * 4 and pac.generator.batch_norm
    assert list(pac.discriminator.hidden) == [200] * 3 and pac.generator.output == "linear"
