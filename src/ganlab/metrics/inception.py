"""InceptionV3 features as torch-fidelity computes them: the TF-1.x FID/IS/KID reference.

Published FIDs come from the TensorFlow graph of 2015-12-05. torch-fidelity's port of it
reproduces that graph's computation (uint8 input, TF-1.x bilinear resize to 299, the same
weights), so ganlab wraps it instead of using torchvision's InceptionV3, whose weights and
resize differ and whose FIDs are not comparable with papers. The weights are never swapped
for another network behind the user's back: without the file, construction fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import Tensor, nn

from ganlab.errors import MetricsError
from ganlab.metrics.features import check_images, quantize_images, state_dict_sha256


def inception_url() -> str:
    """torch-fidelity's download address of the converted TF weights.

    torch-fidelity is imported here, not at module level: it imports torchvision, which
    costs seconds that users of the domain extractor alone should not pay.
    """
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

    return URL_INCEPTION_V3


def default_weights_path() -> Path:
    """Where torch-fidelity's download lands: `<torch hub dir>/checkpoints/<file name>`."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(inception_url()).path).name


def _where_to_put_it(path: Path) -> str:
    return (
        f"Download {inception_url()} on a machine with internet and put it at {path}, "
        "or pass its location with metrics.inception_weights=FILE (training) or "
        "--inception-weights FILE (command-line evaluation)"
    )


def resolve_weights_path(weights_path: str | None) -> Path:
    """The weights file to use: the given one, else torch-fidelity's cache (downloaded once)."""
    if weights_path is not None:
        path = Path(weights_path).expanduser()
        if not path.is_file():
            raise MetricsError(
                f"Inception weights file {path} (inception_weights) does not exist; give the "
                f"path of torch-fidelity's weights file, or leave it unset to use "
                f"{default_weights_path()}"
            )
        return path
    path = default_weights_path()
    if path.is_file():
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(inception_url(), str(path), progress=False)
    except Exception as exc:  # offline, proxy, disk full: all end in the same instruction
        raise MetricsError(
            f"InceptionV3 weights are not at {path} and downloading them failed "
            f"({type(exc).__name__}: {exc}). {_where_to_put_it(path)}."
        ) from None
    return path


def _read_state_dict(path: Path) -> Mapping[str, Tensor]:
    """Load the file as plain tensors only, so a tampered file cannot run code."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise MetricsError(
            f"Inception weights file {path} is unreadable ({type(exc).__name__}: {exc}). "
            f"{_where_to_put_it(path)}."
        ) from None
    if not isinstance(state, Mapping) or not all(isinstance(v, Tensor) for v in state.values()):
        raise MetricsError(
            f"Inception weights file {path} does not hold a state dict of tensors. "
            f"{_where_to_put_it(path)}."
        )
    return state


class InceptionFeatures(nn.Module):
    """torch-fidelity's InceptionV3: pool3 features (2048) and unbiased logits (1008).

    Input: float images in [-1, 1], `[B, 1 or 3, H, W]`, any size. They are quantised to
    uint8 and grey is repeated to RGB; the network resizes to 299 like TF 1.x did.
    """

    name = "inception-v3-compat"
    num_features = 2048
    num_classes = 1008

    def __init__(self, weights_path: str | None = None) -> None:
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        super().__init__()
        path = resolve_weights_path(weights_path)
        # Read once with weights_only=True: it vets the file and yields the fingerprint.
        # torch-fidelity then reads the same, now known-safe, file itself.
        self.fingerprint = state_dict_sha256(_read_state_dict(path))
        self.weights_path = str(path)
        try:
            self.net = FeatureExtractorInceptionV3(
                self.name, ["2048", "logits_unbiased"], feature_extractor_weights_path=str(path)
            )
        except RuntimeError as exc:
            raise MetricsError(
                f"Inception weights file {path} does not fit torch-fidelity's InceptionV3 "
                f"({exc}). {_where_to_put_it(path)}."
            ) from None
        self.eval()

    def train(self, mode: bool = True) -> InceptionFeatures:
        """Stay in eval mode: a parent's `.train()` must not switch batch norm to batch stats."""
        return super().train(False)

    @torch.no_grad()
    def features_and_logits(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Pool3 features `[B, 2048]` and unbiased logits `[B, 1008]` from one pass."""
        check_images(x, "InceptionFeatures input")
        images = quantize_images(x)
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        features, logits = self.net(images)
        return features, logits

    def forward(self, x: Tensor) -> Tensor:
        """Pool3 features `[B, 2048]`, the FID/KID/precision-recall space."""
        return self.features_and_logits(x)[0]

    def logits(self, x: Tensor) -> Tensor:
        """Unbiased logits `[B, 1008]`, the Inception Score's input (as torch-fidelity)."""
        return self.features_and_logits(x)[1]
