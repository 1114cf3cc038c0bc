"""``ganlab-compare PATH``: one table and two plots across every run under a folder.

It reads only local files (each run's ``summary.json`` and ``metrics.csv``), so it works
offline and without a W&B account.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from rich import box
from rich.console import Console
from rich.table import Table

from ganlab.cli.outputs import add_overwrite_flag, check_output_file, png_written_by
from ganlab.errors import ConfigError, DataError
from ganlab.metrics.registry import METRICS, MetricSpec, get_metric
from ganlab.reproduce import read_summary

PROG = "ganlab-compare"
RUN_HINT = (
    "a run folder is one that holds summary.json, which ganlab-train writes at the end of a "
    "run (outputs/<name>/<date>_<time>_<hex>/ or outputs/multirun/<date>_<time>_<hex>/<job>/)"
)
KIMG = "progress/kimg"
# Keys every ganlab-train summary.json holds; a summary.json without them is another tool's.
COMPARE_KEYS = ("g_steps", "kimg", "overrides")
FID_PNG = "compare_fid.png"
LOSSES_PNG = "compare_losses.png"

Value = float | str | None
Curve = list[tuple[float, float]]


RUN_COLUMNS = ("kimg", "img/s", "wall")


@dataclass
class Run:
    """One finished run: where it lies, what was typed to start it and what it logged."""

    path: Path
    name: str  # the path relative to PATH, as the table shows it
    overrides: dict[str, str]
    summary: dict[str, Any]
    curves: dict[str, Curve]  # logged key -> (kimg, value) points in logged order

    def final(self, metric: MetricSpec) -> float | None:
        """The last value, from summary.json; a run without a ``metrics`` block has none."""
        return ((self.summary.get("metrics") or {}).get("final") or {}).get(metric.key)

    def best(self, metric: MetricSpec) -> float | None:
        """summary.json's best value if it records one (the monitored metric's), else the best
        logged value in the metric's registered direction."""
        recorded = ((self.summary.get("metrics") or {}).get("best") or {}).get(metric.key)
        if recorded is not None:
            return recorded
        values = [v for _, v in self.curves.get(metric.key, []) if math.isfinite(v)]
        if not values:
            return None
        return max(values) if metric.higher_is_better else min(values)


def find_runs(root: Path) -> list[Path]:
    """Every folder under ``root`` (itself included) that holds summary.json.

    Run folders are not searched further: their wandb/ folders hold many files and no runs.
    """
    found = []
    for folder, subfolders, files in os.walk(root):
        if "summary.json" in files:
            found.append(Path(folder))
            subfolders.clear()
    return sorted(found)


def split_override(override: str) -> tuple[str, str]:
    """``key=value`` as typed (``+key``/``~key`` keep their prefix, so they stay distinct)."""
    key, _, value = override.partition("=")
    return key, value


def read_curves(csv_path: Path, kimg_per_g_step: float) -> dict[str, Curve]:
    """Every column of metrics.csv as (kimg, value) points.

    Lightning's CSVLogger leaves a cell empty where a key was not logged in that row, so a
    row without ``progress/kimg`` (an evaluation logged apart from the losses) takes the
    kimg of its G step from another row, or G step x kimg per G step. A cell that is not a
    number raises ``DataError`` naming the file, row and column.
    """
    if not csv_path.is_file():
        return {}
    try:
        with csv_path.open(newline="") as f:
            rows = [row for row in csv.DictReader(f) if row.get("step")]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{csv_path} cannot be read ({exc})") from None
    table: list[tuple[int, dict[str, float]]] = []
    for line, row in enumerate(rows, start=2):
        if None in row:
            raise DataError(f"{csv_path}: row {line} has more cells than the header has columns")
        values = {}
        for key, cell in row.items():
            if not cell:
                continue
            try:
                values[key] = float(cell)
            except ValueError:
                raise DataError(
                    f"{csv_path}: row {line}, column {key}: {cell!r} is not a number"
                ) from None
        if not values["step"].is_integer():
            raise DataError(f"{csv_path}: row {line}: step {row['step']!r} is not a whole number")
        table.append((int(values["step"]), values))
    kimg_at = {step: values[KIMG] for step, values in table if KIMG in values}
    curves: dict[str, Curve] = {}
    for step, values in table:
        kimg = kimg_at.get(step, step * kimg_per_g_step)
        for key, value in values.items():
            if key != "step":
                curves.setdefault(key, []).append((kimg, value))
    return curves


