"""The Inception extractor against torch-fidelity, on a random but calibrated network.

No real Inception weights exist offline, and a randomly initialised InceptionV3 has
vanishing activations (every FID ~1e-15, which checks nothing). So the network's batch-norm
statistics are first set from one batch of real images, and the classifier weights are
scaled up so that predictions differ between images; the saved file is then used exactly
as the real weights would be, by ganlab and by torch-fidelity.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch_fidelity
import torch_fidelity.feature_extractor_inceptionv3 as tf_inception
from torch import Tensor, nn
from torch.utils.data import Dataset

from ganlab.data import FashionMNISTDataModule, to_unit_range
from ganlab.errors import MetricsError
from ganlab.metrics import (
    InceptionFeatures,
    extract,
    fid_from_features,
    inception_score,
    kid_from_features,
    precision_recall,
)

SET_SIZE = 8  # per set; the pass runs at a few images per second on a CPU


class RGBImages(Dataset):
    """uint8 grey images repeated to RGB, the input torch-fidelity expects."""

    def __init__(self, images: Tensor) -> None:
        self.images = images.expand(-1, 3, -1, -1)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> Tensor:
        return self.images[index]


@pytest.fixture(scope="module")
def images() -> dict[str, Tensor]:
    data = FashionMNISTDataModule(root=None)
    test, _ = data.real_images("test", 120)
    train, _ = data.real_images("train", SET_SIZE)
    return {"calibration": test[100:104], "a": test[:SET_SIZE], "b": train}


@pytest.fixture(scope="module")
def weights(images: dict[str, Tensor], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A weights file in torch-fidelity's format: random, with calibrated batch norm."""
    with pytest.MonkeyPatch.context() as patch, torch.random.fork_rng():
        torch.manual_seed(0)
        patch.setattr(tf_inception, "load_state_dict_from_url", lambda *args, **kwargs: None)
        patch.setattr(tf_inception.FeatureExtractorInceptionV3, "load_state_dict", lambda *_: None)
        net = tf_inception.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # one batch: running stats = that batch's stats
    net.train()
    with torch.no_grad():
        net(images["calibration"].expand(-1, 3, -1, -1))
        net.fc.weight.mul_(30.0)  # spread the logits so the Inception Score is not ~1
    path = tmp_path_factory.mktemp("inception") / "inception-calibrated.pth"
    torch.save(net.state_dict(), path)
    return path


@pytest.fixture(scope="module")
def ours(weights: Path, images: dict[str, Tensor]) -> dict[str, Tensor]:
    """ganlab's features and logits, from float images in batches of 7."""
    extractor = InceptionFeatures(weights_path=str(weights))
    assert extractor.num_features == 2048 and len(extractor.fingerprint) == 64
    out = {}
    for name in ("a", "b"):
        out[name], out[f"{name}_logits"] = extract(extractor, to_unit_range(images[name]), 7)
    return out


def test_metrics_match_torch_fidelity(
    weights: Path, images: dict[str, Tensor], ours: dict[str, Tensor]
) -> None:
    theirs = torch_fidelity.calculate_metrics(
        input1=RGBImages(images["a"]),
        input2=RGBImages(images["b"]),
        feature_extractor="inception-v3-compat",  # also for precision/recall (default VGG16)
        feature_extractor_weights_path=str(weights),
        fid=True,
        kid=True,
        kid_subsets=1,
        kid_subset_size=SET_SIZE,
        isc=True,
        isc_splits=1,
        prc=True,
        batch_size=64,  # ours ran in batches of 7
        cuda=False,
        cache=False,
        save_cpu_ram=True,  # no loader worker processes
        verbose=False,
    )
    fid = fid_from_features(ours["a"], ours["b"])
    kid = kid_from_features(ours["a"], ours["b"], num_subsets=1, subset_size=SET_SIZE)[0]
    score = inception_score(ours["a_logits"], splits=1)[0]
    assert fid > 1.0 and kid > 1e-3 and score > 1.5  # non-degenerate, not ~1e-15
    assert fid == pytest.approx(theirs["frechet_inception_distance"], rel=1e-3)
    assert kid == pytest.approx(theirs["kernel_inception_distance_mean"], rel=1e-3)
    assert score == pytest.approx(theirs["inception_score_mean"], rel=1e-3)
    # torch-fidelity's precision is the share of input1 inside input2's manifold.
    assert precision_recall(ours["b"], ours["a"]) == pytest.approx(
        (theirs["precision"], theirs["recall"]), abs=1e-6
    )


def test_a_missing_weights_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "inception.pth"
    with pytest.raises(MetricsError, match=str(missing)):
        InceptionFeatures(weights_path=str(missing))


def test_failed_download_says_where_to_put_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline(*args: object, **kwargs: object) -> None:
        raise OSError("network is unreachable")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(MetricsError) as error:
        InceptionFeatures()
    message = str(error.value)
    expected_path = tmp_path / "hub" / "checkpoints" / "weights-inception-2015-12-05-6726825d.pth"
    for part in (
        str(expected_path),
        tf_inception.URL_INCEPTION_V3,
        "metrics.inception_weights=FILE",
        "--inception-weights FILE",
        "network is unreachable",
    ):
        assert part in message


def test_an_unreadable_weights_file_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "broken.pth"
    broken.write_bytes(b"\x00" * 100)
    with pytest.raises(MetricsError, match=r"broken\.pth is unreadable"):
        InceptionFeatures(weights_path=str(broken))
