"""bench/train_speed.py end to end with tiny settings: it runs, it reports, it writes.

No speed assertions: timings on a shared machine say nothing about correctness.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(
    not (FASHION_MNIST / "train-images-idx3-ubyte.gz").is_file(),
    reason="the recipe contender reads Debian's Fashion-MNIST (make data)",
)
def test_benchmark_times_all_three_contenders_and_writes_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import train_speed

    out = tmp_path / "results.md"
    tiny = "--resolutions 32 --width 8 --batch-size 16 --limit 256 --warmup 1 --iters 3 --threads 1"
    measurements = train_speed.main(
        [*tiny.split(), "--repeats", "2", "--override", "logger=csv", "--out", str(out)]
    )

    assert sorted(m.contender.key for m in measurements) == ["a", "b", "c"]
    for m in measurements:
        assert len(m.repeats_s) == 2
        assert all(math.isfinite(ms) and ms > 0 for ms in m.ms_per_iter)
        assert math.isfinite(m.warmup_s) and m.warmup_s > 0
        assert m.peak_rss_mib > 0
        assert m.threads == 1
    text = out.read_text()
    assert "| 32 | a/b |" in text
    assert "| 32 | a/c |" in text
    assert "logger=csv" in text
