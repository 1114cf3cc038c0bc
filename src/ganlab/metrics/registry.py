"""Every metric and feature extractor, registered once by its short name.

A metric states the keys it logs (the headline first), which way its headline is better,
what it needs from a measurement (the fields of ``Inputs`` it reads) and the function that
computes it. The training callbacks, ``ganlab-evaluate``, ``ganlab-fid``, ``ganlab-compare``
and ``ganlab-reproduce`` all read this table, so adding a metric is one function and its
``@register_metric(...)`` line. Plain PyTorch and Python: no Lightning, no Hydra.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from torch import Tensor

from ganlab.errors import ConfigError, MetricsError
from ganlab.metrics.domain import DomainFeatures
from ganlab.metrics.evaluation import EvalSettings
from ganlab.metrics.features import FeatureExtractor
from ganlab.metrics.fid import fid_from_features
from ganlab.metrics.inception import InceptionFeatures
from ganlab.metrics.inception_score import inception_score
from ganlab.metrics.kid import kid_from_features
from ganlab.metrics.mixture import mixture_metrics
from ganlab.metrics.parzen import parzen_window
from ganlab.metrics.precision_recall import precision_recall
from ganlab.metrics.stacked_mnist import (
    StackedDigitsFeatures,
    digits_of,
    mode_coverage,
    triples_of,
)

PREFIX = "metrics/"


@dataclass(frozen=True)
class Inputs:
    """What one measurement offers the metrics; None where it has no such thing.

    "Generated" is the generator's samples, or the restorations in restoration runs, and
    "real" the held-out data, or the clean originals.
    """

    features: Tensor | None = None  # generated images' features [N, F]
    logits: Tensor | None = None  # their class logits [N, K]
    real_features: Tensor | None = None  # real images' features [M, F]
    points: Tensor | None = None  # generated 2D points [N, 2]
    centers: Tensor | None = None  # the mixture's component centres [K, 2]
    std: float | None = None  # the components' standard deviation
    images: Tensor | None = None  # generated images [N, C, H, W] in [-1, 1]
    real_images: Tensor | None = None  # real images of the same shape


INPUT_FIELDS = frozenset(f.name for f in fields(Inputs))
MetricFn = Callable[[Inputs, EvalSettings], Mapping[str, float]]
Shown = Literal["always", "logged", "never"]


@dataclass(frozen=True)
class MetricSpec:
    """One registered metric.

    ``shown``: whether ``ganlab-compare`` has a column for it always, only when some run
    logged it, or never.
    """

    name: str
    keys: tuple[str, ...]
    higher_is_better: bool
    needs: frozenset[str]
    fn: MetricFn = field(repr=False)
    shown: Shown = "logged"

    @property
    def key(self) -> str:
        """The headline key: the one best.ckpt, sorting and reports rank by."""
        return self.keys[0]

    @property
    def direction(self) -> str:
        """``higher`` or ``lower``: which way the headline key is better, as reports say it."""
        return "higher" if self.higher_is_better else "lower"

    def better(self, value: float, best: float | None) -> bool:
        """Whether ``value`` beats ``best`` (None: nothing yet); NaN never does."""
        if math.isnan(value):
            return False
        if best is None or math.isnan(best):
            return True
        return value > best if self.higher_is_better else value < best

    def compute(self, inputs: Inputs, settings: EvalSettings) -> dict[str, float]:
        """The metric's values, by log key, checked to be exactly the keys it registered."""
        missing = sorted(n for n in self.needs if getattr(inputs, n) is None)
        if missing:
            raise MetricsError(
                f"metric {self.name} needs {', '.join(missing)}, which this measurement "
                "does not give"
            )
        values = {key: float(value) for key, value in self.fn(inputs, settings).items()}
        if tuple(values) != self.keys:
            raise MetricsError(
                f"metric {self.name} returned {', '.join(values) or 'nothing'}, but registered "
                f"{', '.join(self.keys)}"
            )
        return values


