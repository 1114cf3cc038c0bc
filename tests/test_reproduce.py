"""Reproduction reports: the experiment schema, aggregation over seeds, checks, files."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest

from ganlab.errors import ConfigError, DataError
from ganlab.reproduce import (
    TABLE_END,
    TABLE_START,
    aggregate,
    baseline_means,
    build_report,
    describe_hardware,
    evaluate_runs,
    experiments_table,
    hardware,
    metric_label,
    update_table,
    validate_experiment,
    write_report,
)

BLOCKS: dict[str, Any] = {
    "paper": {
        "title": "PacGAN",
        "authors": "Lin, Khetan, Fanti, Oh",
        "year": 2018,
        "arxiv": "1712.04086",
        "reproduces": "Table 1",
        "dataset": "2D ring",
    },
    "reproduce": {"seeds": [0, 1, 2]},
    "expected": {
        "modes": {
            "metric": "metrics/modes",
            "paper": 6.3,
            "paper_spread": 0.5,
            "protocol": "2,500 samples",
            "comparable": True,
            "check": "within",
            "value": 1.0,
        },
        "hq": {
            "metric": "metrics/hq_percent",
            "paper": None,
            "paper_spread": None,
            "protocol": "3-sigma rule",
            "comparable": False,
            "check": "at_least",
            "value": 50,
        },
        "kl": {
            "metric": "metrics/kl_uniform",
            "paper": 0.45,
            "paper_spread": None,
            "protocol": "unchecked formula",
            "comparable": False,
            "check": "at_most",
            "value": "metrics/hq_percent",
        },
    },
}


def blocks_with(path: str, value: Any) -> dict[str, Any]:
    """BLOCKS with one dotted field replaced (or removed when value is ...)."""
    blocks = copy.deepcopy(BLOCKS)
    *parents, last = path.split(".")
    node = blocks
    for key in parents:
        node = node[key]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return blocks


def summary(seed: int, modes: float, hq: float, kl: float, run_dir: str = "") -> dict[str, Any]:
    history = [
        {"g_step": 1, "kimg": 0.1, "metrics/modes": modes - 1, "metrics/hq_percent": hq / 2},
        {"g_step": 2, "kimg": 0.2, "metrics/modes": modes, "metrics/hq_percent": hq},
    ]
    return {
        "seed": seed,
        "run_dir": run_dir,
        "g_steps": 2,
        "kimg": 0.2,
        "final": {"loss/d": 1.0},
        "metrics": {
            "final": {"metrics/modes": modes, "metrics/hq_percent": hq, "metrics/kl_uniform": kl},
            "history": history,
        },
    }


def test_valid_blocks_give_the_experiment() -> None:
    experiment = validate_experiment("ring8_gan", BLOCKS)
    assert experiment.seeds == [0, 1, 2]
    assert [e.label for e in experiment.expected] == ["modes", "hq", "kl"]
    assert (
        experiment.expected[0].value == 1.0 and experiment.expected[2].value == "metrics/hq_percent"
    )


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("paper", ..., r"experiments/x.yaml: paper: missing"),
        ("paper.year", "2018", r"paper.year: expected an integer"),
        ("paper.arxiv", "", r"paper.arxiv: expected a non-empty string"),
        ("reproduce.seeds", [0, 0], r"reproduce.seeds: expected a list of distinct integers"),
        ("reproduce", None, r"reproduce.seeds"),
        ("expected", {}, r"expected: missing or empty"),
        ("expected.modes.metric", None, r"expected.modes.metric: expected a key"),
        ("expected.modes.check", "between", r"expected.modes.check: 'between' is not one of"),
        ("expected.modes.value", -1, r"expected.modes.value: within needs a tolerance >= 0"),
        ("expected.modes.paper", None, r"expected.modes.check: within needs the paper's number"),
        ("expected.modes.comparable", "yes", r"expected.modes.comparable: expected true or false"),
        ("expected.modes.protocol", ..., r"expected.modes.protocol: say how"),
        ("expected.modes.tolerance", 1, r"expected.modes: unknown field\(s\) tolerance"),
        ("expected.hq.value", None, r"expected.hq.value: at_least needs a bound"),
        ("expected.kl.check", None, r"expected.kl.value: given without a check"),
        ("expected.kl.value", "modes", r"expected.kl.value: 'modes' is neither a number nor"),
    ],
)
def test_schema_errors_name_the_field(path: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        validate_experiment("x", blocks_with(path, value))


def test_within_against_a_number_that_is_not_comparable_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"expected.modes.check: within compares"):
        validate_experiment("x", blocks_with("expected.modes.comparable", False))


def test_aggregate_gives_mean_sample_std_and_n() -> None:
    found = aggregate([6.0, 7.0, 8.0])
    assert found["mean"] == 7.0 and found["std"] == pytest.approx(1.0) and found["n"] == 3
    assert aggregate([5.0])["std"] == 0.0
    partial = aggregate([1.0, math.nan, 3.0])
    assert partial["mean"] == 2.0 and partial["n"] == 2 and len(partial["values"]) == 3
    assert aggregate([math.nan])["mean"] is None


def test_checks_pass_and_fail_as_stated() -> None:
    experiment = validate_experiment("ring8_gan", BLOCKS)
    runs = [summary(0, 6.0, 60.0, 0.3), summary(1, 7.0, 70.0, 0.5), summary(2, 8.0, 80.0, 0.4)]
    outcome = evaluate_runs(experiment, runs)
    modes, hq, kl = outcome["results"]
    assert modes["ours"]["mean"] == 7.0 and modes["passed"] is True  # |7 - 6.3| <= 1
    assert hq["passed"] is True and hq["bound"] == 50  # 70 >= 50
    assert kl["passed"] is True and kl["bound"] == 70.0  # 0.4 <= mean hq (a metric key)
    assert outcome["passed"] is True
    far = [summary(0, 3.0, 40.0, 0.3), summary(1, 4.0, 40.0, 0.3)]
    outcome = evaluate_runs(experiment, far)
    assert [r["passed"] for r in outcome["results"]] == [False, False, True]
    assert outcome["passed"] is False


def test_a_check_against_another_experiments_report(tmp_path: Path) -> None:
    """``value: EXP:key`` bounds ours by the mean of key over EXP's reported runs."""
    hw = {"cpu": "Test CPU", "cores": 2, "torch_threads": 1, "gpu": None}
    baseline = validate_experiment("base", BLOCKS)
    runs = [summary(0, 5.0, 50.0, 0.3), summary(1, 7.0, 70.0, 0.3)]
    write_report(build_report(baseline, runs, [1.0, 1.0], "c", [], hw), runs, tmp_path)
    blocks = blocks_with("expected.hq.value", "base:metrics/modes")
    blocks["expected"]["hq"]["metric"] = "metrics/modes"
    experiment = validate_experiment("variant", blocks)
    means = baseline_means(experiment, tmp_path)
    assert means == {"base:metrics/modes": 6.0}
    better, worse = [summary(0, 6.5, 60.0, 0.3)], [summary(0, 5.5, 60.0, 0.3)]
    assert evaluate_runs(experiment, better, means)["results"][1]["passed"] is True
    result = evaluate_runs(experiment, worse, means)["results"][1]
    assert result["passed"] is False and result["bound"] == 6.0
    missing = validate_experiment("variant", blocks_with("expected.hq.value", "none:metrics/hq"))
    with pytest.raises(DataError, match=r"none\.json does not exist.*ganlab-reproduce none"):
        baseline_means(missing, tmp_path)
    unknown = validate_experiment("variant", blocks_with("expected.hq.value", "base:metrics/x"))
    with pytest.raises(DataError, match=r"base\.json has no 'metrics/x'"):
        baseline_means(unknown, tmp_path)
    with pytest.raises(ConfigError, match=r"expected\.hq\.value: ':metrics/modes' names"):
        validate_experiment("variant", blocks_with("expected.hq.value", ":metrics/modes"))


