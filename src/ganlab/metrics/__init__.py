"""Sample-quality metrics in plain PyTorch: feature extractors, FID, KID, IS,
precision/recall, mode metrics for 2D mixtures, restoration scores, a real-feature cache,
and the registry that names each metric and extractor once.

Extractors (`InceptionFeatures`, `DomainFeatures`) map images in [-1, 1] to features; the
metric functions work on feature tensors, so each metric is one small, testable file, and
`register_metric` makes it selectable in `metrics.compute`.
"""

from ganlab.metrics.cache import cached_features
from ganlab.metrics.domain import (
    DomainClassifier,
    DomainFeatures,
    load_evaluator,
    save_evaluator,
    train_domain_classifier,
)
from ganlab.metrics.evaluation import EvalSettings, chunk_inputs, generate_chunks
from ganlab.metrics.features import FeatureExtractor, extract, quantize_images
from ganlab.metrics.fid import feature_statistics, fid_from_features, frechet_distance
from ganlab.metrics.inception import InceptionFeatures
from ganlab.metrics.inception_score import inception_score
from ganlab.metrics.kid import kid_from_features
from ganlab.metrics.mixture import mixture_metrics
from ganlab.metrics.precision_recall import precision_recall
from ganlab.metrics.registry import (
    ExtractorSpec,
    Inputs,
    MetricSpec,
    compute_metrics,
    get_extractor,
    get_metric,
    register_extractor,
    register_metric,
)

__all__ = [
    "DomainClassifier",
    "DomainFeatures",
    "EvalSettings",
    "ExtractorSpec",
    "FeatureExtractor",
    "InceptionFeatures",
    "Inputs",
    "MetricSpec",
    "cached_features",
    "chunk_inputs",
    "compute_metrics",
    "extract",
    "feature_statistics",
    "fid_from_features",
    "frechet_distance",
    "generate_chunks",
    "get_extractor",
    "get_metric",
    "inception_score",
    "kid_from_features",
    "load_evaluator",
    "mixture_metrics",
    "precision_recall",
    "quantize_images",
    "register_extractor",
    "register_metric",
    "save_evaluator",
    "train_domain_classifier",
]
