"""InceptionV3 features as torch-fidelity computes them: the TF-1.x FID/IS/KID reference.

Published FIDs come from the TensorFlow graph of 2015-12-05. torch-fidelity's port of it
reproduces that graph's computation (uint8 input, TF-1.x bilinear resize to 299, the same
weights), so ganlab wraps it instead of using torchvision's InceptionV3, whose weights and
resize differ and whose FIDs are not comparable with papers. The weights are never swapped
for another network behind the user's back: without the file, construction fails.

The file is a pickle, so it is read once and only as plain tensors (`weights_only=True`), and
the standard file must match the hash its name carries; torch-fidelity never opens it.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import Tensor, nn

from ganlab.errors import MetricsError
from ganlab.metrics.features import check_images, quantize_images, state_dict_sha256

# pytorch-fid's file of the converted weights, which torch-fidelity reads too; its name
# carries the same hash as torch-fidelity's.
_PYTORCH_FID_NAME = "pt_inception-2015-12-05-6726825d.pth"
# torch.hub's `<name>-<sha256 prefix>.<ext>` file-name convention (its HASH_REGEX).
_HUB_HASH = re.compile(r"-([a-f0-9]+)\.")
# How torch's weights-only unpickler names a global it refused.
_REFUSED_GLOBAL = re.compile(r"GLOBAL (\S+)")


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


def published_hash_prefix(path: Path) -> str | None:
    """The sha256 prefix a standard weights file must have, or None for any other file.

    The standard file is torch-fidelity's download (or pytorch-fid's file, which torch-fidelity
    reads too), named `<name>-<hash>.pth` in torch.hub's convention, where <hash> is the start
    of the file's sha256 hexdigest. torch-fidelity states no full digest, so what is checked,
    as torch.hub's `check_hash` does, is that the digest starts with the hash in the name.
    """
    if path.name not in (default_weights_path().name, _PYTORCH_FID_NAME):
        return None
    match = _HUB_HASH.search(path.name)
    return match.group(1) if match else None


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
        torch.hub.download_url_to_file(
            inception_url(), str(path), hash_prefix=published_hash_prefix(path), progress=False
        )
    except Exception as exc:  # offline, proxy, disk full, wrong hash: all end in one instruction
        raise MetricsError(
            f"InceptionV3 weights are not at {path} and downloading them failed "
            f"({type(exc).__name__}: {exc}). {_where_to_put_it(path)}."
        ) from None
    return path


def _check_published_hash(path: Path, data: bytes) -> None:
    """Refuse a file named as the standard weights whose sha256 is not the published one."""
    prefix = published_hash_prefix(path)
    if prefix is None:
        return
    actual = hashlib.sha256(data).hexdigest()
    if not actual.startswith(prefix):
        raise MetricsError(
            f"Inception weights file {path} has sha256 {actual}, but the published file's "
            f"sha256 starts with {prefix} (the hash in its name): it is damaged or not that "
            f"file. Delete it. {_where_to_put_it(path)}."
        )


def _read_state_dict(path: Path) -> Mapping[str, Tensor]:
    """Read the file once, check the standard file's hash, and load plain tensors only.

    `weights_only=True` means a tampered file cannot run code; the hash and the load see the
    same bytes, so the file cannot change between the check and its use.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MetricsError(
            f"Inception weights file {path} is unreadable ({exc}). {_where_to_put_it(path)}."
        ) from None
    _check_published_hash(path, data)
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch's text advises weights_only=False, which is exactly what must not happen here.
        refused = _REFUSED_GLOBAL.search(str(exc))
        what = (
            f"it asks to load {refused.group(1)}, which a weights file never holds"
            if refused
            else "it holds something other than plain tensors"
        )
        raise MetricsError(
            f"Inception weights file {path} is unreadable: {what}, so it was refused without "
            f"running any of it. {_where_to_put_it(path)}."
        ) from None
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


def _torch_fidelity_network(state: Mapping[str, Tensor], path: Path) -> nn.Module:
    """torch-fidelity's InceptionV3 holding `state`, without it opening or downloading a file.

    Its constructor always loads weights itself, with `torch.load(..., weights_only=False)` on
    the path it is given. It is given an in-memory serialisation of the already vetted tensors
    instead, so the unsafe load only ever sees what `torch.save` wrote from plain tensors here.
    """
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    try:
        return FeatureExtractorInceptionV3(
            InceptionFeatures.name,
            ["2048", "logits_unbiased"],
            feature_extractor_weights_path=buffer,
        )
    except RuntimeError as exc:
        raise MetricsError(
            f"Inception weights file {path} does not fit torch-fidelity's InceptionV3 "
            f"({exc}). {_where_to_put_it(path)}."
        ) from None


class InceptionFeatures(nn.Module):
    """torch-fidelity's InceptionV3: pool3 features (2048) and unbiased logits (1008).

    Input: float images in [-1, 1], `[B, 1 or 3, H, W]`, any size. They are quantised to
    uint8 and grey is repeated to RGB; the network resizes to 299 like TF 1.x did.
    """

    name = "inception-v3-compat"
    num_features = 2048
    num_classes = 1008

    def __init__(self, weights_path: str | None = None) -> None:
        super().__init__()
        path = resolve_weights_path(weights_path)
        state = _read_state_dict(path)
        self.fingerprint = state_dict_sha256(state)
        self.weights_path = str(path)
        self.net = _torch_fidelity_network(state, path)
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
