"""Real-feature cache: hits skip the computation, any key change recomputes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import Tensor

from ganlab.errors import MetricsError
from ganlab.metrics import cached_features
from ganlab.metrics.cache import cache_path

KEY = {
    "dataset": "fashion_mnist",
    "split": "test",
    "resolution": 28,
    "extractor": "domain-fashion_mnist-28px",
    "fingerprint": "ab12",
    "num_samples": 100,
}


class Counter:
    """A `compute` callable that records how often it ran."""

    def __init__(self, value: float = 1.0) -> None:
        self.calls = 0
        self.value = value

    def __call__(self) -> Tensor:
        self.calls += 1
        return torch.full((4, 3), self.value, dtype=torch.float64)


def test_second_call_reads_the_file_instead_of_computing(tmp_path: Path) -> None:
    compute = Counter()
    first = cached_features(tmp_path, KEY, compute)
    second = cached_features(tmp_path, dict(reversed(KEY.items())), compute)  # order-free key
    assert compute.calls == 1
    assert first.dtype == torch.float32 and torch.equal(first, second)
    assert [p.name for p in tmp_path.iterdir()] == [cache_path(tmp_path, KEY).name]  # no temp


@pytest.mark.parametrize(
    "change", [{"num_samples": 200}, {"fingerprint": "cd34"}, {"split": "train"}]
)
def test_a_changed_key_recomputes(tmp_path: Path, change: dict) -> None:
    cached_features(tmp_path, KEY, Counter())
    changed = Counter(2.0)
    result = cached_features(tmp_path, {**KEY, **change}, changed)
    assert changed.calls == 1
    assert torch.equal(result, torch.full((4, 3), 2.0))
    assert len(list(tmp_path.iterdir())) == 2


def test_a_file_holding_another_key_is_recomputed(tmp_path: Path) -> None:
    path = cache_path(tmp_path, KEY)
    torch.save({"key": '{"dataset":"mnist"}', "features": torch.zeros(4, 3)}, path)
    compute = Counter()
    assert torch.equal(cached_features(tmp_path, KEY, compute), torch.ones(4, 3))
    assert compute.calls == 1
    assert cached_features(tmp_path, KEY, Counter(5.0)).eq(1.0).all()  # now stored right


def test_a_corrupt_file_is_recomputed(tmp_path: Path) -> None:
    cache_path(tmp_path, KEY).write_bytes(b"not a torch file")
    compute = Counter()
    cached_features(tmp_path, KEY, compute)
    assert compute.calls == 1


def test_bad_keys_and_results_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(MetricsError, match=r"cached_features\(key\)"):
        cached_features(tmp_path, {"extractor": object()}, Counter())
    with pytest.raises(MetricsError, match=r"cached_features\(compute\)"):
        cached_features(tmp_path, KEY, lambda: torch.zeros(3))