@dataclass(frozen=True)
class ExtractorSpec:
    """One registered feature extractor (or, for 2D points, the absence of one).

    ``load`` builds it from a weights file (None: its standard weights); an ``own_data``
    extractor is a classifier of the run's own data, found per dataset and refused for any
    other; ``classifier_data`` maps the run's data module to the one that classifier is of
    when that is another (StackedMNIST's channels are MNIST digits). ``defaults`` are the
    metrics a run computes when ``metrics.compute`` is not given.
    """

    name: str
    data: Literal["images", "points"]
    provides: frozenset[str]
    defaults: tuple[str, ...]
    load: Callable[[str | None], FeatureExtractor] | None = field(default=None, repr=False)
    own_data: bool = False
    classifier_data: Callable[[Any], Any] | None = field(default=None, repr=False)


METRICS: dict[str, MetricSpec] = {}
EXTRACTORS: dict[str, ExtractorSpec] = {}


def register_metric(
    name: str,
    keys: Iterable[str],
    higher_is_better: bool,
    needs: Iterable[str],
    shown: Shown = "logged",
) -> Callable[[MetricFn], MetricFn]:
    """Decorator: register ``fn(inputs, settings) -> {key: value}`` as metric ``name``."""
    keys, needs = tuple(keys), frozenset(needs)
    if not name.isidentifier():
        raise ValueError(f"metric {name!r}: a name is one word, as metrics.compute=[...] lists it")
    if name in METRICS:
        raise ValueError(f"metric {name!r} is already registered")
    if not keys or not all(k.startswith(PREFIX) for k in keys):
        raise ValueError(f"metric {name!r}: keys must be non-empty and start with {PREFIX!r}")
    taken = {k: m.name for m in METRICS.values() for k in m.keys}
    clashes = [f"{k} ({taken[k]})" for k in keys if k in taken]
    if clashes:
        raise ValueError(f"metric {name!r}: keys already logged by {', '.join(clashes)}")
    if not needs or not needs <= INPUT_FIELDS:
        raise ValueError(
            f"metric {name!r}: needs must be fields of Inputs ({', '.join(sorted(INPUT_FIELDS))})"
        )
    if shown not in ("always", "logged", "never"):
        raise ValueError(f"metric {name!r}: shown must be always, logged or never")

    def register(fn: MetricFn) -> MetricFn:
        METRICS[name] = MetricSpec(name, keys, higher_is_better, needs, fn, shown)
        return fn

    return register


def register_extractor(
    name: str,
    data: Literal["images", "points"],
    provides: Iterable[str],
    defaults: Iterable[str],
    load: Callable[[str | None], FeatureExtractor] | None = None,
    own_data: bool = False,
    classifier_data: Callable[[Any], Any] | None = None,
) -> ExtractorSpec:
    """Register the extractor ``metrics.features=name`` selects."""
    if name in EXTRACTORS:
        raise ValueError(f"extractor {name!r} is already registered")
    spec = ExtractorSpec(
        name, data, frozenset(provides), tuple(defaults), load, own_data, classifier_data
    )
    if not spec.provides <= INPUT_FIELDS:
        raise ValueError(f"extractor {name!r}: provides must be fields of Inputs")
    unknown = [m for m in spec.defaults if m not in METRICS]
    if unknown:
        raise ValueError(f"extractor {name!r}: default metrics {unknown} are not registered")
    EXTRACTORS[name] = spec
    return spec


def metric_names() -> tuple[str, ...]:
    """Registered metric names, in registration order."""
    return tuple(METRICS)


def extractor_names(data: str | None = None) -> tuple[str, ...]:
    """Registered extractor names, optionally only those for ``images`` or ``points``."""
    return tuple(n for n, s in EXTRACTORS.items() if data is None or s.data == data)


def get_metric(name: str) -> MetricSpec:
    """The metric registered as ``name``, or a ``MetricsError`` listing the registered ones."""
    if name not in METRICS:
        raise MetricsError(f"no metric {name!r}; registered: {', '.join(METRICS)}")
    return METRICS[name]


