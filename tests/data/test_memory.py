"""The in-memory base: batching, conversion, resizing and the Lightning hooks (on digits)."""

import lightning.pytorch as pl
import pytest
import torch

from ganlab.data import DigitsDataModule, InMemoryImageDataModule, to_unit_range
from ganlab.data.memory import StepSampler, TensorPairDataset, convert_channels, resize_images
from ganlab.errors import DataError

from ..tolerances import EPS32


def test_to_unit_range_maps_endpoints_and_dtype():
    x = torch.tensor([0, 127, 255], dtype=torch.uint8)
    y = to_unit_range(x)
    assert y.dtype == torch.float32
    assert y[0].item() == -1.0
    assert y[2].item() == 1.0
    assert abs(y[1].item() + 1 / 255) < 8 * EPS32  # computed at the map's scale, 1
    assert InMemoryImageDataModule.to_unit_range is to_unit_range


def test_getitems_returns_one_batched_tensor():
    ds = TensorPairDataset(torch.arange(10).view(10, 1), torch.arange(10) * 2)
    x, y = ds.__getitems__([3, 1, 7])
    assert x.view(-1).tolist() == [3, 1, 7]
    assert y.tolist() == [6, 2, 14]
    assert ds[4][1].item() == 8
    assert len(ds) == 10


def test_dataloader_batches_and_device_conversion():
    dm = DigitsDataModule(batch_size=32)
    loader = dm.train_dataloader()
    x, y = next(iter(loader))
    assert x.dtype == torch.uint8 and x.shape == (32, 1, 32, 32)
    assert y.dtype == torch.int64 and y.shape == (32,)
    xf, yf = dm.on_after_batch_transfer((x, y), 0)
    assert xf.dtype == torch.float32 and xf.shape == (32, 1, 32, 32)
    assert xf.min() >= -1.0 and xf.max() <= 1.0
    assert xf.min() == -1.0  # digits have black background
    assert torch.equal(yf, y)


def test_setup_is_idempotent_and_limit_keeps_first_images():
    dm = DigitsDataModule(limit=100)
    dm.setup()
    first = dm.images
    dm.setup("fit")
    assert dm.images is first
    assert first.shape == (100, 1, 32, 32) and first.is_contiguous()
    full = DigitsDataModule()
    full.setup()
    assert torch.equal(full.images[:100], first)
    assert torch.equal(full.labels[:100], dm.labels)


def test_too_few_images_for_batch_size_errors():
    dm = DigitsDataModule(limit=10, batch_size=64)
    with pytest.raises(DataError, match=r"10 training samples.*batch_size=64"):
        dm.train_dataloader()


def test_real_images_checks_split_and_n():
    dm = DigitsDataModule()
    x, y = dm.real_images("test", n=5)
    assert x.shape == (5, 1, 32, 32) and y.shape == (5,)
    assert dm.real_images("test")[0] is dm.real_images("test")[0]  # cached
    with pytest.raises(DataError, match=r"n=1000.*'test', which has 297"):
        dm.real_images("test", n=1000)
    with pytest.raises(DataError, match="unknown split 'val'"):
        dm.real_images("val")


def test_pad_is_symmetric_and_black():
    x = torch.full((2, 1, 28, 28), 200, dtype=torch.uint8)
    out = resize_images(x, 32, "pad")
    assert out.shape == (2, 1, 32, 32) and out.dtype == torch.uint8
    assert torch.equal(out[:, :, 2:30, 2:30], x)
    assert out.sum() == x.sum()
    odd = resize_images(x, 31, "pad")
    assert torch.equal(odd[:, :, 1:29, 1:29], x)


def test_pad_smaller_than_native_errors_at_construction():
    with pytest.raises(DataError, match=r"resize='pad'.*resolution=4.*use resolution >= 8"):
        DigitsDataModule(resolution=4, resize="pad")
    with pytest.raises(DataError, match="resize='nearest'"):
        DigitsDataModule(resize="nearest")
    with pytest.raises(DataError, match="channels=2"):
        DigitsDataModule(channels=2)


