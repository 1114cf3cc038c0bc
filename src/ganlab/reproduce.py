"""Paper reproductions: an experiment file's paper and expected numbers against our runs.

An experiment file (``experiments/NAME.yaml``) states a paper's setting and, in three blocks
that training ignores, what it reproduces (``paper``), the seeds to run (``reproduce``) and
the paper's numbers with the check we hold ourselves to (``expected``). This module checks
those blocks, aggregates the runs' ``summary.json`` files over seeds (mean, std, n), applies
each check and writes the report (``results/NAME.md`` and ``NAME.json``).
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ganlab.errors import ConfigError, DataError
from ganlab.metrics.registry import get_metric, metric_of_key, short_key
from ganlab.run.summary import write_json

CHECKS = ("within", "at_least", "at_most")
PAPER_FIELDS = ("title", "authors", "year", "arxiv", "reproduces", "dataset")
ENTRY_FIELDS = (
    "metric",
    "paper",
    "paper_spread",
    "protocol",
    "comparable",
    "check",
    "value",
)
TABLE_START = "<!-- experiments table: written by ganlab-reproduce --table -->"
TABLE_END = "<!-- end of experiments table -->"


@dataclass(frozen=True)
class Expected:
    """One number the paper reports and how ours is checked against it.

    ``check``: ``within`` (|ours - paper| <= value), ``at_least`` / ``at_most`` (ours against
    the bound ``value``: a number, another metric key of the same runs, or ``EXP:key``, the
    mean of ``key`` over another experiment's reported runs), or None (reported, not checked).
    """

    label: str
    metric: str
    paper: float | None
    paper_spread: float | None
    protocol: str
    comparable: bool
    check: str | None
    value: float | str | None


@dataclass(frozen=True)
class Experiment:
    """The validated ``paper``, ``reproduce`` and ``expected`` blocks of one experiment."""

    name: str
    paper: dict[str, Any]
    seeds: list[int]
    expected: list[Expected]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# ------------------------------------------------------------------ reading summary.json


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_object(value: Any) -> bool:
    return isinstance(value, dict)


def _is_strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _is_numbers(value: Any) -> bool:
    """A mapping of names to numbers (NaN included) or nulls, as metrics are logged."""
    return isinstance(value, dict) and all(v is None or _is_number(v) for v in value.values())


def _is_history(value: Any) -> bool:
    return isinstance(value, list) and all(_is_numbers(entry) for entry in value)


def _is_load(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 3 and all(map(_is_number, value))


def _or_null(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: value is None or check(value)


# The types ganlab-train writes under the keys that ganlab-compare and ganlab-reproduce read;
# ``*`` stands for every key of the object above it.
SUMMARY_TYPES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "experiment": ("a string or null", _or_null(_is_str)),
    "seed": ("an integer", _is_int),
    "overrides": ("a list of strings", _is_strings),
    "run_dir": ("a string", _is_str),
    "resumed_from": ("a string or null", _or_null(_is_str)),
    "g_steps": ("an integer", _is_int),
    "kimg": ("a number", _is_number),
    "wall_time_s": ("a number", _is_number),
    "images_per_s": ("a number or null", _or_null(_is_number)),
    "final": ("an object or null", _or_null(_is_object)),
    "final.*": ("a number or null", _or_null(_is_number)),
    "metrics": ("an object (final, best, history) or null", _or_null(_is_object)),
    "metrics.final": ("an object or null", _or_null(_is_object)),
    "metrics.final.*": ("a number or null", _or_null(_is_number)),
    "metrics.best": ("an object or null", _or_null(_is_object)),
    "metrics.best.*": ("a number or null", _or_null(_is_number)),
    "metrics.history": ("a list of objects of numbers or null", _or_null(_is_history)),
    "torch_threads": ("an integer or null", _or_null(_is_int)),
    "load_average": ("a list of three numbers or null", _or_null(_is_load)),
    "finished_at": ("a string or null", _or_null(_is_str)),
}
# What a report needs of each run (ganlab-train has written all of these from the start).
RUN_KEYS = ("experiment", "seed", "overrides", "run_dir", "wall_time_s")


def _json_kind(value: Any) -> str:
    """A value's JSON type, as a message names it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return {str: "a string", list: "a list", dict: "an object"}.get(type(value), "a value")


def read_summary(path: Path, required: Sequence[str], hint: str) -> dict[str, Any]:
    """A run's summary.json, or a ``DataError`` naming the file and what is wrong with it.

    ``required`` keys must be present; every key of ``SUMMARY_TYPES`` that is present must
    have its type. ``hint`` ends the message: what the reader should do about the file.
    """
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} cannot be read ({exc}); {hint}") from None
    if not text.strip():
        raise DataError(f"{path} is empty; {hint}")
    try:
        summary = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); {hint}"
        ) from None
    if not isinstance(summary, dict):
        raise DataError(
            f"{path} holds {_json_kind(summary)}, not the object ganlab-train writes; {hint}"
        )
    missing = [key for key in required if key not in summary]
    if missing:
        raise DataError(
            f"{path} lacks {', '.join(missing)}, which ganlab-train always writes: the file "
            f"is not a ganlab-train summary, or was cut or edited; {hint}"
        )
    for field, (expected, check) in SUMMARY_TYPES.items():
        *parents, key = field.split(".")
        node: Any = summary
        for parent in parents:
            node = node.get(parent) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            continue
        names = list(node) if key == "*" else [key] if key in node else []
        for name in names:
            if not check(node[name]):
                where = f"{'.'.join(parents)}[{name!r}]" if key == "*" else field
                shown = repr(node[name])
                shown = shown if len(shown) <= 40 else shown[:37] + "..."
                raise DataError(
                    f"{path}: {where} is {_json_kind(node[name])} ({shown}), expected "
                    f"{expected}; {hint}"
                )
    return summary


