"""``ganlab-compare`` on a real two-job sweep (``loss=ns,hinge``) made by ``ganlab-train -m``.

Runs do not log FID yet, so the FID paths are tested on a copy of those real run folders
into which the test writes known values: a ``metrics/fid`` and ``metrics/is_mean`` column
in metrics.csv and a ``metrics`` block in summary.json, as the metrics callback will.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from ganlab.cli import compare
from tests.test_cli import train_in_process

ROOT = Path(__file__).resolve().parents[2]
TRAIN = Path(sys.executable).parent / "ganlab-train"
SWEEP = [
    "data=digits",
    "model=mlp",
    "model.generator.hidden=[32]",
    "model.discriminator.hidden=[32]",
    "gan.max_g_steps=3",
    "gan.log_every=1",
    "logger=csv",
    "callbacks=quiet",
]
HEADER = ["fid", "fid_best", "is", "is_best", "kid", "kid_best", "kimg", "img/s", "wall"]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """outputs/multirun/<stamp>/ with jobs 0 (loss=ns) and 1 (loss=hinge), 3 G steps each."""
    out = tmp_path_factory.mktemp("outputs")
    proc = train_in_process(["-m", *SWEEP, f"paths.output_root={out}", "loss=ns,hinge"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    (folder,) = (out / "multirun").iterdir()
    return folder


@pytest.fixture
def runs(sweep: Path, tmp_path: Path) -> Path:
    """A private copy of the sweep, so that a test may write into it."""
    return Path(shutil.copytree(sweep, tmp_path / "sweep"))


def table(stdout: str) -> list[dict[str, str]]:
    """The printed table's rows by header; in plain text, columns are >= 2 spaces apart."""
    lines = [line.strip() for line in stdout.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith("run "))
    header = re.split(r"\s{2,}", lines[start])
    rows = []
    for line in lines[start + 2 :]:  # skip the rule under the header
        if not line:
            break
        cells = re.split(r"\s{2,}", line)
        assert len(cells) == len(header), line
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


def assert_png(path: Path) -> None:
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.width > 0 and image.height > 0