def test_unchecked_numbers_leave_the_verdict_open() -> None:
    blocks = blocks_with("expected", {"kl": {**BLOCKS["expected"]["kl"], "check": None}})
    blocks["expected"]["kl"]["value"] = None
    outcome = evaluate_runs(validate_experiment("x", blocks), [summary(0, 6, 60, 0.4)])
    assert outcome["results"][0]["passed"] is None and outcome["passed"] is None


def test_a_metric_missing_from_a_run_names_seed_and_key() -> None:
    experiment = validate_experiment("x", BLOCKS)
    broken = summary(1, 6, 60, 0.4)
    del broken["metrics"]["final"]["metrics/modes"]
    with pytest.raises(DataError, match=r"seed\(s\) \[1\] logged no 'metrics/modes'"):
        evaluate_runs(experiment, [summary(0, 6, 60, 0.4), broken])


def test_hardware_reports_the_runs_threads_and_busiest_load() -> None:
    runs = [
        {"torch_threads": 1, "load_average": [0.5, 0.9, 1.1]},
        {"torch_threads": 1, "load_average": [4.0, 3.5, 3.2]},
    ]
    hw = hardware(runs)
    assert hw["torch_threads"] == 1 and hw["load"] == 3.2
    assert describe_hardware(hw).endswith(", load avg 3.2")
    assert hardware([{"torch_threads": 2}])["load"] is None