def validate_experiment(name: str, cfg: DictConfig | Mapping[str, Any]) -> Experiment:
    """The experiment's blocks, or a ``ConfigError`` naming the first field at fault."""
    where = f"experiments/{name}.yaml"
    if isinstance(cfg, DictConfig):
        cfg = {key: _plain(cfg.get(key)) for key in ("paper", "reproduce", "expected")}
    blocks = cfg
    paper = blocks.get("paper")
    if not isinstance(paper, dict):
        raise ConfigError(
            f"{where}: paper: missing; a reproduction names its paper with "
            f"{', '.join(PAPER_FIELDS)}"
        )
    for field in PAPER_FIELDS:
        value = paper.get(field)
        if field == "year":
            if not isinstance(value, int) or isinstance(value, bool):
                raise ConfigError(f"{where}: paper.year: expected an integer, got {value!r}")
        elif not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where}: paper.{field}: expected a non-empty string, got {value!r}")
    seeds = _seeds(where, blocks.get("reproduce"))
    expected = blocks.get("expected")
    if not isinstance(expected, dict) or not expected:
        raise ConfigError(
            f"{where}: expected: missing or empty; give one entry per number the paper reports "
            f"(fields {', '.join(ENTRY_FIELDS)})"
        )
    entries = [_entry(where, str(label), entry) for label, entry in expected.items()]
    metrics = {e.metric for e in entries}
    for entry in entries:
        ref = baseline_ref(entry.value)
        if ref is not None and not all(ref):
            raise ConfigError(
                f"{where}: expected.{entry.label}.value: {entry.value!r} names another "
                "experiment's metric as EXPERIMENT:KEY (e.g. ring8_gan:metrics/modes)"
            )
        if isinstance(entry.value, str) and entry.value not in metrics and "/" not in entry.value:
            raise ConfigError(
                f"{where}: expected.{entry.label}.value: {entry.value!r} is neither a number nor "
                "a metric key (e.g. metrics/modes)"
            )
    return Experiment(name=name, paper=paper, seeds=seeds, expected=entries)


def _plain(node: Any) -> Any:
    """A config node as plain Python values (interpolations resolved)."""
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node


