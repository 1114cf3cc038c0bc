"""A small classifier of the dataset itself, as a feature extractor for FID/KID/IS/PR.

InceptionV3 was trained on ImageNet photos at 299 px; on 28 px grey clothing or digits its
features mean little, and it costs ~6 GFLOPs per image. A CNN trained on the dataset's own
classes gives features that separate what matters there, at under 1% of the cost, so
metrics can run often during training. Its numbers are not comparable with published
Inception FIDs (reports must say which extractor they used), only with each other.

Evaluator files hold plain tensors and values, are loaded with `weights_only=True` (never
unpickling objects) and carry a sha256 of their weights that loading verifies.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlab.errors import MetricsError
from ganlab.metrics.cache import atomic_save
from ganlab.metrics.features import check_images, quantize_images, state_dict_sha256

log = logging.getLogger(__name__)

EVALUATOR_FORMAT = "ganlab-domain-evaluator"
EVALUATOR_VERSION = 1


class DomainClassifier(nn.Module):
    """Three 3x3 conv blocks (batch norm, ReLU, 2x2 max pool between them), global average
    pooling, a `feature_dim` hidden layer (the features) and a linear head.

    Input: float images in [-1, 1] of exactly `[B, channels, resolution, resolution]`.
    """

    def __init__(
        self,
        channels: int,
        num_classes: int,
        resolution: int,
        widths: tuple[int, ...] = (32, 64, 128),
        feature_dim: int = 256,
    ) -> None:
        super().__init__()
        self.channels = channels
        self.num_classes = num_classes
        self.resolution = resolution
        self.widths = tuple(widths)
        self.feature_dim = feature_dim
        layers: list[nn.Module] = []
        in_channels = channels
        for i, width in enumerate(self.widths):
            if i > 0:
                layers.append(nn.MaxPool2d(2))
            layers += [
                nn.Conv2d(in_channels, width, 3, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
            ]
            in_channels = width
        layers += [
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(in_channels, feature_dim, bias=False),
            nn.BatchNorm1d(feature_dim),
            nn.ReLU(inplace=True),
        ]
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Linear(feature_dim, num_classes)

    def architecture(self) -> dict[str, Any]:
        """Constructor arguments, stored in evaluator files to rebuild the network."""
        return {
            "channels": self.channels,
            "num_classes": self.num_classes,
            "resolution": self.resolution,
            "widths": list(self.widths),
            "feature_dim": self.feature_dim,
        }

    def embed(self, x: Tensor) -> Tensor:
        """Penultimate-layer activations `[B, feature_dim]`."""
        return self.trunk(x)

    def forward(self, x: Tensor) -> Tensor:
        """Class logits `[B, num_classes]`."""
        return self.head(self.trunk(x))


def _check_labelled_images(images: Tensor, labels: Tensor, what: str) -> None:
    if not isinstance(images, Tensor) or images.dtype != torch.uint8 or images.dim() != 4:
        shape = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
        raise MetricsError(
            f"{what}: expected uint8 images [N, C, H, W] (as real_images returns), got {shape}"
        )
    if images.shape[1] not in (1, 3) or images.shape[2] != images.shape[3]:
        raise MetricsError(
            f"{what}: expected square grey or RGB images, got {tuple(images.shape[1:])}"
        )
    if not isinstance(labels, Tensor) or labels.shape != (len(images),):
        raise MetricsError(f"{what}: expected one label per image ({len(images)} labels)")
    if len(labels) and int(labels.min()) < 0:
        raise MetricsError(
            f"{what}: the labels are -1, so this dataset has no classes; a domain classifier "
            "needs a labelled dataset (use the Inception extractor for unlabelled data)"
        )


def _accuracy(model: DomainClassifier, images: Tensor, labels: Tensor, batch_size: int) -> float:
    device = next(model.parameters()).device
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in zip(images.split(batch_size), labels.split(batch_size), strict=True):
            logits = model(x.to(device).float() / 127.5 - 1)
            correct += int((logits.argmax(1).cpu() == y).sum())
    return correct / len(images)


def train_domain_classifier(
    train_x: Tensor,
    train_y: Tensor,
    test_x: Tensor,
    test_y: Tensor,
    epochs: int = 3,
    batch_size: int = 128,
    lr: float = 2e-3,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> tuple[DomainClassifier, float]:
    """Train on uint8 `train_x [N, C, R, R]` with labels; return the model and test accuracy.

    Adam with a one-cycle learning rate (peak `lr`), which reaches a good accuracy in few
    epochs. Initialisation and shuffling depend only on `seed`; the caller's global RNG
    state is left untouched.
    """
    _check_labelled_images(train_x, train_y, "train_domain_classifier(train_x, train_y)")
    _check_labelled_images(test_x, test_y, "train_domain_classifier(test_x, test_y)")
    if test_x.shape[1:] != train_x.shape[1:]:
        raise MetricsError(
            f"train_domain_classifier: test images {tuple(test_x.shape[1:])} differ from "
            f"training images {tuple(train_x.shape[1:])}; use one datamodule for both"
        )
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if not isinstance(value, int) or value < 1:
            raise MetricsError(f"train_domain_classifier({name}={value!r}): use an integer >= 1")
    if len(train_x) < batch_size:
        raise MetricsError(
            f"train_domain_classifier: {len(train_x)} training images, fewer than "
            f"batch_size={batch_size}; lower batch_size"
        )
    if not lr > 0:
        raise MetricsError(f"train_domain_classifier(lr={lr!r}): use a number > 0")
    num_classes = int(max(train_y.max(), test_y.max())) + 1
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DomainClassifier(train_x.shape[1], num_classes, train_x.shape[2]).to(device)
    generator = torch.Generator().manual_seed(seed)
    steps_per_epoch = len(train_x) // batch_size
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=lr, total_steps=epochs * steps_per_epoch, pct_start=0.15
    )
    for epoch in range(epochs):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(train_x), generator=generator)
        total = 0.0
        for step in range(steps_per_epoch):
            index = order[step * batch_size : (step + 1) * batch_size]
            x = train_x[index].to(device).float() / 127.5 - 1
            loss = F.cross_entropy(model(x), train_y[index].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item()
        log.info(
            "epoch %d/%d: train loss %.4f, %.0f s",
            epoch + 1,
            epochs,
            total / steps_per_epoch,
            time.perf_counter() - start,
        )
    return model.eval(), _accuracy(model, test_x, test_y, 4 * batch_size)


def save_evaluator(
    path: str | Path, model: DomainClassifier, meta: dict[str, Any]
) -> dict[str, Any]:
    """Write weights and metadata (plain values only) atomically, with a sha256 of the weights.

    `meta` must name the `dataset`; the network's shape and the hash are added here, and
    the completed metadata is returned.
    """
    if not isinstance(meta.get("dataset"), str):
        raise MetricsError("save_evaluator(meta): needs meta['dataset'], the dataset's name")
    state = {key: value.detach().cpu().clone() for key, value in model.state_dict().items()}
    full_meta = {
        **meta,
        "architecture": model.architecture(),
        "resolution": model.resolution,
        "channels": model.channels,
        "num_classes": model.num_classes,
        "sha256": state_dict_sha256(state),
    }
    try:
        json.dumps(full_meta, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise MetricsError(
            f"save_evaluator(meta): {exc}; use only str, int, float, bool, None, lists, dicts"
        ) from None
    payload = {
        "format": EVALUATOR_FORMAT,
        "version": EVALUATOR_VERSION,
        "state_dict": state,
        "meta": full_meta,
    }
    atomic_save(payload, Path(path))
    return full_meta


def load_evaluator(path: str | Path) -> tuple[DomainClassifier, dict[str, Any]]:
    """Rebuild the classifier from an evaluator file after checking its format and hash."""
    path = Path(path).expanduser()
    retrain = "retrain it with `ganlab-train-evaluator data=NAME`"
    if not path.is_file():
        raise MetricsError(f"evaluator file {path} does not exist; {retrain}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise MetricsError(
            f"evaluator file {path} is unreadable ({type(exc).__name__}: {exc}); {retrain}"
        ) from None
    if (
        not isinstance(payload, dict)
        or payload.get("format") != EVALUATOR_FORMAT
        or not isinstance(payload.get("state_dict"), dict)
        or not isinstance(payload.get("meta"), dict)
    ):
        raise MetricsError(f"{path} is not a ganlab domain evaluator file; {retrain}")
    if payload.get("version") != EVALUATOR_VERSION:
        raise MetricsError(
            f"evaluator file {path} has format version {payload.get('version')!r}, this "
            f"ganlab reads version {EVALUATOR_VERSION}; {retrain}"
        )
    state, meta = payload["state_dict"], payload["meta"]
    actual = state_dict_sha256(state)
    if actual != meta.get("sha256"):
        raise MetricsError(
            f"evaluator file {path}: the weights' sha256 {actual[:12]}... does not match the "
            f"recorded {str(meta.get('sha256'))[:12]}...; the file was modified or corrupted, "
            f"{retrain}"
        )
    try:
        arch = meta["architecture"]
        model = DomainClassifier(
            arch["channels"],
            arch["num_classes"],
            arch["resolution"],
            tuple(arch["widths"]),
            arch["feature_dim"],
        )
        model.load_state_dict(state)
    except (KeyError, TypeError, RuntimeError) as exc:
        raise MetricsError(
            f"evaluator file {path}: its weights do not fit its recorded architecture "
            f"({type(exc).__name__}: {exc}); {retrain}"
        ) from None
    return model.eval(), meta


class DomainFeatures(nn.Module):
    """A trained domain classifier as a feature extractor (see `FeatureExtractor`).

    Inputs in [-1, 1] of any size and 1 or 3 channels are quantised to uint8 levels,
    converted to the classifier's channels (grey repeated, or luma of RGB) and resized to
    its training resolution.
    """

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        classifier, meta = load_evaluator(path)
        self.classifier = classifier.requires_grad_(False)
        self.path = str(path)
        self.meta = meta
        self.dataset: str = meta["dataset"]
        self.resolution: int = classifier.resolution
        self.channels: int = classifier.channels
        self.num_features: int = classifier.feature_dim
        self.num_classes: int = classifier.num_classes
        self.fingerprint: str = meta["sha256"]
        self.name = f"domain-{self.dataset}-{self.resolution}px"
        self.eval()

    def train(self, mode: bool = True) -> DomainFeatures:
        """Stay in eval mode: a parent's `.train()` must not switch batch norm to batch stats."""
        return super().train(False)

    def check_data(self, identity: dict[str, Any], test_images: str, retrain: str) -> None:
        """Refuse to measure data other than the data the classifier was trained for.

        `identity` is the data's name, resolved root and pixel settings, `test_images` the
        sha256 of its held-out images. At the evaluator's own settings the images must be
        the ones it recorded (a moved folder with the same images is the same data); at other
        settings (a 28 px evaluator measuring 32 px samples: inputs are resized to its size)
        the dataset must be the same, and for a folder of images the same folder. `retrain`
        says how to make one.
        """
        recorded, recorded_images = self.meta.get("data_identity"), self.meta.get("test_images")
        if recorded is None or recorded_images is None:
            raise MetricsError(
                f"evaluator {self.path} does not record which images it was trained on (it "
                f"was written by an older ganlab); train it again with `{retrain}`"
            )
        if recorded.get("settings") == identity.get("settings"):
            same_images = recorded_images == test_images
        else:
            same_images = not identity.get("content_from_root") or (
                recorded.get("root") == identity.get("root")
            )
        same = recorded.get("dataset") == identity.get("dataset") and same_images
        if not same:
            raise MetricsError(
                f"evaluator {self.path} was trained on {_describe(recorded, recorded_images)}, "
                f"but the data is {_describe(identity, test_images)}; train one for it with "
                f"`{retrain}` (or point metrics.evaluator at the one for this data)"
            )

    def _prepare(self, x: Tensor) -> Tensor:
        check_images(x, "DomainFeatures input")
        x = quantize_images(x).float()
        if x.shape[1] != self.channels:
            if self.channels == 3:
                x = x.expand(-1, 3, -1, -1)
            else:
                luma = torch.tensor([0.299, 0.587, 0.114], device=x.device).view(1, 3, 1, 1)
                x = (x * luma).sum(1, keepdim=True).round()
        if x.shape[-2:] != (self.resolution, self.resolution):
            # The same antialiased bilinear resize the datamodules apply to real images.
            x = F.interpolate(
                x, size=(self.resolution,) * 2, mode="bilinear", align_corners=False, antialias=True
            )
            x = x.round().clamp(0, 255)
        return x / 127.5 - 1

    @torch.no_grad()
    def features_and_logits(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Penultimate features `[B, num_features]` and logits `[B, num_classes]`, one pass."""
        features = self.classifier.embed(self._prepare(x))
        return features, self.classifier.head(features)

    def forward(self, x: Tensor) -> Tensor:
        """Penultimate features, the space FID, KID and precision/recall are measured in."""
        return self.features_and_logits(x)[0]

    def logits(self, x: Tensor) -> Tensor:
        """Class logits, whose softmax the Inception Score uses."""
        return self.features_and_logits(x)[1]


def _describe(identity: dict[str, Any], images: str) -> str:
    """`fashion_mnist in /data (resolution=28, ...), test images sha256 1a2b3c4d5e...`."""
    settings = ", ".join(f"{k}={v}" for k, v in sorted(identity.get("settings", {}).items()))
    return (
        f"{identity.get('dataset')!r} in {identity.get('root')} ({settings}), "
        f"test images sha256 {images[:12]}..."
    )