def load_run(path: Path, root: Path) -> Run:
    """Read one run folder's summary.json and metrics.csv.

    Raises ``DataError`` for a summary.json that is not one ganlab-train wrote; a broken
    metrics.csv only costs the run its curves, with a warning.
    """
    summary = read_summary(path / "summary.json", COMPARE_KEYS, "the table leaves this run out")
    g_steps = summary.get("g_steps") or 0
    kimg_per_g_step = (summary.get("kimg") or 0.0) / g_steps if g_steps else 0.0
    try:
        curves = read_curves(path / "metrics.csv", kimg_per_g_step)
    except DataError as err:
        warn(f"{err}; the plots leave this run out")
        curves = {}
    return Run(
        path=path,
        name=path.relative_to(root).as_posix() if path != root else path.name,
        overrides=dict(split_override(o) for o in summary.get("overrides") or []),
        summary=summary,
        curves=curves,
    )


def load_runs(root: Path) -> tuple[list[Run], int]:
    """All readable runs under ``root``, and how many were skipped, each named in a warning."""
    runs, skipped = [], 0
    for path in find_runs(root):
        try:
            runs.append(load_run(path, root))
        except DataError as err:
            warn(str(err))
            skipped += 1
    return runs, skipped


def warn(message: str) -> None:
    """One line on stderr; the comparison goes on."""
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def differing_keys(runs: list[Run]) -> list[str]:
    """Override keys whose value (or absence) is not the same in every run, in typed order.

    Only these tell the runs apart; the shared ones would be the same in every row.
    """
    keys = dict.fromkeys(key for run in runs for key in run.overrides)
    return [key for key in keys if len({run.overrides.get(key) for run in runs}) > 1]


def shown_metrics(runs: list[Run]) -> list[MetricSpec]:
    """The registered metrics' columns: those shown always (FID / IS / KID), and the others
    only when some run has them."""
    return [
        m
        for m in METRICS.values()
        if m.shown == "always"
        or (
            m.shown == "logged"
            and any(r.final(m) is not None or r.best(m) is not None for r in runs)
        )
    ]


def row_values(run: Run, keys: list[str], metrics: list[MetricSpec]) -> dict[str, Value]:
    """One table row, by column key, unformatted so that it can be sorted."""
    row: dict[str, Value] = {"run": run.name}
    row.update({key: run.overrides.get(key) for key in keys})
    for m in metrics:
        row[m.name] = run.final(m)
        row[f"{m.name}_best"] = run.best(m)
    row["kimg"] = run.summary.get("kimg")
    row["img/s"] = run.summary.get("images_per_s")
    row["wall"] = run.summary.get("wall_time_s")
    return row


def order_key(value: Value) -> tuple[int, float, str]:
    """Numbers (also numeric override strings such as ``1e-4``) by value, before text."""
    try:
        return (0, float(str(value)), "")
    except ValueError:
        return (1, 0.0, str(value))


def sort_runs(
    rows: list[tuple[Run, dict[str, Value]]], column: str, descending: bool
) -> list[tuple[Run, dict[str, Value]]]:
    """Sort by one column; runs that lack it go last whichever way the sort runs."""
    present = [r for r in rows if r[1][column] is not None]
    missing = [r for r in rows if r[1][column] is None]
    present.sort(key=lambda r: order_key(r[1][column]), reverse=descending)
    return present + missing


def format_duration(seconds: float) -> str:
    """Wall time as a person reads it: 9.4s, 12m05s, 3h07m."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes}m{int(seconds % 60):02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


def format_cell(column: str, value: Value) -> str:
    """A cell's text: ``-`` where a run lacks the value."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if column == "wall":
        return format_duration(value)
    return f"{value:.1f}" if abs(value) >= 100 else f"{value:.4g}"


def make_table(columns: list[str], rows: list[dict[str, Value]]) -> Table:
    """The comparison table; headers are the keys ``--sort`` accepts."""
    table = Table(box=box.SIMPLE_HEAD)
    text_columns = {"run"} | {c for c in columns if any(isinstance(r[c], str) for r in rows)}
    for column in columns:
        table.add_column(column, justify="left" if column in text_columns else "right")
    for row in rows:
        table.add_row(*(format_cell(c, row[c]) for c in columns))
    return table


def legend_labels(runs: list[Run], keys: list[str]) -> list[str]:
    """Label each run by its differing overrides, prefixed by its path where they collide."""
    labels = [
        ", ".join(f"{k}={run.overrides[k]}" for k in keys if k in run.overrides) for run in runs
    ]
    if all(labels) and len(set(labels)) == len(labels):
        return labels
    return [f"{run.name} {label}".rstrip() for run, label in zip(runs, labels, strict=True)]