def get_extractor(name: str) -> ExtractorSpec:
    """The extractor registered as ``name``, or a ``MetricsError`` listing the registered ones."""
    if name not in EXTRACTORS:
        raise MetricsError(f"no feature extractor {name!r}; registered: {', '.join(EXTRACTORS)}")
    return EXTRACTORS[name]


def choose_extractor(name: str, setting: str) -> ExtractorSpec:
    """The extractor a config value names, or a ``ConfigError`` naming the setting."""
    if name not in EXTRACTORS:
        raise ConfigError(f"{setting}: {name!r} is not one of {', '.join(EXTRACTORS)}")
    return EXTRACTORS[name]


def choose_metrics(names: str | Iterable[str], setting: str) -> tuple[MetricSpec, ...]:
    """The metrics a config list names, or a ``ConfigError`` naming the setting and choices."""
    names = [names] if isinstance(names, str) else list(names)
    choices = f"choose from {', '.join(METRICS)}"
    if not names:
        raise ConfigError(f"{setting}: the list is empty; {choices}")
    for name in names:
        if name not in METRICS:
            raise ConfigError(f"{setting}: {name!r} is not a registered metric; {choices}")
    if len(set(names)) != len(names):
        raise ConfigError(f"{setting}: {names} names a metric twice")
    return tuple(METRICS[name] for name in names)


def choose_monitor(
    name: str | None, chosen: Iterable[MetricSpec], setting: str
) -> MetricSpec | None:
    """The metric best.ckpt follows (None: no best.ckpt); it must be one the run computes."""
    if name is None:
        return None
    computed = {m.name: m for m in chosen}
    if name not in computed:
        where = "is not a registered metric" if name not in METRICS else "is not computed"
        raise ConfigError(
            f"{setting}: {name!r} {where}; choose one of {', '.join(computed)} (the computed "
            "metrics), or null for no best.ckpt"
        )
    return computed[name]


def metric_of_key(key: str) -> MetricSpec | None:
    """The metric whose headline key is ``key`` (None for other keys: losses, spreads)."""
    return next((m for m in METRICS.values() if m.key == key), None)


def short_key(key: str) -> str:
    """``metrics/kid_mean`` -> ``kid_mean``: a key as tables and plot titles show it."""
    return key.removeprefix(PREFIX)


def compute_metrics(
    chosen: Iterable[MetricSpec], inputs: Inputs, settings: EvalSettings
) -> dict[str, float]:
    """Every chosen metric's values, by log key, in the order chosen."""
    values: dict[str, float] = {}
    for spec in chosen:
        values.update(spec.compute(inputs, settings))
    return values


# ------------------------------------------------------------------ the built-in metrics

FEATURES = ("features", "real_features")
POINTS = ("points", "centers", "std")
IMAGES = ("images", "real_images")


@register_metric("fid", ["metrics/fid"], higher_is_better=False, needs=FEATURES, shown="always")
def _fid(x: Inputs, s: EvalSettings) -> dict[str, float]:
    return {"metrics/fid": fid_from_features(x.real_features, x.features)}


@register_metric(
    "is",
    ["metrics/is_mean", "metrics/is_std"],
    higher_is_better=True,
    needs=["logits"],
    shown="always",
)
def _inception_score(x: Inputs, s: EvalSettings) -> dict[str, float]:
    mean, std = inception_score(x.logits, splits=s.is_splits)
    return {"metrics/is_mean": mean, "metrics/is_std": std}


@register_metric(
    "kid",
    ["metrics/kid_mean", "metrics/kid_std"],
    higher_is_better=False,
    needs=FEATURES,
    shown="always",
)
def _kid(x: Inputs, s: EvalSettings) -> dict[str, float]:
    mean, std = kid_from_features(
        x.real_features,
        x.features,
        num_subsets=s.kid_subsets,
        subset_size=s.kid_subset_size,
        seed=s.seed,
    )
    return {"metrics/kid_mean": mean, "metrics/kid_std": std}