def _seeds(where: str, reproduce: Any) -> list[int]:
    seeds = reproduce.get("seeds") if isinstance(reproduce, dict) else None
    if (
        not isinstance(seeds, list)
        or not seeds
        or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)
        or len(set(seeds)) != len(seeds)
    ):
        raise ConfigError(
            f"{where}: reproduce.seeds: expected a list of distinct integers, e.g. [0, 1, 2], "
            f"got {seeds!r}"
        )
    return seeds


def _entry(where: str, label: str, entry: Any) -> Expected:
    field = f"{where}: expected.{label}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{field}: expected a mapping with {', '.join(ENTRY_FIELDS)}")
    unknown = sorted(set(entry) - set(ENTRY_FIELDS))
    if unknown:
        raise ConfigError(
            f"{field}: unknown field(s) {', '.join(unknown)}; use {', '.join(ENTRY_FIELDS)}"
        )
    metric = entry.get("metric")
    if not isinstance(metric, str) or not metric:
        raise ConfigError(
            f"{field}.metric: expected a key of summary.json's metrics (e.g. "
            f"{get_metric('fid').key}), got {metric!r}"
        )
    for key in ("paper", "paper_spread"):
        if entry.get(key) is not None and not _is_number(entry[key]):
            raise ConfigError(f"{field}.{key}: expected a number or null, got {entry[key]!r}")
    if entry.get("paper_spread") is not None and entry["paper_spread"] < 0:
        raise ConfigError(f"{field}.paper_spread: expected a number >= 0")
    protocol = entry.get("protocol")
    if not isinstance(protocol, str) or not protocol.strip():
        raise ConfigError(f"{field}.protocol: say how the paper measured it (a string)")
    comparable = entry.get("comparable")
    if not isinstance(comparable, bool):
        raise ConfigError(f"{field}.comparable: expected true or false, got {comparable!r}")
    check, value = entry.get("check"), entry.get("value")
    if check is not None and check not in CHECKS:
        raise ConfigError(f"{field}.check: {check!r} is not one of {', '.join(CHECKS)} or null")
    if check == "within":
        if entry.get("paper") is None:
            raise ConfigError(f"{field}.check: within needs the paper's number in paper")
        if not comparable:
            raise ConfigError(
                f"{field}.check: within compares with the paper's number, which comparable: "
                "false says is not comparable; use check: null or an at_least/at_most bound"
            )
        if not _is_number(value) or value < 0:
            raise ConfigError(f"{field}.value: within needs a tolerance >= 0, got {value!r}")
    elif check is not None:
        if not (_is_number(value) or (isinstance(value, str) and value)):
            raise ConfigError(
                f"{field}.value: {check} needs a bound, a number or a metric key, got {value!r}"
            )
    elif value is not None:
        raise ConfigError(f"{field}.value: given without a check; set check or value: null")
    if entry.get("paper") is None and check is None and comparable:
        raise ConfigError(f"{field}.comparable: true, but there is no paper number to compare")
    return Expected(
        label=label,
        metric=metric,
        paper=entry.get("paper"),
        paper_spread=entry.get("paper_spread"),
        protocol=protocol,
        comparable=comparable,
        check=check,
        value=value,
    )


# ------------------------------------------------------------------ aggregation and checks


def metric_value(summary: Mapping[str, Any], key: str) -> float | None:
    """A run's final value of ``key``: from the metrics' final values, else the final losses."""
    metrics = (summary.get("metrics") or {}).get("final", {})
    for source in (metrics, summary.get("final") or {}):
        if key in source and source[key] is not None:
            return float(source[key])
    return None


def aggregate(values: Sequence[float]) -> dict[str, Any]:
    """Mean, sample standard deviation (0 for one run) and n; NaNs are counted, not averaged."""
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return {"mean": None, "std": None, "n": 0, "values": list(values)}
    std = statistics.stdev(finite) if len(finite) > 1 else 0.0
    return {"mean": statistics.fmean(finite), "std": std, "n": len(finite), "values": list(values)}


def apply_check(entry: Expected, ours: float | None, means: Mapping[str, float | None]) -> Any:
    """``(passed, bound)``: passed is None when there is no check or no value to check."""
    if entry.check is None or ours is None:
        return None, None
    if entry.check == "within":
        return abs(ours - entry.paper) <= entry.value, entry.value
    bound = entry.value
    if isinstance(bound, str):
        bound = means.get(bound)
        if bound is None:
            return None, None
    passed = ours >= bound if entry.check == "at_least" else ours <= bound
    return passed, bound


