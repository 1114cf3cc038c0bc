"""The Inception extractor against torch-fidelity, on a random but calibrated network.

No real Inception weights exist offline, and a randomly initialised InceptionV3 has
vanishing activations (every FID ~1e-15, which checks nothing). So the network's batch-norm
statistics are first set from one batch of real images, and the classifier weights are
scaled up so that predictions differ between images; the saved file is then used exactly
as the real weights would be, by ganlab and by torch-fidelity.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import shutil
from collections.abc import Callable
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
from ganlab.metrics import inception as inception_module
from ganlab.metrics.features import state_dict_sha256

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
    asked: list[str | None] = []

    def offline(url: str, dst: str, hash_prefix: str | None = None, **kwargs: object) -> None:
        asked.append(hash_prefix)
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
    assert asked == ["6726825d"]  # the download itself is hash-checked by torch.hub


def test_an_unreadable_weights_file_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "broken.pth"
    broken.write_bytes(b"\x00" * 100)
    with pytest.raises(MetricsError, match=r"broken\.pth is unreadable"):
        InceptionFeatures(weights_path=str(broken))


STANDARD = "weights-inception-2015-12-05-6726825d.pth"  # torch-fidelity's download
PYTORCH_FID = "pt_inception-2015-12-05-6726825d.pth"


def test_the_file_is_read_once_and_only_as_tensors(
    weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_load = torch.load
    loads: list[tuple[object, object]] = []

    def recording_load(f: object, *args: object, **kwargs: object) -> object:
        loads.append((f, kwargs.get("weights_only")))
        return real_load(f, *args, **kwargs)

    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("torch-fidelity tried to download the weights")

    monkeypatch.setattr(torch, "load", recording_load)
    monkeypatch.setattr(tf_inception, "load_state_dict_from_url", no_download)
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    extractor = InceptionFeatures(weights_path=str(weights))
    monkeypatch.undo()

    # The file's bytes are unpickled once, weights-only; torch-fidelity's own load
    # (weights_only=False) only gets an in-memory copy of the tensors, never the path.
    assert [only for _, only in loads] == [True, False]
    assert all(isinstance(f, io.BytesIO) for f, _ in loads)
    assert loads[0][0].getvalue() == weights.read_bytes()
    expected = torch.load(weights, weights_only=True)
    assert extractor.fingerprint == state_dict_sha256(expected)
    loaded = extractor.net.state_dict()
    assert loaded.keys() == expected.keys()
    assert all(torch.equal(loaded[key], expected[key]) for key in expected)


def test_a_state_dict_with_a_wrong_key_is_refused(weights: Path, tmp_path: Path) -> None:
    state = torch.load(weights, weights_only=True)
    state["fc.weights"] = state.pop("fc.weight")
    wrong = tmp_path / "renamed.pth"
    torch.save(state, wrong)
    with pytest.raises(MetricsError) as error:
        InceptionFeatures(weights_path=str(wrong))
    message = str(error.value)
    assert f"{wrong} does not fit torch-fidelity's InceptionV3" in message
    assert "fc.weights" in message and "fc.weight" in message


@pytest.mark.parametrize("name", [STANDARD, PYTORCH_FID])
def test_a_standard_named_file_with_other_content_is_refused(
    weights: Path, tmp_path: Path, name: str
) -> None:
    impostor = tmp_path / name
    shutil.copyfile(weights, impostor)
    actual = hashlib.sha256(weights.read_bytes()).hexdigest()
    assert not actual.startswith("6726825d")
    with pytest.raises(MetricsError) as error:
        InceptionFeatures(weights_path=str(impostor))
    message = str(error.value)
    for part in (str(impostor), f"sha256 {actual}", "starts with 6726825d", "Download"):
        assert part in message


def test_the_cached_file_and_a_download_are_hash_checked(
    weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def download_other_content(url: str, dst: str, **kwargs: object) -> None:
        shutil.copyfile(weights, dst)

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file", download_other_content)
    cached = tmp_path / "hub" / "checkpoints" / STANDARD
    with pytest.raises(MetricsError, match=rf"{cached} has sha256 [0-9a-f]{{64}}, but"):
        InceptionFeatures()  # downloads, then refuses what arrived
    assert cached.is_file()
    with pytest.raises(MetricsError, match=rf"{cached} has sha256 [0-9a-f]{{64}}, but"):
        InceptionFeatures()  # the same file, now found in the cache


def test_a_standard_file_whose_hash_matches_its_name_is_used(
    weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As with a release whose name carries this file's hash (the real one is not offline)."""
    prefix = hashlib.sha256(weights.read_bytes()).hexdigest()[:8]
    name = f"weights-inception-2015-12-05-{prefix}.pth"
    monkeypatch.setattr(inception_module, "inception_url", lambda: f"https://x.invalid/{name}")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    cached = tmp_path / "hub" / "checkpoints" / name
    cached.parent.mkdir(parents=True)
    shutil.copyfile(weights, cached)
    assert inception_module.published_hash_prefix(cached) == prefix
    extractor = InceptionFeatures()
    assert extractor.weights_path == str(cached)
    assert extractor.fingerprint == state_dict_sha256(torch.load(weights, weights_only=True))


class Payload:
    """Pickles as a call of `function(*args)`, as a tampered weights file would."""

    def __init__(self, function: Callable[..., object], *args: object) -> None:
        self.function, self.args = function, args

    def __reduce__(self) -> tuple[Callable[..., object], tuple[object, ...]]:
        return self.function, self.args


def _torch_save(target: Path, path: Path) -> None:
    torch.save({"fc.bias": torch.zeros(1008), "fc.weight": Payload(os.makedirs, str(target))}, path)


def _pickle_protocol_2(target: Path, path: Path) -> None:
    path.write_bytes(pickle.dumps({"fc.weight": Payload(os.makedirs, str(target))}, protocol=2))


def _pickle_latest(target: Path, path: Path) -> None:
    path.write_bytes(pickle.dumps({"fc.weight": Payload(exec, f"open({str(target)!r}, 'w')")}))


@pytest.mark.parametrize(
    ("write", "reason"),
    [
        (_torch_save, "it asks to load os.makedirs, which a weights file never holds"),
        (_pickle_protocol_2, "it asks to load os.makedirs, which a weights file never holds"),
        (_pickle_latest, "it holds something other than plain tensors"),
    ],
)
@pytest.mark.parametrize("name", ["custom.pth", STANDARD])
@pytest.mark.filterwarnings("ignore:Detected pickle protocol 4:UserWarning")  # torch's, expected
def test_a_weights_file_that_asks_for_code_is_refused_unrun(
    tmp_path: Path, write: Callable[[Path, Path], None], reason: str, name: str
) -> None:
    target = tmp_path / "made-by-the-pickle"
    path = tmp_path / name
    write(target, path)
    with pytest.raises(MetricsError) as error:
        InceptionFeatures(weights_path=str(path))
    if name == STANDARD:  # the hash check refuses it before anything is unpickled
        assert "starts with 6726825d" in str(error.value)
    else:
        assert str(error.value).startswith(
            f"Inception weights file {path} is unreadable: {reason}, so it was refused"
        )
        assert "weights_only=False" not in str(error.value)
    assert not target.exists()