# Two numbers that trade off against each other: neither alone ranks runs in a table.
@register_metric(
    "pr",
    ["metrics/precision", "metrics/recall"],
    higher_is_better=True,
    needs=FEATURES,
    shown="never",
)
def _precision_recall(x: Inputs, s: EvalSettings) -> dict[str, float]:
    precision, recall = precision_recall(x.real_features, x.features, k=s.pr_k)
    return {"metrics/precision": precision, "metrics/recall": recall}


@register_metric("modes", ["metrics/modes"], higher_is_better=True, needs=POINTS)
def _modes(x: Inputs, s: EvalSettings) -> dict[str, float]:
    return {"metrics/modes": mixture_metrics(x.points, x.centers, x.std)["modes"]}


@register_metric("hq", ["metrics/hq_percent"], higher_is_better=True, needs=POINTS)
def _hq(x: Inputs, s: EvalSettings) -> dict[str, float]:
    return {"metrics/hq_percent": mixture_metrics(x.points, x.centers, x.std)["hq_percent"]}


@register_metric("kl", ["metrics/kl_uniform"], higher_is_better=False, needs=POINTS)
def _kl(x: Inputs, s: EvalSettings) -> dict[str, float]:
    return {"metrics/kl_uniform": mixture_metrics(x.points, x.centers, x.std)["kl_uniform"]}


# StackedMNIST (VEEGAN / PacGAN protocol): the stacked_mnist extractor's logits score the
# 1,000 digit triples, so their argmax is each channel's most likely digit.
@register_metric(
    "stacked_modes",
    ["metrics/stacked_modes", "metrics/stacked_kl"],
    higher_is_better=True,
    needs=["logits"],
)
def _stacked_modes(x: Inputs, s: EvalSettings) -> dict[str, float]:
    found = mode_coverage(triples_of(x.logits))
    return {"metrics/stacked_modes": found["modes"], "metrics/stacked_kl": found["kl"]}


# Goodfellow et al. 2014's measure, on pixels in [0, 1]: the width is chosen on half of the
# held-out images and the log-likelihood reported on the other half.
@register_metric(
    "parzen",
    ["metrics/parzen_ll", "metrics/parzen_sem", "metrics/parzen_sigma"],
    higher_is_better=True,
    needs=IMAGES,
)
def _parzen(x: Inputs, s: EvalSettings) -> dict[str, float]:
    found = parzen_window((x.images + 1) / 2, (x.real_images + 1) / 2)
    return {
        "metrics/parzen_ll": found["ll"],
        "metrics/parzen_sem": found["sem"],
        "metrics/parzen_sigma": found["sigma"],
    }


# PSNR and SSIM come from torchmetrics, imported on first use: tools that only read the
# table (ganlab-compare) do not pay for it.
@register_metric("psnr", ["metrics/psnr"], higher_is_better=True, needs=IMAGES)
def _psnr(x: Inputs, s: EvalSettings) -> dict[str, float]:
    from ganlab.metrics.restoration import psnr

    return {"metrics/psnr": psnr(x.images, x.real_images)}


@register_metric("ssim", ["metrics/ssim"], higher_is_better=True, needs=IMAGES)
def _ssim(x: Inputs, s: EvalSettings) -> dict[str, float]:
    from ganlab.metrics.restoration import ssim

    return {"metrics/ssim": ssim(x.images, x.real_images)}


def _inception(weights: str | None) -> FeatureExtractor:
    return InceptionFeatures(weights_path=weights)


IMAGE_FEATURES = ("features", "logits", "real_features", *IMAGES)
IMAGE_DEFAULTS = ("fid", "is", "kid", "pr")
register_extractor(
    "domain", "images", IMAGE_FEATURES, IMAGE_DEFAULTS, load=DomainFeatures, own_data=True
)
register_extractor("inception", "images", IMAGE_FEATURES, IMAGE_DEFAULTS, load=_inception)
register_extractor(
    "stacked_mnist",
    "images",
    IMAGE_FEATURES,
    ("stacked_modes",),
    load=StackedDigitsFeatures,
    own_data=True,
    classifier_data=digits_of,
)
register_extractor("mixture", "points", POINTS, ("modes", "hq", "kl"))
