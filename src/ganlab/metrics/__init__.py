"""Sample-quality metrics in plain PyTorch: feature extractors, FID, KID, IS,
precision/recall, mode metrics for 2D mixtures, and a real-feature cache.

Extractors (`InceptionFeatures`, `DomainFeatures`) map images in [-1, 1] to features; the
metric functions work on feature tensors, so each metric is one small, testable file.
"""

from ganlab.metrics.cache import cached_features
from ganlab.metrics.domain import (
    DomainClassifier,
    DomainFeatures,
    load_evaluator,
    save_evaluator,
    train_domain_classifier,
)
from ganlab.metrics.features import FeatureExtractor, extract, quantize_images
from ganlab.metrics.fid import feature_statistics, fid_from_features, frechet_distance
from ganlab.metrics.inception import InceptionFeatures
from ganlab.metrics.inception_score import inception_score
from ganlab.metrics.kid import kid_from_features
from ganlab.metrics.mixture import mixture_metrics
from ganlab.metrics.precision_recall import precision_recall

__all__ = [
    "DomainClassifier",
    "DomainFeatures",
    "FeatureExtractor",
    "InceptionFeatures",
    "cached_features",
    "extract",
    "feature_statistics",
    "fid_from_features",
    "frechet_distance",
    "inception_score",
    "kid_from_features",
    "load_evaluator",
    "mixture_metrics",
    "precision_recall",
    "quantize_images",
    "save_evaluator",
    "train_domain_classifier",
]
