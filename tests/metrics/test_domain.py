"""The domain classifier: training, evaluator files, and its features as an extractor."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics.image.fid import FrechetInceptionDistance

from ganlab.data import DigitsDataModule, FashionMNISTDataModule, to_unit_range
from ganlab.data.identity import evaluator_record
from ganlab.errors import MetricsError
from ganlab.metrics import (
    DomainFeatures,
    FeatureExtractor,
    extract,
    fid_from_features,
    load_evaluator,
    save_evaluator,
    train_domain_classifier,
)

from ..tolerances import assert_close_to_scale


@pytest.fixture(scope="module")
def fashion() -> dict[str, tuple[Tensor, Tensor]]:
    data = FashionMNISTDataModule(root=None)
    return {"train": data.real_images("train", 3000), "test": data.real_images("test", 1000)}


@pytest.fixture(scope="module")
def evaluator(
    fashion: dict[str, tuple[Tensor, Tensor]], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, float]:
    """A quick classifier (3k images, 1 epoch: seconds) saved as an evaluator file."""
    (train_x, train_y), (test_x, test_y) = fashion["train"], fashion["test"]
    model, accuracy = train_domain_classifier(
        train_x, train_y, test_x, test_y, epochs=1, batch_size=64, lr=2e-3, seed=0
    )
    path = tmp_path_factory.mktemp("evaluators") / "fashion_mnist_28px.pt"
    record = evaluator_record(FashionMNISTDataModule(root=None))
    save_evaluator(path, model, {**record, "test_accuracy": accuracy})
    return path, accuracy


def test_quick_training_learns_the_classes(evaluator: tuple[Path, float]) -> None:
    assert evaluator[1] > 0.6  # 1 epoch on 3k images; the full CLI run reaches > 90 %


def test_training_is_seeded_and_leaves_the_global_rng_alone(
    fashion: dict[str, tuple[Tensor, Tensor]],
) -> None:
    x, y = fashion["train"][0][:256], fashion["train"][1][:256]
    state = torch.random.get_rng_state()
    first, _ = train_domain_classifier(x, y, x, y, epochs=1, batch_size=64, seed=3)
    second, _ = train_domain_classifier(x, y, x, y, epochs=1, batch_size=64, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(
        torch.equal(a, b)
        for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True)
    )


def test_save_and_load_round_trip(
    evaluator: tuple[Path, float], fashion: dict[str, tuple[Tensor, Tensor]]
) -> None:
    path, accuracy = evaluator
    model, meta = load_evaluator(path)
    assert meta["dataset"] == "fashion_mnist" and meta["test_accuracy"] == accuracy
    assert (meta["resolution"], meta["channels"], meta["num_classes"]) == (28, 1, 10)
    extractor = DomainFeatures(path)
    assert isinstance(extractor, FeatureExtractor)
    assert extractor.fingerprint == meta["sha256"] and extractor.name == "domain-fashion_mnist-28px"
    x = to_unit_range(fashion["test"][0][:16])
    assert torch.allclose(extractor.logits(x), model(x), atol=1e-5)
    assert extractor(x).shape == (16, extractor.num_features)


def test_a_tampered_file_is_refused(evaluator: tuple[Path, float], tmp_path: Path) -> None:
    payload = torch.load(evaluator[0], weights_only=True)
    payload["state_dict"]["head.bias"][0] += 1.0
    tampered = tmp_path / "tampered.pt"
    torch.save(payload, tampered)
    with pytest.raises(MetricsError, match=r"tampered\.pt.*modified or corrupted"):
        load_evaluator(tampered)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(evaluator[0].read_bytes()[:1000])
    with pytest.raises(MetricsError, match=r"truncated\.pt is unreadable"):
        DomainFeatures(truncated)
    with pytest.raises(MetricsError, match=r"missing\.pt does not exist"):
        DomainFeatures(tmp_path / "missing.pt")


def test_an_evaluator_for_another_dataset_is_refused(evaluator: tuple[Path, float]) -> None:
    extractor = DomainFeatures(evaluator[0])
    fashion = FashionMNISTDataModule(root=None)
    record = evaluator_record(fashion)
    extractor.check_data(record["data_identity"], record["test_images"], "retrain")
    digits = evaluator_record(DigitsDataModule(resolution=28))
    with pytest.raises(
        MetricsError, match=r"trained on 'fashion_mnist' in .*but the data is 'digits'"
    ):
        extractor.check_data(digits["data_identity"], digits["test_images"], "retrain")


def test_features_do_not_depend_on_batch_size_or_parent_train_mode(
    evaluator: tuple[Path, float], fashion: dict[str, tuple[Tensor, Tensor]]
) -> None:
    extractor = DomainFeatures(evaluator[0])
    images = fashion["test"][0][:100]
    small, small_logits = extract(extractor, images, batch_size=7)
    torch.nn.Sequential(extractor).train()  # as a Lightning module's .train() would
    assert not extractor.training
    large, large_logits = extract(extractor, images, batch_size=64)
    assert_close_to_scale(small, large)
    assert_close_to_scale(small_logits, large_logits)


def test_any_size_and_channel_count_is_accepted(
    evaluator: tuple[Path, float], fashion: dict[str, tuple[Tensor, Tensor]]
) -> None:
    extractor = DomainFeatures(evaluator[0])
    x = to_unit_range(fashion["test"][0][:8])
    grey = extractor(x)
    assert_close_to_scale(extractor(x.expand(-1, 3, -1, -1)), grey)
    assert extractor(F.interpolate(x, size=32, mode="nearest")).shape == grey.shape
    with pytest.raises(MetricsError, match="float images"):
        extractor(fashion["test"][0][:8])


def test_fid_ranks_real_blurred_and_noise_images(
    evaluator: tuple[Path, float], fashion: dict[str, tuple[Tensor, Tensor]]
) -> None:
    extractor = DomainFeatures(evaluator[0])
    train = to_unit_range(fashion["train"][0][:500])
    test = to_unit_range(fashion["test"][0][:500])
    blurred = F.avg_pool2d(test, 5, stride=1, padding=2, count_include_pad=False)
    noise = torch.rand(test.shape, generator=torch.Generator().manual_seed(0)) * 2 - 1
    reference = extract(extractor, train)[0]
    fid = {
        name: fid_from_features(extract(extractor, x)[0], reference)
        for name, x in {"test": test, "blurred": blurred, "noise": noise}.items()
    }
    assert fid["test"] < fid["blurred"] < fid["noise"]
    assert fid["test"] < 0.05 * fid["noise"]


def test_torchmetrics_fid_with_the_domain_extractor_agrees(
    evaluator: tuple[Path, float], fashion: dict[str, tuple[Tensor, Tensor]]
) -> None:
    extractor = DomainFeatures(evaluator[0])
    real = to_unit_range(fashion["train"][0][:400])
    fake = to_unit_range(fashion["test"][0][:400]).flip(-1)
    metric = FrechetInceptionDistance(feature=extractor)
    for chunk in real.split(64):
        metric.update(chunk, real=True)
    for chunk in fake.split(64):
        metric.update(chunk, real=False)
    ours = fid_from_features(extract(extractor, fake)[0], extract(extractor, real)[0])
    assert ours > 0.1
    assert float(metric.compute()) == pytest.approx(ours, rel=1e-4)


def test_unlabelled_data_is_refused(fashion: dict[str, tuple[Tensor, Tensor]]) -> None:
    x = fashion["train"][0][:128]
    with pytest.raises(MetricsError, match="no classes"):
        train_domain_classifier(x, torch.full((128,), -1), x, torch.full((128,), -1), epochs=1)
