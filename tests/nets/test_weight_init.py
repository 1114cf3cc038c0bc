"""normal_init: N(0, 0.02) weights, N(1, 0.02) norm scales, zero biases, embeddings untouched."""

import pytest
import torch
from torch import nn

from ganlab.nets.init import normal_init


def test_normal_init() -> None:
    net = nn.Sequential(
        nn.Linear(1000, 1000),
        nn.BatchNorm1d(1000),
        nn.Conv2d(3, 8, 3),
        nn.GroupNorm(1, 8),
        nn.GroupNorm(1, 8, affine=False),
        nn.Embedding(10, 1000),
    )
    before = net[5].weight.clone()
    normal_init(net)
    linear, bn, conv, gn = net[0], net[1], net[2], net[3]
    assert linear.weight.std().item() == pytest.approx(0.02, rel=0.02)
    assert linear.weight.mean().abs().item() < 1e-3
    assert bn.weight.mean().item() == pytest.approx(1.0, abs=0.005)
    assert bn.weight.std().item() == pytest.approx(0.02, rel=0.15)
    for m in (linear, bn, conv, gn):
        assert torch.all(m.bias == 0)
    assert torch.equal(net[5].weight, before)  # label embeddings keep z's N(0, 1) scale


def test_std_is_configurable() -> None:
    layer = nn.Linear(1000, 1000)
    normal_init(layer, std=0.1)
    assert layer.weight.std().item() == pytest.approx(0.1, rel=0.02)
