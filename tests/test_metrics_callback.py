"""The metrics callback inside real training runs: values, best.ckpt, cache, no side effects."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import torch

from ganlab.errors import MetricsError
from ganlab.train import train

from .conftest import TINY, ComposeFn, install_evaluator

NARROW = ["model=mlp", "model.generator.hidden=[64,64]", "model.discriminator.hidden=[32,32]"]
METRICS = [
    "metrics=domain",
    "metrics.num_samples=200",
    "metrics.chunk_size=50",
    "metrics.every_g_steps=2",
]
IMAGE_KEYS = ("fid", "is_mean", "is_std", "kid_mean", "kid_std", "precision", "recall")


def test_domain_metrics_are_logged_cached_and_keep_best(
    compose_cfg: ComposeFn, tmp_path: Path, digits_evaluator: Path
) -> None:
    install_evaluator(digits_evaluator, tmp_path)
    summary = train(compose_cfg(*TINY, *NARROW, *METRICS, "gan.max_g_steps=4"))
    final = summary["metrics"]["final"]
    assert all(math.isfinite(final[f"metrics/{k}"]) for k in IMAGE_KEYS)
    assert final["metrics/fid"] > 0 and 1 <= final["metrics/is_mean"] <= 10
    assert 0 <= final["metrics/precision"] <= 1 and 0 <= final["metrics/recall"] <= 1
    best = summary["metrics"]["best"]
    assert best["metrics/fid"] <= final["metrics/fid"] and best["g_step"] in (2, 4)
    run = Path(summary["run_dir"])
    assert (run / "checkpoints" / "best.ckpt").is_file()
    with open(run / "metrics.csv", newline="") as f:
        fid_steps = [int(r["step"]) for r in csv.DictReader(f) if r.get("metrics/fid")]
    assert fid_steps == [2, 4]
    (cache,) = (tmp_path / "cache").glob("features-*.pt")
    stamp = cache.stat().st_mtime_ns
    train(
        compose_cfg(
            *TINY, *NARROW, *METRICS, "gan.max_g_steps=2", f"paths.run_dir={tmp_path / 'again'}"
        )
    )
    assert cache.stat().st_mtime_ns == stamp  # the real side came from the cache
    assert 0 < summary["eval_share"] < 1 and summary["peak_rss_mb"] > 0
    assert len(summary["load_average"]) == 3 and min(summary["load_average"]) >= 0


def test_compute_chooses_the_logged_metrics_and_monitor_the_best(
    compose_cfg: ComposeFn, tmp_path: Path, digits_evaluator: Path
) -> None:
    install_evaluator(digits_evaluator, tmp_path)
    chosen = ["metrics.compute=[kid,fid]", "metrics.monitor=kid", "metrics.every_g_steps=1"]
    summary = train(compose_cfg(*TINY, *NARROW, *METRICS, *chosen, "gan.max_g_steps=3"))
    final, history = summary["metrics"]["final"], summary["metrics"]["history"]
    assert list(final) == ["metrics/kid_mean", "metrics/kid_std", "metrics/fid", "metrics/kimg"]
    kid = [h["metrics/kid_mean"] for h in history]
    assert [h["g_step"] for h in history] == [1, 2, 3] and len(set(kid)) == 3
    best = summary["metrics"]["best"]
    assert set(best) == {"metrics/kid_mean", "g_step", "kimg"}  # KID, lower is better
    assert best["metrics/kid_mean"] == min(kid) and best["g_step"] == 1 + kid.index(min(kid))
    assert (Path(summary["run_dir"]) / "checkpoints" / "best.ckpt").is_file()


def test_turning_metrics_on_does_not_change_training(
    compose_cfg: ComposeFn, tmp_path: Path, digits_evaluator: Path
) -> None:
    install_evaluator(digits_evaluator, tmp_path)
    plain = train(
        compose_cfg(*TINY, *NARROW, "gan.max_g_steps=6", f"paths.run_dir={tmp_path / 'a'}")
    )
    measured = train(
        compose_cfg(
            *TINY, *NARROW, *METRICS, "gan.max_g_steps=6", f"paths.run_dir={tmp_path / 'b'}"
        )
    )
    assert measured["metrics"]["final"]
    assert plain["final"]["loss/d"] == measured["final"]["loss/d"]
    assert plain["final"]["loss/g"] == measured["final"]["loss/g"]
    a = torch.load(tmp_path / "a" / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "b" / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_mixture_runs_report_mode_metrics(compose_cfg: ComposeFn) -> None:
    cfg = compose_cfg(*TINY, "data=ring8", "model=mlp_2d", "data.batch_size=64", "metrics=mixture")
    final = train(cfg)["metrics"]["final"]
    assert 0 <= final["metrics/modes"] <= 8
    assert 0 <= final["metrics/hq_percent"] <= 100
    kl = final["metrics/kl_uniform"]
    assert kl >= 0 or (math.isnan(kl) and final["metrics/modes"] == 0)  # no HQ sample: undefined


def test_an_evaluator_of_another_dataset_is_refused_before_training(
    compose_cfg: ComposeFn, tmp_path: Path, digits_evaluator: Path
) -> None:
    cfg = compose_cfg(
        *TINY,
        "data=fashion_mnist",
        "data.limit=64",
        "metrics=domain",
        f"metrics.evaluator={digits_evaluator}",
    )
    with pytest.raises(MetricsError, match=r"trained on 'digits'.*fashion_mnist"):
        train(cfg)
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_missing_evaluator_names_the_file_and_the_fix(
    compose_cfg: ComposeFn, tmp_path: Path
) -> None:
    with pytest.raises(
        Exception, match=r"metrics\.evaluator: no evaluator at .*digits_32px\.pt.*make evaluator"
    ):
        train(compose_cfg(*TINY, "metrics=domain"))


def test_history_is_the_curve_and_survives_a_resume(compose_cfg: ComposeFn, tmp_path: Path) -> None:
    points = [*TINY, "data=ring8", "model=mlp_2d", "data.batch_size=64", "data.num_samples=2500"]
    points += ["metrics=mixture", "metrics.every_g_steps=1"]
    first = train(compose_cfg(*points, f"paths.run_dir={tmp_path / 'first'}"))
    history = first["metrics"]["history"]
    assert [(h["g_step"], h["kimg"]) for h in history] == [(1, 0.064), (2, 0.128)]
    assert all(set(h) >= {"metrics/modes", "metrics/hq_percent"} for h in history)
    resumed = train(
        compose_cfg(
            *points,
            "gan.max_g_steps=4",
            f"resume={tmp_path / 'first'}",
            f"paths.run_dir={tmp_path / 'second'}",
        )
    )
    again = resumed["metrics"]["history"]
    assert [h["g_step"] for h in again] == [1, 2, 3, 4]
    assert repr(again[:2]) == repr(history)  # the same values (kl_uniform is NaN here)
