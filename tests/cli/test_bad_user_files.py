"""Bad user files on the command line: one message naming the file, never a traceback.

Each table builds its bad files from real ones (a real 2-step run's summary.json, metrics.csv
and last.ckpt; PNGs and .npz files written here) and runs the command in-process; one case
of each also runs as the console script, for its exit code and its stderr.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from ganlab.cli import compare, fid, sample
from ganlab.cli.reproduce import main as reproduce_main
from ganlab.errors import ConfigError
from ganlab.train import train
from tests.conftest import ROOT, TINY, compose_config
from tests.data.test_image_files import bomb, npy_member, truncated, zipped

BIN = Path(sys.executable).parent


def console(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a user types it."""
    return subprocess.run(
        [str(BIN / tool), *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def assert_one_line_naming(proc: subprocess.CompletedProcess[str], path: Path) -> None:
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert str(path) in line


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 2-G-step run of ganlab-train: config.yaml, summary.json, last.ckpt."""
    out = tmp_path_factory.mktemp("outputs")
    train(compose_config([*TINY, "model=mlp"], out))
    return out / "run"


# ------------------------------------------------------------------ ganlab-fid


def good_pngs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(2):
        Image.new("RGB", (32, 32), (10 * i, 20, 30)).save(folder / f"{i}.png")
    return folder


def folder_with(make: Callable[[Path], Path]) -> Callable[[Path], Path]:
    """A folder of two good 32x32 RGB PNGs and the bad file ``make`` writes into it."""

    def build(tmp: Path) -> Path:
        return make(good_pngs(tmp / "images"))

    return build


def object_npz(tmp: Path) -> Path:
    np.savez(tmp / "objects.npz", images=np.array([None, {"a": 1}], dtype=object))
    return tmp / "objects.npz"


# (case, maker of the bad file, the folder or file given to ganlab-fid, expected text)
FID_CASES = [
    ("truncated image", folder_with(lambda d: truncated(d, ".png")), "damaged or incomplete"),
    ("decompression bomb", folder_with(lambda d: bomb(d, 10_000)), "100,000,000 pixels"),
    (
        "npz claiming a terabyte",
        lambda t: zipped(t, "big.npz", {"images.npy": npy_member((10**15,))}),
        "more than the",
    ),
    (
        "npz shorter than its header",
        lambda t: zipped(t, "short.npz", {"images.npy": npy_member((4, 32, 32, 3))}),
        "but the file stores 16 B",
    ),
    ("npz of objects", object_npz, "holds Python objects"),
]


def fid_argv(tmp: Path, bad: Path) -> tuple[list[str], Path]:
    """ganlab-fid's arguments (the bad source first) and the path its message must name."""
    source = bad.parent if bad.suffix == ".png" else bad
    return [str(source), str(good_pngs(tmp / "reference"))], bad


@pytest.mark.parametrize(
    ("make", "expected"), [c[1:] for c in FID_CASES], ids=[c[0] for c in FID_CASES]
)
def test_fid_refuses_bad_files_naming_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: Callable, expected: str
) -> None:
    argv, bad = fid_argv(tmp_path, make(tmp_path))
    assert fid.main(argv) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and expected in err, err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("case", [FID_CASES[0], FID_CASES[2]], ids=lambda c: c[0])
def test_fid_console_script(tmp_path: Path, case: tuple) -> None:
    _, make, expected = case
    argv, bad = fid_argv(tmp_path, make(tmp_path))
    proc = console("ganlab-fid", *argv)
    assert_one_line_naming(proc, bad)
    assert expected in proc.stderr


def test_fid_composites_alpha_and_scales_16_bit(tmp_path: Path) -> None:
    """What the FID network sees: transparent pixels white, 16-bit scaled, not clipped."""
    folder = tmp_path / "odd"
    folder.mkdir()
    Image.new("RGBA", (8, 8), (255, 0, 0, 0)).save(folder / "a.png")
    Image.new("RGBA", (8, 8), (0, 0, 255, 255)).save(folder / "b.png")
    files, channels = fid.check_source(folder)
    images = fid.read_folder(files, channels)
    assert images.shape == (2, 3, 8, 8) and images.dtype == torch.uint8
    assert images[0].unique().tolist() == [255]
    assert images[1, :, 0, 0].tolist() == [0, 0, 255]
    grey = tmp_path / "grey16"
    grey.mkdir()
    for name in ("a.png", "b.png"):
        Image.fromarray(np.full((8, 8), 1000, np.uint16)).save(grey / name)
    files, channels = fid.check_source(grey)
    assert channels == 1
    assert fid.read_folder(files, channels).unique().tolist() == [1000 >> 8]


# ------------------------------------------------------------------ ganlab-compare


def edit_summary(change: Callable[[dict[str, Any]], Any]) -> Callable[[Path], None]:
    def write(summary: Path) -> None:
        data = json.loads(summary.read_text())
        change(data)
        summary.write_text(json.dumps(data))

    return write


def text(content: str) -> Callable[[Path], None]:
    return lambda summary: summary.write_text(content)


# (case, how summary.json is spoilt, what the message says is wrong)
SUMMARY_CASES = [
    ("empty", text(""), "is empty"),
    ("malformed JSON", text('{"seed": 0,'), "is not valid JSON"),
    ("JSON list", text("[1, 2]"), "holds a list, not the object"),
    ("missing keys", edit_summary(lambda s: s.pop("overrides")), "lacks overrides"),
    (
        "wrong type",
        edit_summary(lambda s: s.update(g_steps="two")),
        "g_steps is a string ('two'), expected an integer",
    ),
    (
        "wrong nested type",
        edit_summary(lambda s: s.update(metrics={"final": {"metrics/fid": "low"}})),
        "metrics.final['metrics/fid'] is a string",
    ),
]


def sweep_of(real_run: Path, tmp: Path, spoil: Callable[[Path], None] | None) -> Path:
    """A sweep folder: job 0 as the run wrote it, job 1 spoilt by ``spoil``."""
    sweep = tmp / "sweep"
    for job in ("0", "1"):
        shutil.copytree(real_run, sweep / job, ignore=shutil.ignore_patterns("checkpoints"))
    if spoil is not None:
        spoil(sweep / "1" / "summary.json")
    return sweep


@pytest.mark.parametrize(
    ("spoil", "expected"), [c[1:] for c in SUMMARY_CASES], ids=[c[0] for c in SUMMARY_CASES]
)
def test_compare_skips_a_broken_run_with_one_warning(
    real_run: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    spoil: Callable[[Path], None],
    expected: str,
) -> None:
    sweep = sweep_of(real_run, tmp_path, spoil)
    assert compare.main([str(sweep)]) == 0
    out, err = capsys.readouterr()
    (line,) = err.strip().splitlines()
    assert line.startswith("ganlab-compare: warning: ")
    assert str(sweep / "1" / "summary.json") in line and expected in line, line
    assert "1 run under" in out and "(1 unreadable, skipped)" in out


def test_compare_names_a_bad_metrics_csv_and_keeps_the_run(
    real_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = sweep_of(real_run, tmp_path, None)
    csv_path = sweep / "1" / "metrics.csv"
    header = csv_path.read_text().splitlines()[0].split(",")
    row = ["oops" if name == "loss/d" else "1" for name in header]
    csv_path.write_text(csv_path.read_text() + ",".join(row) + "\n")
    assert compare.main([str(sweep)]) == 0
    out, err = capsys.readouterr()
    (line,) = err.strip().splitlines()
    assert str(csv_path) in line and "column loss/d: 'oops' is not a number" in line
    assert "2 runs under" in out


def test_compare_console_script_with_only_broken_runs(real_run: Path, tmp_path: Path) -> None:
    sweep = sweep_of(real_run, tmp_path, text(""))
    (sweep / "0" / "summary.json").write_text("[]")
    proc = console("ganlab-compare", str(sweep))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    first, second, error = proc.stderr.strip().splitlines()
    assert str(sweep / "0" / "summary.json") in first and "holds a list" in first
    assert str(sweep / "1" / "summary.json") in second and "is empty" in second
    assert error.startswith(f"ganlab-compare: error: none of the 2 runs under {sweep}")


# ------------------------------------------------------------------ ganlab-reproduce --runs


def seed_run(real_run: Path, tmp: Path, spoil: Callable[[Path], None]) -> Path:
    """The real run as a seed of ring8_gan, its summary.json spoilt by ``spoil``."""
    run = Path(
        shutil.copytree(real_run, tmp / "seed0", ignore=shutil.ignore_patterns("checkpoints"))
    )
    edit_summary(lambda s: s.update(experiment="ring8_gan"))(run / "summary.json")
    spoil(run / "summary.json")
    return run


REPRODUCE_CASES = [
    *SUMMARY_CASES[:3],
    ("missing wall time", edit_summary(lambda s: s.pop("wall_time_s")), "lacks wall_time_s"),
    ("seed as text", edit_summary(lambda s: s.update(seed="zero")), "seed is a string"),
]


@pytest.mark.parametrize(
    ("spoil", "expected"), [c[1:] for c in REPRODUCE_CASES], ids=[c[0] for c in REPRODUCE_CASES]
)
def test_reproduce_runs_names_the_broken_summary(
    real_run: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    spoil: Callable[[Path], None],
    expected: str,
) -> None:
    run = seed_run(real_run, tmp_path, spoil)
    results = tmp_path / "results"
    with pytest.raises(SystemExit) as exit_info:
        reproduce_main(["ring8_gan", "--runs", str(run), "--results-dir", str(results)])
    assert exit_info.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert str(run / "summary.json") in line and expected in line, line
    assert f"leave {run} out of --runs" in line
    assert not results.exists()


def test_reproduce_console_script(real_run: Path, tmp_path: Path) -> None:
    run = seed_run(real_run, tmp_path, text("[1, 2]"))
    results = tmp_path / "results"
    proc = console(
        "ganlab-reproduce", "ring8_gan", "--runs", str(run), "--results-dir", str(results)
    )
    assert proc.returncode == 2
    assert_one_line_naming(proc, run / "summary.json")
    assert not results.exists()


# ------------------------------------------------------------------ checkpoints


def spoilt_checkpoint(real_run: Path, tmp: Path, change: Callable[[dict], None]) -> Path:
    """A copy of the run whose last.ckpt is changed as an older or foreign writer would."""
    run = Path(shutil.copytree(real_run, tmp / "old_run"))
    path = run / "checkpoints" / "last.ckpt"
    payload = torch.load(path, weights_only=True)
    change(payload)
    torch.save(payload, path)
    return path


def before_global_rng(payload: dict) -> None:
    """ganlab's first checkpoints kept only the latent stream, under another key."""
    payload["ganlab_latent_rng"] = payload.pop("ganlab_rng")["latent"]


def weights_only(payload: dict) -> None:
    for key in [k for k in payload if k != "state_dict"]:
        del payload[key]


# (case, change, expected text)
CHECKPOINT_CASES = [
    ("before global RNG states", before_global_rng, "older version of ganlab: it lacks ganlab_rng"),
    (
        "counters without images_seen",
        lambda p: p["ganlab_counters"].pop("images_seen"),
        "it lacks ganlab_counters.images_seen",
    ),
    (
        "rng without torch and cuda",
        lambda p: [p["ganlab_rng"].pop(k) for k in ("torch", "cuda")],
        "it lacks ganlab_rng.torch, ganlab_rng.cuda",
    ),
    ("weights only", weights_only, "was not written by ganlab-train's training loop"),
    (
        "non-tensor weights",
        lambda p: p["state_dict"].update({"generator.note": "hello"}),
        "state_dict entry 'generator.note' is a str, not a tensor",
    ),
]


@pytest.mark.parametrize(
    ("change", "expected"),
    [c[1:] for c in CHECKPOINT_CASES],
    ids=[c[0] for c in CHECKPOINT_CASES],
)
def test_resume_from_an_older_checkpoint_says_so(
    real_run: Path, tmp_path: Path, change: Callable[[dict], None], expected: str
) -> None:
    path = spoilt_checkpoint(real_run, tmp_path, change)
    cfg = compose_config([*TINY, "model=mlp", f"resume={path}"], tmp_path / "out")
    with pytest.raises(ConfigError, match=re.escape(str(path))) as caught:
        train(cfg)
    assert expected in str(caught.value)
    assert not (tmp_path / "out" / "run").exists()


def test_sample_names_a_checkpoint_with_non_tensor_weights(
    real_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = spoilt_checkpoint(real_run, tmp_path, CHECKPOINT_CASES[-1][1])
    assert sample.main([str(path), "n=2"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "not a tensor" in err and "Traceback" not in err


def test_train_console_script_with_an_older_checkpoint(real_run: Path, tmp_path: Path) -> None:
    path = spoilt_checkpoint(real_run, tmp_path, before_global_rng)
    out = tmp_path / "out"
    proc = console("ganlab-train", *TINY, "model=mlp", f"paths.output_root={out}", f"resume={path}")
    assert proc.returncode == 2
    assert_one_line_naming(proc, path)
    assert "older version of ganlab" in proc.stderr
    assert not out.exists() or not any(out.rglob("summary.json"))


def test_a_current_checkpoint_still_resumes(real_run: Path, tmp_path: Path) -> None:
    """The checks refuse old checkpoints only: one written by this version resumes."""
    path = real_run / "checkpoints" / "last.ckpt"
    overrides = [*TINY, "model=mlp", "gan.max_g_steps=3", f"resume={path}"]
    summary = train(compose_config(overrides, tmp_path))
    assert summary["g_steps"] == 3 and summary["resumed_from"] == str(path)
