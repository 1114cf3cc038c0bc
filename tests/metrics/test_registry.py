"""The metric registry: what is registered, lookups, values, directions, and every reader of
the table (the callbacks' config checks, best.ckpt, ganlab-compare) seeing a new metric."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

from ganlab.cli import compare
from ganlab.errors import ConfigError, MetricsError
from ganlab.metrics import (
    fid_from_features,
    inception_score,
    kid_from_features,
    mixture_metrics,
    precision_recall,
)
from ganlab.metrics.evaluation import EvalSettings
from ganlab.metrics.parzen import parzen_window
from ganlab.metrics.registry import (
    METRICS,
    Inputs,
    choose_metrics,
    choose_monitor,
    compute_metrics,
    get_extractor,
    get_metric,
    metric_names,
    register_metric,
)
from ganlab.metrics.restoration import psnr, restoration_scores, ssim
from ganlab.metrics.stacked_mnist import mode_coverage, triples_of
from ganlab.train import train
from tests.conftest import TINY, ComposeFn

BUILTIN = ("fid", "is", "kid", "pr", "modes", "hq", "kl", "stacked_modes", "parzen", "psnr", "ssim")
SETTINGS = EvalSettings(kid_subsets=20, kid_subset_size=40, seed=7, pr_k=3)


def ring(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, float]:
    """``n`` points around 8 centres on the unit circle (std 0.05), some far off."""
    angles = torch.arange(8) * (2 * math.pi / 8)
    centers = torch.stack([angles.cos(), angles.sin()], dim=1)
    g = torch.Generator().manual_seed(seed)
    modes = torch.randint(0, 6, (n,), generator=g)  # two modes left empty
    points = centers[modes] + 0.05 * torch.randn(n, 2, generator=g)
    points[: n // 10] *= 3  # off every mode: not high quality
    return points, centers, 0.05


@pytest.fixture(scope="module")
def inputs() -> Inputs:
    """Small real tensors for every field a built-in metric reads."""
    g = torch.Generator().manual_seed(0)
    points, centers, std = ring(300, 1)
    images = torch.rand(12, 1, 16, 16, generator=g) * 2 - 1
    return Inputs(
        features=torch.randn(60, 8, generator=g) + 0.3,
        logits=torch.randn(60, 1000, generator=g) * 2,  # 1,000 classes: StackedMNIST's too
        real_features=torch.randn(80, 8, generator=g),
        points=points,
        centers=centers,
        std=std,
        images=(images + 0.2 * torch.randn(images.shape, generator=g)).clamp(-1, 1),
        real_images=images,
    )


# Each built-in metric, computed by calling the function it wraps directly.
WRAPPED: dict[str, Callable[[Inputs, EvalSettings], dict[str, float]]] = {
    "fid": lambda x, s: {"metrics/fid": fid_from_features(x.real_features, x.features)},
    "is": lambda x, s: dict(
        zip(("metrics/is_mean", "metrics/is_std"), inception_score(x.logits, 10), strict=True)
    ),
    "kid": lambda x, s: dict(
        zip(
            ("metrics/kid_mean", "metrics/kid_std"),
            kid_from_features(x.real_features, x.features, 20, 40, seed=7),
            strict=True,
        )
    ),
    "pr": lambda x, s: dict(
        zip(
            ("metrics/precision", "metrics/recall"),
            precision_recall(x.real_features, x.features, k=3),
            strict=True,
        )
    ),
    "modes": lambda x, s: {
        "metrics/modes": float(mixture_metrics(x.points, x.centers, 0.05)["modes"])
    },
    "hq": lambda x, s: {
        "metrics/hq_percent": mixture_metrics(x.points, x.centers, 0.05)["hq_percent"]
    },
    "kl": lambda x, s: {
        "metrics/kl_uniform": mixture_metrics(x.points, x.centers, 0.05)["kl_uniform"]
    },
    "stacked_modes": lambda x, s: dict(
        zip(
            ("metrics/stacked_modes", "metrics/stacked_kl"),
            mode_coverage(triples_of(x.logits)).values(),
            strict=True,
        )
    ),
    "parzen": lambda x, s: dict(
        zip(
            ("metrics/parzen_ll", "metrics/parzen_sem", "metrics/parzen_sigma"),
            parzen_window((x.images + 1) / 2, (x.real_images + 1) / 2).values(),
            strict=True,
        )
    ),
    "psnr": lambda x, s: {"metrics/psnr": psnr(x.images, x.real_images)},
    "ssim": lambda x, s: {"metrics/ssim": ssim(x.images, x.real_images)},
}


def test_the_builtin_table() -> None:
    assert metric_names() == BUILTIN == tuple(WRAPPED)
    table = {m.name: (m.keys, m.direction, m.shown) for m in METRICS.values()}
    assert table == {
        "fid": (("metrics/fid",), "lower", "always"),
        "is": (("metrics/is_mean", "metrics/is_std"), "higher", "always"),
        "kid": (("metrics/kid_mean", "metrics/kid_std"), "lower", "always"),
        "pr": (("metrics/precision", "metrics/recall"), "higher", "never"),
        "stacked_modes": (("metrics/stacked_modes", "metrics/stacked_kl"), "higher", "logged"),
        "modes": (("metrics/modes",), "higher", "logged"),
        "hq": (("metrics/hq_percent",), "higher", "logged"),
        "kl": (("metrics/kl_uniform",), "lower", "logged"),
        "parzen": (
            ("metrics/parzen_ll", "metrics/parzen_sem", "metrics/parzen_sigma"),
            "higher",
            "logged",
        ),
        "psnr": (("metrics/psnr",), "higher", "logged"),
        "ssim": (("metrics/ssim",), "higher", "logged"),
    }
    assert get_extractor("domain").defaults == get_extractor("inception").defaults
    assert get_extractor("domain").defaults == ("fid", "is", "kid", "pr")
    assert get_extractor("mixture").defaults == ("modes", "hq", "kl")
    assert get_extractor("domain").own_data and not get_extractor("inception").own_data
    assert get_extractor("mixture").load is None


@pytest.mark.parametrize("name", BUILTIN)
def test_each_metric_equals_the_function_it_wraps(name: str, inputs: Inputs) -> None:
    values = get_metric(name).compute(inputs, SETTINGS)
    expected = WRAPPED[name](inputs, SETTINGS)
    assert values == expected  # the same computation: bit for bit
    assert all(math.isfinite(v) for v in values.values())


def test_default_lists_give_the_keys_and_values_logged_before(inputs: Inputs) -> None:
    images = compute_metrics(choose_metrics(["fid", "is", "kid", "pr"], "t"), inputs, SETTINGS)
    assert list(images) == [
        "metrics/fid",
        "metrics/is_mean",
        "metrics/is_std",
        "metrics/kid_mean",
        "metrics/kid_std",
        "metrics/precision",
        "metrics/recall",
    ]
    is_mean, is_std = inception_score(inputs.logits, splits=10)
    kid_mean, _ = kid_from_features(inputs.real_features, inputs.features, 20, 40, seed=7)
    assert images["metrics/is_std"] == is_std and images["metrics/kid_mean"] == kid_mean
    assert images["metrics/is_mean"] == is_mean
    points = compute_metrics(choose_metrics(["modes", "hq", "kl"], "t"), inputs, SETTINGS)
    found = mixture_metrics(inputs.points, inputs.centers, inputs.std)
    assert points == {
        "metrics/modes": 6.0,
        "metrics/hq_percent": found["hq_percent"],
        "metrics/kl_uniform": found["kl_uniform"],
    }
    assert 0 < points["metrics/hq_percent"] < 100 and points["metrics/kl_uniform"] > 0


def test_restoration_list_equals_restoration_scores(digits_evaluator: Path) -> None:
    from ganlab.data import DigitsDataModule
    from ganlab.data.memory import to_unit_range
    from ganlab.metrics import DomainFeatures, extract

    clean = to_unit_range(DigitsDataModule(resolution=32).real_images("test", 64)[0])
    noisy = clean + 0.3 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(2))
    extractor = DomainFeatures(digits_evaluator)
    features, logits = extract(extractor, noisy.clamp(-1, 1))
    x = Inputs(
        images=noisy,
        real_images=clean,
        features=features,
        logits=logits,
        real_features=extract(extractor, clean)[0],
    )
    values = compute_metrics(choose_metrics(["psnr", "ssim", "fid"], "t"), x, EvalSettings())
    expected = restoration_scores(noisy, clean, extractor)
    assert values == {f"metrics/{k}": v for k, v in expected.items()}
    assert values["metrics/fid"] > 0 and 0 < values["metrics/ssim"] < 1


def test_lookups_name_the_registered_choices() -> None:
    names = ", ".join(BUILTIN)
    with pytest.raises(MetricsError, match=f"no metric 'fdi'; registered: {names}"):
        get_metric("fdi")
    with pytest.raises(MetricsError, match="no feature extractor 'vgg'; registered: domain, "):
        get_extractor("vgg")
    with pytest.raises(
        ConfigError, match=rf"^metrics\.compute: 'fdi' is not a registered .*{names}"
    ):
        choose_metrics(["fid", "fdi"], "metrics.compute")
    with pytest.raises(ConfigError, match=r"metrics\.compute: the list is empty"):
        choose_metrics([], "metrics.compute")
    with pytest.raises(ConfigError, match="names a metric twice"):
        choose_metrics(["fid", "kid", "fid"], "metrics.compute")
    assert [m.name for m in choose_metrics("kid", "metrics.compute")] == ["kid"]
    chosen = choose_metrics(["fid", "is"], "metrics.compute")
    assert choose_monitor("is", chosen, "metrics.monitor") is get_metric("is")
    assert choose_monitor(None, chosen, "metrics.monitor") is None
    with pytest.raises(ConfigError, match=r"metrics\.monitor: 'kid' is not computed; .*fid, is"):
        choose_monitor("kid", chosen, "metrics.monitor")
    with pytest.raises(ConfigError, match=r"metrics\.monitor: 'fdi' is not a registered metric"):
        choose_monitor("fdi", chosen, "metrics.monitor")


def test_bad_registrations_are_refused() -> None:
    def fn(x: Inputs, s: EvalSettings) -> dict[str, float]:
        return {}

    with pytest.raises(ValueError, match="'fid' is already registered"):
        register_metric("fid", ["metrics/fid2"], False, ["features"])(fn)
    with pytest.raises(ValueError, match=r"already logged by metrics/kid_std \(kid\)"):
        register_metric("kid2", ["metrics/kid_std"], False, ["features"])(fn)
    with pytest.raises(ValueError, match="a name is one word"):
        register_metric("fid,kid", ["metrics/both"], False, ["features"])(fn)
    with pytest.raises(ValueError, match="start with 'metrics/'"):
        register_metric("bare", ["bare"], False, ["features"])(fn)
    with pytest.raises(ValueError, match="needs must be fields of Inputs"):
        register_metric("pixels", ["metrics/pixels"], False, ["pixels"])(fn)
    assert metric_names() == BUILTIN


def test_a_metric_must_get_its_inputs_and_return_its_keys(inputs: Inputs) -> None:
    with pytest.raises(MetricsError, match="metric fid needs features, real_features"):
        get_metric("fid").compute(Inputs(points=inputs.points), SETTINGS)
    register_metric("liar", ["metrics/liar"], True, ["points"])(lambda x, s: {"metrics/other": 1.0})
    try:
        with pytest.raises(MetricsError, match="returned metrics/other, but registered"):
            get_metric("liar").compute(inputs, SETTINGS)
    finally:
        del METRICS["liar"]


def test_better_follows_the_registered_direction() -> None:
    fid, psnr_ = get_metric("fid"), get_metric("psnr")
    assert fid.better(10.0, 12.0) and not fid.better(12.0, 10.0) and not fid.better(10.0, 10.0)
    assert psnr_.better(12.0, 10.0) and not psnr_.better(10.0, 12.0)
    assert fid.better(99.0, None) and fid.better(99.0, math.nan)
    assert not fid.better(math.nan, 10.0) and not psnr_.better(math.nan, None)


# ------------------------------------------------------------------ a metric added by a test

POINTS = [*TINY, "data=ring8", "model=mlp_2d", "data.batch_size=64", "data.num_samples=2500"]
POINTS += ["metrics=mixture", "metrics.every_g_steps=1", "gan.max_g_steps=3"]
POINTS += ["metrics.compute=[modes,spread_up,spread_down]"]


@pytest.fixture
def spread() -> Iterator[None]:
    """The spread of the generated points, registered twice: higher and lower is better."""

    def value(x: Inputs, s: EvalSettings) -> float:
        return float(x.points.std())

    register_metric("spread_up", ["metrics/spread_up"], True, ["points"])(
        lambda x, s: {"metrics/spread_up": value(x, s)}
    )
    register_metric("spread_down", ["metrics/spread_down"], False, ["points"])(
        lambda x, s: {"metrics/spread_down": value(x, s)}
    )
    try:
        yield
    finally:
        del METRICS["spread_up"], METRICS["spread_down"]


def printed_table(stdout: str) -> list[dict[str, str]]:
    """ganlab-compare's rows by header (plain text: columns >= 2 spaces apart)."""
    lines = [line.strip() for line in stdout.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith("run "))
    header = re.split(r"\s{2,}", lines[start])
    rows = []
    for line in lines[start + 2 :]:
        if not line:
            break
        rows.append(dict(zip(header, re.split(r"\s{2,}", line), strict=True)))
    return rows


