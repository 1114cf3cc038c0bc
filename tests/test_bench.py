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
def test_benchmark_times_every_contender_and_writes_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import train_speed

    out = tmp_path / "results.md"
    tiny = "--width 8 --batch-size 16 --limit 256 --warmup 1 --iters 2 --threads 1"
    measurements, startup = train_speed.main(
        [
            *tiny.split(),
            *("--settings", "dcgan32", "pacgan2d", "--repeats", "2", "--startup-runs", "0"),
            *("--extras", "diffaugment", "--override", "logger=csv", "--out", str(out)),
        ]
    )

    ran = sorted((m.setting.key, m.contender.key) for m in measurements)
    assert ("dcgan32", "a+diffaug") in ran and ("pacgan2d", "a+diffaug") not in ran
    ran = [r for r in ran if r[1] != "a+diffaug"]
    assert ran == [
        (s, c) for s in ("dcgan32", "pacgan2d") for c in "abc" if (s, c) != ("pacgan2d", "c")
    ]
    for m in measurements:
        assert len(m.repeats_s) == 2
        assert all(math.isfinite(ms) and ms > 0 for ms in m.ms_per_iter)
        assert math.isfinite(m.warmup_s) and m.warmup_s > 0
        assert m.peak_rss_mib > 0
        assert m.threads == 1
    assert {m.iters for m in measurements if m.setting.key == "pacgan2d"} == {20}
    assert startup is None
    text = out.read_text()
    rows = ("| DCGAN 32 px | a/b |", "| DCGAN 32 px | a/c |", "| DCGAN 32 px | a+diffaug/a |")
    for row in (*rows, "| PacGAN2 2D nets | a/b |"):
        assert row in text
    assert "logger=csv" in text


@pytest.mark.slow
def test_start_up_is_timed_for_ganlab_train_and_the_bare_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import train_speed

    options = train_speed.parse_args(["--startup-runs", "1", "--override", "logger=csv"])
    startup = train_speed.measure_startup(options)
    assert len(startup.bare_s) == 1
    assert 0 < startup.bare_imports_s[0] < startup.bare_s[0]
    assert all(0 < s[0] < 600 for s in startup.ganlab_s.values())
    lines = "\n".join(train_speed.startup_lines(startup))
    assert "ganlab-train experiment=ring8_pacgan2: first step" in lines


def test_sweep_benchmark_runs_three_ways_and_writes_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import sweep_threads

    out = tmp_path / "sweep.md"
    tiny = ["data=digits", "model.generator.width=8", "model.discriminator.width=8"]
    sweep_threads.main(["--steps", "2", "--repeats", "1", "--out", str(out), *tiny])
    text = out.read_text()
    rows = {line.split(" | ")[0].lstrip("| ") for line in text.splitlines() if " | " in line}
    assert {"sequential", "joblib", "oversubscribed"} <= rows
    share = max(1, sweep_threads.cores() // 2)
    assert f"| joblib | {share} |" in text and "Goal (joblib at most the sequential time)" in text
