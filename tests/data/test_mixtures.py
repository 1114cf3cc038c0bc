"""Ring and grid mixtures: centre geometry, sample spread, splits and validation."""

import math

import pytest
import torch

from ganlab.data import GridDataModule, RingDataModule
from ganlab.errors import DataError


def test_ring_centres_are_distinct_at_the_right_angles():
    dm = RingDataModule(radius=2.0)
    c = dm.centers
    assert c.shape == (8, 2) and c.dtype == torch.float32
    assert torch.allclose(c.norm(dim=1), torch.full((8,), 2.0))
    angles = torch.atan2(c[:, 1], c[:, 0]).remainder(2 * math.pi)
    assert torch.allclose(angles, torch.arange(8) * (math.pi / 4), atol=1e-5)
    assert torch.cdist(c, c).add(torch.eye(8) * 10).min() > 1.5  # no duplicated mode
    assert (dm.name, dm.shape, dm.num_classes) == ("ring8", (2,), 0)


def test_ring_samples_lie_near_centres_with_the_given_std():
    dm = RingDataModule(num_samples=20_000, std=0.02)
    dm.setup()
    x = dm.points
    assert x.shape == (20_000, 2) and x.dtype == torch.float32
    assert (dm.labels == -1).all()
    dist, nearest = torch.cdist(x, dm.centers).min(dim=1)
    residual = x - dm.centers[nearest]
    assert residual.std().item() == pytest.approx(0.02, rel=0.05)
    assert dist.max() < 0.02 * 6
    counts = torch.bincount(nearest, minlength=8).float()
    assert counts.min() > 0.8 * 20_000 / 8  # every mode is used about equally


def test_seeded_train_and_fresh_test_points():
    a, b = RingDataModule(num_samples=1000), RingDataModule(num_samples=1000)
    a.setup()
    b.setup()
    assert torch.equal(a.points, b.points)
    assert not torch.equal(
        RingDataModule(num_samples=1000, seed=1).real_images("train")[0], a.points
    )
    test, labels = a.real_images("test", n=200)
    assert test.shape == (200, 2) and (labels == -1).all()
    assert not torch.equal(test, a.points[:200])
    assert torch.equal(a.real_images("train", n=10)[0], a.points[:10])


def test_loader_and_passthrough_hook():
    dm = GridDataModule(num_samples=1000)
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (100, 2) and x.dtype == torch.float32 and y.shape == (100,)
    out = dm.on_after_batch_transfer((x, y), 0)
    assert out[0] is x and out[1] is y


def test_grid_has_25_centres_on_the_lattice():
    dm = GridDataModule()
    assert dm.name == "grid25" and dm.std == 0.05
    expected = {(float(i), float(j)) for i in (-4, -2, 0, 2, 4) for j in (-4, -2, 0, 2, 4)}
    assert {tuple(p) for p in dm.centers.tolist()} == expected
    assert GridDataModule(num_modes=4, spacing=1.0).centers.abs().unique().tolist() == [0.5]


def test_invalid_parameters_are_named():
    with pytest.raises(DataError, match="num_modes=24 is not a perfect square"):
        GridDataModule(num_modes=24)
    with pytest.raises(DataError, match=r"std=0\.0 must be a number > 0"):
        RingDataModule(std=0.0)
    with pytest.raises(DataError, match="num_modes=0 must be an integer >= 1"):
        RingDataModule(num_modes=0)
    with pytest.raises(DataError, match="batch_size=0"):
        GridDataModule(batch_size=0)
    with pytest.raises(DataError, match="fewer than batch_size=100"):
        RingDataModule(num_samples=50).train_dataloader()