def add_metrics(run: Path, fid: list[float], is_mean: list[float], kid: float) -> None:
    """Log FID and IS at G steps 1..3 in rows of their own, as a separate callback would."""
    with (run / "metrics.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    fields = [*rows[0], "metrics/fid", "metrics/is_mean"]
    rows += [
        {"step": str(step), "metrics/fid": str(f), "metrics/is_mean": str(i)}
        for step, (f, i) in enumerate(zip(fid, is_mean, strict=True), start=1)
    ]
    with (run / "metrics.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows(rows)
    summary = json.loads((run / "summary.json").read_text())
    summary["metrics"] = {
        "final": {
            "metrics/fid": fid[-1],
            "metrics/is_mean": is_mean[-1],
            "metrics/is_std": 0.1,
            "metrics/kid_mean": kid,
            "metrics/kid_std": 0.001,
            "metrics/precision": 0.5,
            "metrics/recall": 0.4,
        },
        "best": {"metrics/fid": min(fid), "g_step": fid.index(min(fid)) + 1, "kimg": 0.0},
    }
    (run / "summary.json").write_text(json.dumps(summary))


@pytest.fixture
def runs_with_fid(runs: Path) -> Path:
    """Job 0 (ns) ends at FID 40, job 1 (hinge) at 20; job 2, a copy of job 1 typed with
    ``loss=minimax seed=1``, has no metrics."""
    shutil.copytree(runs / "1", runs / "2")
    summary = json.loads((runs / "2" / "summary.json").read_text())
    summary["overrides"] = [o.replace("loss=hinge", "loss=minimax") for o in summary["overrides"]]
    summary["overrides"].append("seed=1")
    (runs / "2" / "summary.json").write_text(json.dumps(summary))
    add_metrics(runs / "0", fid=[45.0, 30.0, 40.0], is_mean=[3.0, 3.5, 3.2], kid=0.0123)
    add_metrics(runs / "1", fid=[50.0, 15.0, 20.0], is_mean=[2.0, 2.6, 2.5], kid=0.0456)
    return runs


def test_sweep_without_fid(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert compare.main([str(runs)]) == 0
    out = capsys.readouterr().out
    rows = table(out)
    # Only `loss` differs between the jobs: data, model, ... are no columns.
    assert list(rows[0]) == ["run", "loss", *HEADER]
    assert [(r["run"], r["loss"], r["fid"], r["fid_best"]) for r in rows] == [
        ("0", "ns", "-", "-"),
        ("1", "hinge", "-", "-"),
    ]
    summary = json.loads((runs / "0" / "summary.json").read_text())
    assert rows[0]["kimg"] == f"{summary['kimg']:.4g}" == "0.192"
    assert float(rows[0]["img/s"]) > 0
    assert "no FID logged" in out
    for name in ("compare_fid.png", "compare_losses.png"):  # --out defaults to PATH
        assert_png(runs / name)


def test_fid_rows_are_sorted_and_shown(runs_with_fid: Path, capsys) -> None:
    out_dir = runs_with_fid.parent / "plots"
    assert compare.main([str(runs_with_fid), "--out", str(out_dir)]) == 0
    out = capsys.readouterr().out
    rows = table(out)
    assert list(rows[0]) == ["run", "loss", "seed", *HEADER]
    assert [
        (r["run"], r["loss"], r["seed"], r["fid"], r["fid_best"], r["is"], r["is_best"], r["kid"])
        for r in rows
    ] == [
        ("1", "hinge", "-", "20", "15", "2.5", "2.6", "0.0456"),  # best IS from metrics.csv
        ("0", "ns", "-", "40", "30", "3.2", "3.5", "0.0123"),
        ("2", "minimax", "1", "-", "-", "-", "-", "-"),  # no FID: last
    ]
    assert "no FID logged" not in out
    for name in ("compare_fid.png", "compare_losses.png"):
        assert_png(out_dir / name)
        assert not (runs_with_fid / name).exists()
    # FID rows carry no kimg of their own: they take it from the loss rows of the same G step.
    run = compare.load_run(runs_with_fid / "1", runs_with_fid)
    kimg, fid = zip(*run.curves["metrics/fid"], strict=True)
    assert kimg == pytest.approx((0.064, 0.128, 0.192))
    assert fid == (50.0, 15.0, 20.0)


@pytest.mark.parametrize(
    ("key", "order"),
    [("loss", ["1", "2", "0"]), ("is", ["0", "1", "2"]), ("seed", ["2", "0", "1"])],
)
def test_sort_by_any_column(runs_with_fid: Path, capsys, key: str, order: list[str]) -> None:
    """Text ascending, IS higher-first, runs without the value last."""
    assert compare.main([str(runs_with_fid), "--sort", key]) == 0
    assert [r["run"] for r in table(capsys.readouterr().out)] == order


def test_logged_registered_metrics_get_columns_in_their_direction(runs: Path, capsys) -> None:
    """Restoration runs log PSNR (higher is better): its columns appear, best first."""
    for job, psnr in (("0", 21.5), ("1", 24.0)):
        summary = json.loads((runs / job / "summary.json").read_text())
        summary["metrics"] = {"final": {"metrics/psnr": psnr}, "best": {"metrics/psnr": psnr}}
        (runs / job / "summary.json").write_text(json.dumps(summary))
    assert compare.main([str(runs), "--sort", "psnr"]) == 0
    rows = table(capsys.readouterr().out)
    assert list(rows[0]) == ["run", "loss", *HEADER[:6], "psnr", "psnr_best", *HEADER[6:]]
    assert [(r["run"], r["psnr"], r["psnr_best"]) for r in rows] == [
        ("1", "24", "24"),
        ("0", "21.5", "21.5"),
    ]


def test_missing_path_exits_2_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_outputs"
    proc = subprocess.run(
        [sys.executable, "-m", "ganlab.cli.compare", str(missing)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()
    assert str(missing) in line and "summary.json" in line
    assert proc.stdout == ""


def test_folder_without_runs_exits_2(tmp_path: Path, capsys) -> None:
    (tmp_path / "multirun" / "empty").mkdir(parents=True)
    assert compare.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"no run under {tmp_path}" in err and "summary.json" in err
    assert not list(tmp_path.glob("*.png"))


def test_unknown_sort_key_lists_the_columns(runs: Path, capsys) -> None:
    assert compare.main([str(runs), "--sort", "fdi"]) == 2
    err = capsys.readouterr().err
    assert "--sort fdi" in err and "fid_best" in err and "loss" in err


def test_plots_replace_only_their_own_earlier_plots(
    runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "plots"
    assert compare.main([str(runs), "--out", str(out)]) == 0
    assert compare.main([str(runs), "--out", str(out)]) == 0  # its own: replaced quietly
    users = out / compare.FID_PNG
    Image.new("L", (4, 4), 7).save(users)  # a user's file of the same name
    before = users.read_bytes()
    capsys.readouterr()
    assert compare.main([str(runs), "--out", str(out)]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert users.read_bytes() == before
    assert compare.main([str(runs), "--out", str(out), "--overwrite"]) == 0
    assert users.read_bytes() != before