def plot_curves(ax: Axes, runs: list[Run], labels: list[str], key: str, name: str) -> bool:
    """Plot ``key`` against kimg for every run that logged it; say so on the axes if none did."""
    plotted = False
    for run, label in zip(runs, labels, strict=True):
        points = sorted(run.curves.get(key, []))
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, label=label, marker="o" if len(points) < 30 else None, markersize=3)
            plotted = True
    ax.set(xlabel="kimg", ylabel=name, title=name)
    if plotted:
        ax.legend(fontsize="small")
    else:
        ax.text(0.5, 0.5, f"no {name} logged", ha="center", va="center", transform=ax.transAxes)
    return plotted


def save(fig: Figure, path: Path) -> None:
    """Render with Agg: no display and no pyplot state, so it runs headless and in tests.

    The PNG says it was written by ganlab-compare, so a later run may replace it (and only it).
    """
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=120, metadata={"Software": PROG})


def plot_fid(runs: list[Run], labels: list[str], path: Path) -> bool:
    """compare_fid.png; returns whether any run logged FID (the file is written either way)."""
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    plotted = plot_curves(fig.add_subplot(), runs, labels, get_metric("fid").key, "FID")
    save(fig, path)
    return plotted


def plot_losses(runs: list[Run], labels: list[str], path: Path) -> None:
    """compare_losses.png: D and G losses side by side."""
    fig = Figure(figsize=(12, 4.5), layout="constrained")
    ax_d, ax_g = fig.subplots(1, 2)
    plot_curves(ax_d, runs, labels, "loss/d", "loss/d")
    plot_curves(ax_g, runs, labels, "loss/g", "loss/g")
    save(fig, path)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line: PATH, --sort, --out."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Compare the runs under PATH: a table of their differing overrides and "
        f"metrics, and the plots {FID_PNG} and {LOSSES_PNG}.",
    )
    parser.add_argument(
        "path",
        type=Path,
        metavar="PATH",
        help="a run folder, a run-name folder, a multirun sweep folder or all of outputs/",
    )
    parser.add_argument(
        "--sort",
        default="fid",
        metavar="KEY",
        help="the column to sort by (a header of the table); better first for metrics, "
        "ascending otherwise, runs without a value last (default: fid)",
    )
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="where to write the plots (default: PATH)"
    )
    add_overwrite_flag(parser)
    return parser.parse_args(argv)


def fail(message: str) -> int:
    """One line on stderr, exit code 2 (as ganlab-train does for bad input)."""
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``ganlab-compare``."""
    args = parse_args(argv)
    root: Path = args.path
    if not root.is_dir():
        return fail(f"{root} does not exist or is not a folder; {RUN_HINT}")
    out: Path = args.out or root
    try:  # a file of the same name that ganlab-compare did not write is kept
        for name in (FID_PNG, LOSSES_PNG):
            ours = png_written_by(out / name, PROG)
            check_output_file(out / name, args.overwrite, what="plot", ours=ours)
    except ConfigError as exc:
        return fail(str(exc))
    runs, skipped = load_runs(root)
    if not runs and skipped:
        return fail(f"none of the {skipped} runs under {root} could be read (see the warnings)")
    if not runs:
        return fail(f"no run under {root}; {RUN_HINT}")

    keys = differing_keys(runs)
    metrics = shown_metrics(runs)
    columns = [
        "run",
        *keys,
        *(c for m in metrics for c in (m.name, f"{m.name}_best")),
        *RUN_COLUMNS,
    ]
    if args.sort not in columns:
        return fail(f"--sort {args.sort}: not a column; choose one of {', '.join(columns)}")
    descending = {c for m in metrics if m.higher_is_better for c in (m.name, f"{m.name}_best")}
    rows = sort_runs(
        [(run, row_values(run, keys, metrics)) for run in runs],
        args.sort,
        descending=args.sort in descending,
    )
    runs = [run for run, _ in rows]

    console = Console(markup=False, highlight=False)
    if not console.is_terminal:
        console.width = 10_000  # plain text for files and pipes: one line per row, no wrapping
    title = f"{len(runs)} run{'s' if len(runs) != 1 else ''} under {root}"
    if skipped:
        title += f" ({skipped} unreadable, skipped)"
    # On a line of its own: as the table's title it would wrap to the table's width.
    console.print(title)
    console.print(make_table(columns, [row for _, row in rows]))

    out.mkdir(parents=True, exist_ok=True)
    labels = legend_labels(runs, keys)
    has_fid = plot_fid(runs, labels, out / FID_PNG)
    plot_losses(runs, labels, out / LOSSES_PNG)
    console.print(f"wrote {out / FID_PNG}" + ("" if has_fid else " (no FID logged in any run)"))
    console.print(f"wrote {out / LOSSES_PNG}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