def test_report_files_hold_the_table_grid_and_curves(tmp_path: Path) -> None:
    from PIL import Image

    run = tmp_path / "run0"
    (run / "samples").mkdir(parents=True)
    for step, colour in ((1, 0), (2, 255)):
        Image.new("L", (8, 8), colour).save(run / "samples" / f"g{step:07d}.png")
    experiment = validate_experiment("ring8_gan", BLOCKS)
    runs = [summary(0, 6.0, 60.0, 0.3, str(run)), summary(1, 8.0, 80.0, 0.5, str(run))]
    hw = {"cpu": "Test CPU", "cores": 2, "torch_threads": 1, "gpu": None}
    report = build_report(experiment, runs, [10.0, 20.0], "ganlab-reproduce ring8_gan", [], hw)
    markdown = write_report(report, runs, tmp_path / "results")
    text = markdown.read_text()
    assert (
        "| modes | `metrics/modes` | 6.3 +- 0.5 | 7 +- 1.4 (n=2) | within 1 of the paper | pass"
        in text
    )
    assert (
        "| hq | `metrics/hq_percent` | - | 70 +- 14 (n=2) | >= 50 | pass | no: ours alone |" in text
    )
    assert "CPU, 2 cores, 1 torch thread (Test CPU)" in text and "0.5 min for 2 runs" in text
    saved = json.loads((tmp_path / "results" / "ring8_gan.json").read_text())
    assert saved["wall_time_s"] == 30.0 and saved["passed"] is True
    assert saved["curves"]["metrics/modes"][1]["points"] == [[0.1, 7.0], [0.2, 8.0]]
    assert [r["values"]["metrics/modes"] for r in saved["runs"]] == [6.0, 8.0]
    grid = Image.open(tmp_path / "results" / "ring8_gan.png")
    assert grid.getpixel((0, 0)) == 255  # the last grid (g0000002), not the first
    assert (tmp_path / "results" / "ring8_gan_curves.png").stat().st_size > 1000


def test_a_resumed_run_says_its_wall_time_is_the_last_leg(tmp_path: Path) -> None:
    experiments, results = tmp_path / "experiments", tmp_path / "experiments" / "results"
    results.mkdir(parents=True)
    (experiments / "ring8_gan.yaml").write_text(json.dumps(BLOCKS))  # JSON is YAML
    experiment = validate_experiment("ring8_gan", BLOCKS)
    hw = {"cpu": "Test CPU", "cores": 2, "torch_threads": 1, "gpu": None}
    runs = [summary(0, 6.0, 60.0, 0.3), summary(1, 8.0, 80.0, 0.5)]
    runs[1]["resumed_from"] = "outputs/ring8_gan/a/checkpoints/last.ckpt"
    text = write_report(build_report(experiment, runs, [60.0, 60.0], "c", [], hw), runs, results)
    lines = text.read_text().splitlines()
    resumed = [line for line in lines if "resumed" in line]
    assert resumed == [
        "- Seed 1 resumed from `outputs/ring8_gan/a/checkpoints/last.ckpt`: its wall time is the "
        "resumed leg's only"
    ]
    assert "2 min (2 runs, resumed: last leg only)" in experiments_table(experiments, results)


def test_table_lists_measured_and_unmeasured_experiments(tmp_path: Path) -> None:
    from omegaconf import OmegaConf

    experiments, results = tmp_path / "experiments", tmp_path / "experiments" / "results"
    results.mkdir(parents=True)
    for name in ("ring8_gan", "other"):
        OmegaConf.save(OmegaConf.create(BLOCKS), experiments / f"{name}.yaml")
    (experiments / "plain.yaml").write_text("name: plain\n")  # no paper block: not listed
    experiment = validate_experiment("ring8_gan", BLOCKS)
    hw = {"cpu": "Test CPU", "cores": 2, "torch_threads": 1, "gpu": None}
    runs = [summary(0, 6.0, 60.0, 0.3)]
    write_report(build_report(experiment, runs, [120.0], "c", [], hw), runs, results)
    table = experiments_table(experiments, results)
    rows = table.splitlines()
    assert len(rows) == 4 and "plain" not in table
    assert rows[2].startswith("| other | Lin et al. 2018 | Table 1 | `make reproduce EXP=other`")
    assert "not measured here" in rows[2]
    assert rows[3].startswith("| [ring8_gan](results/ring8_gan.md)")
    assert "modes: 6 +- 0 (n=1) pass<br>hq: 60 +- 0 (n=1) pass (not comparable)" in rows[3]
    assert "2 min (1 run)" in rows[3]
    readme = experiments / "README.md"
    readme.write_text(f"# Title\n\n{TABLE_START}\nold\n{TABLE_END}\n\nMore.\n")
    assert update_table(readme, table)
    text = readme.read_text()
    assert "old" not in text and table in text and text.endswith(f"{TABLE_END}\n\nMore.\n")
    assert not update_table(experiments / "missing.md", table)


def test_plot_labels_say_which_way_a_registered_metric_is_better() -> None:
    assert metric_label("metrics/fid") == "fid (lower is better)"
    assert metric_label("metrics/hq_percent") == "hq_percent (higher is better)"
    assert metric_label("metrics/kid_std") == "kid_std"  # a spread, not a headline
    assert metric_label("loss/d") == "loss/d"