def test_bilinear_resize_keeps_uint8_constants_and_mean():
    flat = torch.full((2, 3, 28, 28), 77, dtype=torch.uint8)
    up = resize_images(flat, 64, "bilinear")
    assert up.dtype == torch.uint8 and up.shape == (2, 3, 64, 64)
    assert (up == 77).all()
    x = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    down = resize_images(x, 8, "bilinear")
    assert down.shape == (3, 3, 8, 8)
    # antialiased 4x shrinking averages ~8x8 pixels (noise std ~0.18x); without antialiasing
    # bilinear would average only 2x2 (~0.5x), i.e. alias
    assert abs(down.float().mean() - x.float().mean()) < 3.0
    assert down.float().std() < 0.3 * x.float().std()


def test_channel_conversion_both_ways():
    grey = torch.randint(0, 256, (2, 1, 4, 4), dtype=torch.uint8)
    rgb = convert_channels(grey, 3)
    assert rgb.shape == (2, 3, 4, 4) and all(torch.equal(rgb[:, c : c + 1], grey) for c in range(3))
    back = convert_channels(rgb, 1)
    assert (back.int() - grey.int()).abs().max() <= 1
    dm = DigitsDataModule(channels=3, limit=4)
    assert dm.shape == (3, 32, 32)
    dm.setup()
    assert dm.images.shape == (4, 3, 32, 32)


def _batches(sampler: StepSampler, n: int) -> list[list[int]]:
    it = iter(sampler)
    return [next(it) for _ in range(n)]


def test_step_sampler_epochs_are_permutations_and_reshuffle():
    sampler = StepSampler(num_samples=20, batch_size=4, seed=3)
    batches = _batches(sampler, 10)  # 5 steps per epoch
    first = [i for batch in batches[:5] for i in batch]
    second = [i for batch in batches[5:] for i in batch]
    assert sorted(first) == list(range(20)) and sorted(second) == list(range(20))
    assert first != second


def test_step_sampler_ranks_split_the_single_process_batches():
    """Two ranks with batch 3 see, step by step, the batches of one process with batch 6."""
    single = _batches(StepSampler(num_samples=30, batch_size=6, seed=1), 12)
    rank0 = _batches(StepSampler(30, 3, num_replicas=2, rank=0, seed=1), 12)
    rank1 = _batches(StepSampler(30, 3, num_replicas=2, rank=1, seed=1), 12)
    for whole, a, b in zip(single, rank0, rank1, strict=True):
        assert a + b == whole  # rank r: the r-th half, as its latents and noise are sliced


def test_step_sampler_start_resumes_the_same_stream():
    full = _batches(StepSampler(num_samples=20, batch_size=4, seed=0), 13)
    resumed = _batches(StepSampler(num_samples=20, batch_size=4, seed=0, start=7), 6)
    assert resumed == full[7:]


def test_lightning_uses_the_datamodule_hook_and_counts_consumed_batches():
    """Lightning calls our on_after_batch_transfer once per consumed batch, saved in state."""
    seen = []

    class Probe(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def training_step(self, batch, batch_idx):
            seen.append(batch)
            return (self.w - batch[0].mean()) ** 2

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    dm = DigitsDataModule(batch_size=16, limit=64)
    trainer = pl.Trainer(
        accelerator="cpu",
        max_steps=2,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(Probe(), datamodule=dm)
    assert len(seen) == 2
    x, y = seen[0]
    assert x.dtype == torch.float32 and x.min() >= -1 and x.max() <= 1
    assert y.dtype == torch.int64

    assert dm.state_dict() == {"batches_consumed": 2}
    resumed = DigitsDataModule(batch_size=16, limit=64)
    resumed.load_state_dict(dm.state_dict())
    fresh = DigitsDataModule(batch_size=16, limit=64)
    fresh_batches = iter(fresh.train_dataloader())
    for _ in range(2):
        next(fresh_batches)
    assert torch.equal(next(iter(resumed.train_dataloader()))[0], next(fresh_batches)[0])
