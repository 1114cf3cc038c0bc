"""scikit-learn digits: split sizes, value range and upsampling."""

import torch

from ganlab.data import DigitsDataModule


def test_digits_shapes_range_and_split():
    dm = DigitsDataModule()
    assert (dm.name, dm.shape, dm.num_classes) == ("digits", (1, 32, 32), 10)
    dm.setup()
    assert dm.images.shape == (1500, 1, 32, 32) and dm.images.dtype == torch.uint8
    assert dm.images.min() == 0 and dm.images.max() == 255
    assert set(dm.labels.unique().tolist()) == set(range(10))
    x, y = dm.real_images("test")
    assert x.shape == (297, 1, 32, 32) and y.shape == (297,)
    assert not any(torch.equal(x[0], img) for img in dm.images[-50:])


def test_native_resolution_scales_0_16_to_0_255():
    dm = DigitsDataModule(resolution=8)
    native, _ = dm.load_split("train")
    assert native.shape == (1500, 1, 8, 8)
    assert set(native.unique().tolist()) <= {round(v * 255 / 16) for v in range(17)}
    dm.setup()
    assert torch.equal(dm.images, native)
