"""StackedMNIST's modes and KL against uniform, as the PacGAN code defines them."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from ganlab.data import StackedMNISTDataModule
from ganlab.data.stacked_mnist import stack_digits
from ganlab.errors import ConfigError, MetricsError
from ganlab.metrics import DomainFeatures, extract
from ganlab.metrics.stacked_mnist import StackedDigitsFeatures, digits_of, mode_coverage, triples_of
from ganlab.train import train

from ..conftest import ComposeFn, install_evaluator


def test_real_stacks_cover_close_to_1000_modes_with_kl_near_0() -> None:
    labels = torch.arange(10).repeat_interleave(50)
    images = torch.zeros(500, 1, 4, 4, dtype=torch.uint8)
    _, classes = stack_digits(images, labels, 26000, seed=0)
    digits = torch.stack([classes // 100, classes // 10 % 10, classes % 10], dim=1)
    found = mode_coverage(digits)
    assert found["modes"] >= 995
    assert 0 <= found["kl"] < 0.03  # sampling noise of 26 draws per mode: about 0.019


def test_one_combination_is_one_mode_with_kl_log_1000() -> None:
    found = mode_coverage(torch.tensor([[3, 1, 4]] * 26000))
    assert found["modes"] == 1 and found["kl"] == pytest.approx(math.log(1000))


def test_kl_matches_a_direct_computation() -> None:
    digits = torch.tensor([[0, 0, 0]] * 3 + [[0, 0, 1]] + [[9, 9, 9]] * 4)
    p = [3 / 8, 1 / 8, 4 / 8]
    expected = sum(q * math.log(q * 1000) for q in p)
    found = mode_coverage(digits)
    assert found["modes"] == 3 and found["kl"] == pytest.approx(expected, rel=1e-12)


@pytest.fixture(scope="module")
def digits_classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """mnist_5k's own classifier, trained as ganlab-train-evaluator does (two epochs here)."""
    from ganlab.data import MNIST5kDataModule
    from ganlab.data.identity import evaluator_record
    from ganlab.metrics import save_evaluator, train_domain_classifier

    data = MNIST5kDataModule()
    train_x, train_y = data.real_images("train")
    test_x, test_y = data.real_images("test")
    model, accuracy = train_domain_classifier(
        train_x, train_y, test_x, test_y, epochs=2, batch_size=64
    )
    assert accuracy > 0.9
    path = tmp_path_factory.mktemp("evaluators") / "mnist_5k_28px.pt"
    save_evaluator(path, model, {**evaluator_record(data), "test_accuracy": accuracy})
    return path


def test_real_stacks_through_the_classifier(digits_classifier: Path) -> None:
    """26,000 real held-out stacks, classified channel by channel: all modes, KL near 0."""
    data = StackedMNISTDataModule(num_samples=10)
    images, _ = data.real_images("test")
    extractor = StackedDigitsFeatures(digits_classifier)
    assert extractor.num_features == 3 * DomainFeatures(digits_classifier).num_features
    features, logits = extract(extractor, images, batch_size=1000)
    assert features.shape == (26000, extractor.num_features) and logits.shape == (26000, 1000)
    found = mode_coverage(triples_of(logits))
    assert found["modes"] >= 990 and found["kl"] < 0.1
    digits = DomainFeatures(digits_classifier)
    per_channel = [digits.logits(images[:64, c : c + 1].float() / 127.5 - 1) for c in range(3)]
    expected = torch.stack([x.argmax(dim=1) for x in per_channel], dim=1)
    assert torch.equal(triples_of(logits[:64]), expected)
    same = images[:1].expand(2000, -1, -1, -1)
    assert mode_coverage(triples_of(extract(extractor, same, 500)[1]))["modes"] == 1


def test_the_extractor_refuses_other_data_and_other_classifiers(tmp_path: Path) -> None:
    from ganlab.data import DigitsDataModule
    from ganlab.data.identity import evaluator_record
    from ganlab.metrics import save_evaluator, train_domain_classifier

    with pytest.raises(ConfigError, match="use data=stacked_mnist"):
        digits_of(object())
    data = DigitsDataModule(resolution=8)
    (train_x, train_y), (test_x, test_y) = data.real_images("train"), data.real_images("test")
    three, accuracy = train_domain_classifier(train_x, train_y % 3, test_x, test_y % 3, epochs=1)
    path = tmp_path / "three_classes.pt"
    save_evaluator(path, three, {**evaluator_record(data), "test_accuracy": accuracy})
    with pytest.raises(MetricsError, match=r"classifies 3 classes.*needs a digit classifier"):
        StackedDigitsFeatures(path)
    with pytest.raises(MetricsError, match=r"1,000 triple scores"):
        triples_of(torch.zeros(4, 10))


def test_a_stacked_mnist_run_logs_modes_and_kl(
    compose_cfg: ComposeFn, tmp_path: Path, digits_classifier: Path
) -> None:
    install_evaluator(digits_classifier, tmp_path)
    cfg = compose_cfg(
        "data=stacked_mnist",
        "data.num_samples=256",
        "data.test_samples=500",
        "data.batch_size=16",
        "model=dcgan",
        "model.generator.width=8",
        "model.discriminator.width=8",
        "metrics=stacked_mnist",
        "metrics.num_samples=500",
        "metrics.every_g_steps=1",
        "logger=csv",
        "callbacks=quiet",
        "gan.max_g_steps=2",
    )
    summary = train(cfg)
    final = summary["metrics"]["final"]
    assert 1 <= final["metrics/stacked_modes"] <= 500
    assert 0 <= final["metrics/stacked_kl"] <= math.log(1000)
    assert (Path(summary["run_dir"]) / "checkpoints" / "best.ckpt").is_file()