def baseline_ref(value: Any) -> tuple[str, str] | None:
    """``(EXPERIMENT, KEY)`` for a bound ``"EXPERIMENT:KEY"``, else None."""
    if isinstance(value, str) and ":" in value:
        name, key = value.split(":", 1)
        return name, key
    return None


def baseline_means(experiment: Experiment, results_dir: Path) -> dict[str, float | None]:
    """Each ``EXPERIMENT:KEY`` bound's value: the mean of KEY over that experiment's report.

    A claim such as "augmentation lowers FID against none" compares two experiments; the
    baseline's report must exist first, so this runs before any training.
    """
    means: dict[str, float | None] = {}
    for entry in experiment.expected:
        ref = baseline_ref(entry.value)
        if ref is None:
            continue
        name, key = ref
        path = results_dir / f"{name}.json"
        fix = (
            f"expected.{entry.label} of {experiment.name} compares with it: run "
            f"`ganlab-reproduce {name}` first"
        )
        if not path.is_file():
            raise DataError(f"{path} does not exist; {fix}")
        try:
            values = [run["values"][key] for run in json.loads(path.read_text())["runs"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DataError(
                f"{path} has no {key!r} for its runs ({type(exc).__name__}: {exc}); {fix}"
            ) from None
        if not values or not all(v is None or _is_number(v) for v in values):
            raise DataError(f"{path}: runs' {key!r} must be numbers or null; {fix}")
        means[entry.value] = aggregate([math.nan if v is None else v for v in values])["mean"]
    return means


def evaluate_runs(
    experiment: Experiment,
    summaries: Sequence[Mapping[str, Any]],
    baselines: Mapping[str, float | None] | None = None,
) -> dict:
    """Every expected number: the paper's, ours over the runs, the check and its outcome.

    ``baselines`` holds the ``EXPERIMENT:KEY`` bounds (``baseline_means``).
    """
    if not summaries:
        raise DataError(f"{experiment.name}: no run summaries to aggregate")
    keys = {e.metric for e in experiment.expected}
    keys |= {
        e.value
        for e in experiment.expected
        if isinstance(e.value, str) and baseline_ref(e.value) is None
    }
    ours = {}
    for key in sorted(keys):
        found = [metric_value(s, key) for s in summaries]
        if any(v is None for v in found):
            missing = [s.get("seed") for s, v in zip(summaries, found, strict=True) if v is None]
            raise DataError(
                f"{experiment.name}: the runs of seed(s) {missing} logged no {key!r}; check the "
                "metric key in expected (a key of summary.json's metrics.final or final)"
            )
        ours[key] = aggregate(found)
    means = {key: value["mean"] for key, value in ours.items()} | dict(baselines or {})
    results = []
    for entry in experiment.expected:
        measured = ours[entry.metric]
        passed, bound = apply_check(entry, measured["mean"], means)
        results.append({**asdict(entry), "ours": measured, "bound": bound, "passed": passed})
    checked = [r["passed"] for r in results if r["check"] is not None]
    return {
        "results": results,
        "passed": None if not checked else all(p is True for p in checked),
    }


# ------------------------------------------------------------------ hardware


def hardware(summaries: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """What the runs were measured on: CPU model and cores, torch threads, GPU if any.

    The runs' own thread count (summary.json ``torch_threads``) wins over this process's;
    ``load`` is the highest 15-minute load average at the end of a run (None if unknown),
    which says whether the machine was shared while they ran.
    """
    import torch

    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    threads = sorted({s["torch_threads"] for s in summaries if s.get("torch_threads")})
    loads = [s["load_average"][2] for s in summaries if s.get("load_average")]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": threads[0] if len(threads) == 1 else threads or torch.get_num_threads(),
        "gpu": gpu,
        "load": max(loads) if loads else None,
    }


def describe_hardware(hw: Mapping[str, Any]) -> str:
    """One line for tables: "CPU, 2 cores, 1 torch thread (AMD EPYC ...), load 1.1"."""
    threads = hw.get("torch_threads")
    text = f"CPU, {hw.get('cores')} cores, {threads} torch thread{'s' if threads != 1 else ''}"
    text += f" ({hw.get('cpu')})"
    if hw.get("load") is not None:
        text += f", load avg {hw['load']:.1f}"
    if hw.get("gpu"):
        text = f"GPU {hw['gpu']}; {text}"
    return text


# ------------------------------------------------------------------ report


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def _runs(count: int) -> str:
    return f"{count} run{'s' if count != 1 else ''}"


def format_ours(ours: Mapping[str, Any]) -> str:
    """Ours as ``mean +- std (n=3)``."""
    if ours["mean"] is None:
        return "no value"
    return f"{_fmt(ours['mean'])} +- {_fmt(ours['std'], 2)} (n={ours['n']})"


def format_paper(result: Mapping[str, Any]) -> str:
    if result["paper"] is None:
        return "-"
    spread = result.get("paper_spread")
    return _fmt(result["paper"]) + ("" if spread is None else f" +- {_fmt(spread)}")


def format_check(result: Mapping[str, Any]) -> str:
    check = result["check"]
    if check is None:
        return "not checked"
    if check == "within":
        return f"within {_fmt(result['value'])} of the paper"
    op = ">=" if check == "at_least" else "<="
    bound = result["value"]
    if isinstance(bound, str):
        return f"{op} {bound} ({_fmt(result['bound'])})"
    return f"{op} {_fmt(bound)}"


def format_outcome(passed: bool | None) -> str:
    return {True: "pass", False: "FAIL", None: "-"}[passed]


def history_curves(
    summaries: Sequence[Mapping[str, Any]], keys: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """Per metric, per seed: the (kimg, value) points of the run's evaluations."""
    curves: dict[str, list[dict[str, Any]]] = {}
    for key in keys:
        lines = []
        for summary in summaries:
            history = (summary.get("metrics") or {}).get("history") or []
            points = [
                [h["kimg"], h[key]]
                for h in history
                if h.get(key) is not None and h.get("kimg") is not None
            ]
            if points:
                lines.append({"seed": summary.get("seed"), "points": points})
        if lines:
            curves[key] = lines
    return curves


def metric_label(key: str) -> str:
    """A key as plot titles and plans show it, with its registered direction when it is a
    metric's headline: ``fid (lower is better)``; other keys (losses, spreads) bare."""
    spec = metric_of_key(key)
    label = short_key(key)
    return label if spec is None else f"{label} ({spec.direction} is better)"


def plot_curves(curves: Mapping[str, list[dict[str, Any]]], title: str, path: Path) -> None:
    """One panel per metric: its value against kimg, one line per seed."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4.2 * len(curves), 3.4), dpi=100)
    FigureCanvasAgg(figure)
    for i, (key, lines) in enumerate(curves.items()):
        axes = figure.add_subplot(1, len(curves), i + 1)
        for line in lines:
            kimg, value = zip(*line["points"], strict=True)
            axes.plot(kimg, value, marker=".", label=f"seed {line['seed']}")
        axes.set_xlabel("kimg")
        axes.set_title(metric_label(key))
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small")
    figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)


def last_sample_grid(run_dir: Path) -> Path | None:
    """The run's last sample grid (names sort by G step)."""
    grids = sorted((run_dir / "samples").glob("*.png"))
    return grids[-1] if grids else None


def build_report(
    experiment: Experiment,
    summaries: Sequence[Mapping[str, Any]],
    run_walls: Sequence[float],
    command: str,
    overrides: Sequence[str],
    hw: Mapping[str, Any],
    baselines: Mapping[str, float | None] | None = None,
) -> dict[str, Any]:
    """The JSON report: paper, checks, per-run values, curves, budget, hardware, wall time."""
    outcome = evaluate_runs(experiment, summaries, baselines)
    keys = list(dict.fromkeys(e.metric for e in experiment.expected))
    runs = [
        {
            "seed": s.get("seed"),
            "run_dir": s.get("run_dir"),
            "g_steps": s.get("g_steps"),
            "kimg": s.get("kimg"),
            "wall_time_s": wall,
            "resumed_from": s.get("resumed_from"),
            "values": {key: metric_value(s, key) for key in keys},
        }
        for s, wall in zip(summaries, run_walls, strict=True)
    ]
    return {
        "experiment": experiment.name,
        "paper": experiment.paper,
        "seeds": [s.get("seed") for s in summaries],
        "command": command,
        "overrides": list(overrides),
        "hardware": dict(hw),
        "wall_time_s": float(sum(run_walls)),
        "budget": {
            "g_steps": [s.get("g_steps") for s in summaries],
            "kimg": [s.get("kimg") for s in summaries],
        },
        **outcome,
        "runs": runs,
        "curves": history_curves(summaries, keys),
        "measured_at": max(
            (s["finished_at"] for s in summaries if s.get("finished_at")),
            default=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        ),
    }


def render_markdown(report: Mapping[str, Any], grid: str | None, curve: str | None) -> str:
    """``results/NAME.md``: the side-by-side table, what ran, where, and the pictures."""
    paper = report["paper"]
    verdict = {True: "all checks pass", False: "at least one check FAILS", None: "nothing checked"}
    lines = [
        f"# {report['experiment']}: {paper['title']}",
        "",
        f"{paper['authors']} ({paper['year']}), arXiv:{paper['arxiv']}. "
        f"Reproduces {paper['reproduces']} on {paper['dataset']}.",
        "",
        f"Result: **{verdict[report['passed']]}** over seeds {report['seeds']}.",
        "",
        "| number | metric | paper | ours (mean +- std over seeds) | check | result | comparable |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        lines.append(
            f"| {r['label']} | `{r['metric']}` | {format_paper(r)} | {format_ours(r['ours'])} "
            f"| {format_check(r)} | {format_outcome(r['passed'])} "
            f"| {'yes' if r['comparable'] else 'no: ours alone'} |"
        )
    lines += ["", "Protocols:", ""]
    lines += [f"- {r['label']}: {r['protocol']}" for r in report["results"]]
    g_steps = sorted({g for g in report["budget"]["g_steps"] if g is not None})
    kimg = sorted({round(k, 1) for k in report["budget"]["kimg"] if k is not None})
    lines += [
        "",
        "## How it was measured",
        "",
        "```bash",
        report["command"],
        "```",
        "",
        f"- Hardware: {describe_hardware(report['hardware'])}",
        f"- Wall time: {report['wall_time_s'] / 60:.1f} min for {_runs(len(report['runs']))} "
        "(one after another, including evaluation)",
        f"- Budget per run: {', '.join(map(str, g_steps))} G steps, "
        f"{', '.join(map(str, kimg))} kimg",
        *(
            f"- Seed {run['seed']} resumed from `{run['resumed_from']}`: its wall time is the "
            "resumed leg's only"
            for run in report["runs"]
            if run.get("resumed_from")
        ),
        f"- Measured: {report['measured_at']}",
        "",
        "| seed | "
        + " | ".join(f"`{k}`" for k in report["runs"][0]["values"])
        + " | G steps | wall (s) |",
        "|---|" + "---|" * (len(report["runs"][0]["values"]) + 2),
    ]
    for run in report["runs"]:
        values = " | ".join(_fmt(v) for v in run["values"].values())
        lines.append(f"| {run['seed']} | {values} | {run['g_steps']} | {run['wall_time_s']:.0f} |")
    if grid:
        lines += ["", f"Final samples (seed {report['seeds'][0]}):", "", f"![samples]({grid})"]
    if curve:
        lines += ["", "Metrics against kimg:", "", f"![curves]({curve})"]
    return "\n".join(lines) + "\n"


def write_report(
    report: Mapping[str, Any], summaries: Sequence[Mapping[str, Any]], results_dir: Path
) -> Path:
    """Write ``NAME.json``, ``NAME.md``, the sample grid ``NAME.png`` and ``NAME_curves.png``."""
    name = report["experiment"]
    results_dir.mkdir(parents=True, exist_ok=True)
    grid_name = curve_name = None
    source = last_sample_grid(Path(summaries[0]["run_dir"])) if summaries else None
    if source is not None:
        grid_name = f"{name}.png"
        shutil.copyfile(source, results_dir / grid_name)
    if report["curves"]:
        curve_name = f"{name}_curves.png"
        plot_curves(report["curves"], name, results_dir / curve_name)
    write_json(results_dir / f"{name}.json", dict(report))
    markdown = results_dir / f"{name}.md"
    markdown.write_text(render_markdown(report, grid_name, curve_name))
    return markdown


# ------------------------------------------------------------------ the experiments table


def experiments_table(experiments_dir: Path, results_dir: Path) -> str:
    """Markdown table of every experiment file with a paper block and its last result."""
    rows = [
        "| experiment | paper | reproduces | command | hardware, wall time | paper's number "
        "| ours (last run) | result |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for path in sorted(experiments_dir.glob("*.yaml")):
        blocks = OmegaConf.to_container(OmegaConf.load(path))
        paper = blocks.get("paper")
        if not isinstance(paper, dict):
            continue
        name = path.stem
        cite = f"{_short_authors(str(paper.get('authors', '')))} {paper.get('year')}"
        command = f"`make reproduce EXP={name}`"
        result_path = results_dir / f"{name}.json"
        if not result_path.is_file():
            expected = [{"label": k, **v} for k, v in (blocks.get("expected") or {}).items()]
            rows.append(
                f"| {name} | {cite} | {paper.get('reproduces')} | {command} | not measured here "
                f"| {_paper_numbers(expected)} | - | - |"
            )
            continue
        try:
            report = json.loads(result_path.read_text())
            rows.append(_measured_row(name, cite, str(paper.get("reproduces")), command, report))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DataError(
                f"{result_path} is not a report ganlab-reproduce can read "
                f"({type(exc).__name__}: {exc}); restore it from version control or rerun "
                f"ganlab-reproduce {name}"
            ) from None
    return "\n".join(rows) + "\n"


def _measured_row(name: str, cite: str, reproduces: str, command: str, report: Any) -> str:
    """The table row of an experiment with a report: where, how long, paper's and ours."""
    resumed = any(run.get("resumed_from") for run in report["runs"])
    where = (
        f"{describe_hardware(report['hardware'])}, {report['wall_time_s'] / 60:.0f} min "
        f"({_runs(len(report['runs']))}{', resumed: last leg only' if resumed else ''})"
    )
    papers = _paper_numbers(report["results"])
    ours = "<br>".join(
        f"{r['label']}: {format_ours(r['ours'])}{_table_note(r)}" for r in report["results"]
    )
    outcome = {True: "pass", False: "FAIL", None: "-"}[report["passed"]]
    return (
        f"| [{name}](results/{name}.md) | {cite} | {reproduces} | {command} "
        f"| {where} | {papers} | {ours} | {outcome} |"
    )


def _table_note(result: Mapping[str, Any]) -> str:
    """After a number: pass or FAIL when it is checked, "(not comparable)" when it stands alone."""
    note = "" if result["passed"] is None else f" {format_outcome(result['passed'])}"
    return note + ("" if result["comparable"] else " (not comparable)")


def _short_authors(authors: str) -> str:
    """Citation names: "Lin et al." for three or more authors, "Mirza & Osindero" for two."""
    names = [a.strip() for a in authors.split(",") if a.strip()]
    if len(names) > 2:
        return f"{names[0]} et al."
    return " & ".join(names)


def _paper_numbers(entries: Sequence[Mapping[str, Any]]) -> str:
    found = [f"{e['label']}: {format_paper(e)}" for e in entries if e.get("paper") is not None]
    return "<br>".join(found) or "-"


def update_table(readme: Path, table: str) -> bool:
    """Replace the table between the markers in ``readme``; False when it has no markers."""
    if not readme.is_file():
        return False
    text = readme.read_text()
    start, end = text.find(TABLE_START), text.find(TABLE_END)
    if start < 0 or end < start:
        return False
    readme.write_text(text[: start + len(TABLE_START)] + "\n\n" + table + "\n" + text[end:])
    return True