# The legend labels hold the runs' temporary paths: too long for a tidy layout.
@pytest.mark.filterwarnings("ignore:constrained_layout not applied")
def test_a_new_metric_is_computed_kept_best_and_compared(
    spread: None, compose_cfg: ComposeFn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    summaries = {
        "up": train(
            compose_cfg(*POINTS, "metrics.monitor=spread_up", f"paths.run_dir={runs / 'up'}")
        ),
        "down": train(
            compose_cfg(
                *POINTS, "seed=1", "metrics.monitor=spread_down", f"paths.run_dir={runs / 'down'}"
            )
        ),
    }
    curves = {}
    for name, summary in summaries.items():
        history = summary["metrics"]["history"]
        assert [h["g_step"] for h in history] == [1, 2, 3]
        up = [h["metrics/spread_up"] for h in history]
        assert up == [h["metrics/spread_down"] for h in history] and len(set(up)) == 3
        curves[name] = up
        assert (runs / name / "checkpoints" / "best.ckpt").is_file()
    # best.ckpt follows the monitored metric in its registered direction.
    best_up, best_down = summaries["up"]["metrics"]["best"], summaries["down"]["metrics"]["best"]
    assert best_up["metrics/spread_up"] == max(curves["up"])
    assert best_up["g_step"] == 1 + curves["up"].index(max(curves["up"]))
    assert best_down["metrics/spread_down"] == min(curves["down"])
    assert best_down["g_step"] == 1 + curves["down"].index(min(curves["down"]))

    capsys.readouterr()
    assert compare.main([str(runs), "--sort", "spread_up"]) == 0
    rows = printed_table(capsys.readouterr().out)
    columns = list(rows[0])
    for name in ("fid", "is", "kid", "modes", "spread_up", "spread_down"):  # kl: not computed
        assert columns.count(name) == 1 and f"{name}_best" in columns
    assert "kl" not in columns and "pr" not in columns
    assert columns.index("spread_up") < columns.index("spread_down") < columns.index("kimg")
    by_run = {row["run"]: row for row in rows}
    for name, values in curves.items():
        row = by_run[name]
        assert row["spread_up"] == row["spread_down"] == compare.format_cell("", values[-1])
        # From summary.json where it records the best, else from metrics.csv: same answer.
        assert row["spread_up_best"] == compare.format_cell("", max(values))
        assert row["spread_down_best"] == compare.format_cell("", min(values))
    finals = {name: values[-1] for name, values in curves.items()}
    higher_first = sorted(finals, key=finals.__getitem__, reverse=True)
    assert [row["run"] for row in rows] == higher_first
    assert compare.main([str(runs), "--sort", "spread_down"]) == 0
    assert [row["run"] for row in printed_table(capsys.readouterr().out)] == higher_first[::-1]


# ------------------------------------------------------------------ config errors


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["metrics=domain", "metrics.compute=[fid,fdi]"],
            r"metrics\.compute: 'fdi' is not a registered metric; choose from "
            + ", ".join(BUILTIN),
        ),
        (
            ["metrics=domain", "metrics.monitor=psnr"],
            r"metrics\.monitor: 'psnr' is not computed; choose one of fid, is, kid, pr",
        ),
        (
            ["metrics=mixture", "data=ring8", "model=mlp_2d", "metrics.compute=[modes,kid]"],
            r"metrics\.compute: kid needs features, real_features, which metrics\.features="
            r"mixture does not give; with mixture choose from modes, hq, kl",
        ),
    ],
    ids=["unknown-metric", "monitor-not-computed", "metric-the-features-cannot-give"],
)
def test_bad_metric_choices_stop_before_training(
    compose_cfg: ComposeFn, tmp_path: Path, overrides: list[str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        train(compose_cfg(*TINY, *overrides))
    assert not (tmp_path / "run" / "checkpoints").exists()
    assert not (tmp_path / "run" / "summary.json").exists()
