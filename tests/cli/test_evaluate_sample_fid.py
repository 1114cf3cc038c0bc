"""ganlab-evaluate, ganlab-sample and ganlab-fid on a real tiny run and real image files."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganlab.cli import evaluate, fid, sample
from ganlab.cli.runs import load_generator
from ganlab.metrics import DomainFeatures
from ganlab.metrics.features import extract
from tests.conftest import install_evaluator
from tests.test_cli import tool_in_process, train_in_process
from tests.tolerances import self_fid_bound

BIN = Path(sys.executable).parent


def cli(tool: str, *args: str) -> subprocess.CompletedProcess:
    """One end-to-end call of a tool's ``main()`` (the console scripts themselves run as
    subprocesses in tests/cli/test_saved_config.py and test_bad_user_files.py)."""
    return tool_in_process(tool, *args)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, digits_evaluator: Path) -> Path:
    """A 3-G-step digits MLP run with EMA, and the digits evaluator where metrics look."""
    out = tmp_path_factory.mktemp("outputs")
    install_evaluator(digits_evaluator, out)
    done = train_in_process(
        [
            "data=digits",
            "model=mlp",
            "model.generator.hidden=[32]",
            "model.discriminator.hidden=[32]",
            "gan.max_g_steps=3",
            "gan.ema_decay=0.5",
            "logger=csv",
            "callbacks=quiet",
            f"paths.output_root={out}",
        ]
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (run,) = (out / "mlp_digits_ns").iterdir()
    return run


@pytest.fixture(scope="module")
def digits_pngs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The digits test split at 32 px as PNG files."""
    from ganlab.data import DigitsDataModule

    folder = tmp_path_factory.mktemp("digits_png")
    images, _ = DigitsDataModule(resolution=32).real_images("test")
    for i, image in enumerate(images):
        Image.fromarray(image[0].numpy()).save(folder / f"{i:04d}.png")
    return folder


def test_evaluate_writes_finite_deterministic_metrics(
    run_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    assert evaluate.main([str(run_dir), "--num-samples", "200"]) == 0
    assert "fid" in capsys.readouterr().out
    first = json.loads((run_dir / "evaluation.json").read_text())
    keys = {"fid", "is_mean", "kid_mean", "precision", "recall"}
    assert keys <= {k.removeprefix("metrics/") for k in first["metrics"]}
    assert all(math.isfinite(v) for v in first["metrics"].values())
    assert first["metrics"]["metrics/fid"] > 0

    out = run_dir / "again.json"
    ckpt = str(run_dir / "checkpoints" / "last.ckpt")
    done = cli("evaluate", ckpt, "--num-samples", "200", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["metrics"] == first["metrics"]


def test_loads_the_ema_weights(run_dir: Path) -> None:
    generator, cfg, datamodule = load_generator(run_dir)
    state = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    assert not generator.training
    assert tuple(datamodule.shape) == (1, 32, 32) and cfg.gan.ema_decay == 0.5
    for name, value in generator.state_dict().items():
        assert torch.equal(value, state[f"generator_ema.{name}"])
    assert any(
        not torch.equal(state[f"generator.{n}"], state[f"generator_ema.{n}"])
        for n in generator.state_dict()
    )


def test_sample_pngs_and_npz(run_dir: Path, tmp_path: Path) -> None:
    assert sample.main([str(run_dir), "n=7", f"out={tmp_path / 'pngs'}", "seed=3"]) == 0
    pngs = sorted((tmp_path / "pngs").glob("*.png"))
    assert len(pngs) == 7 and Image.open(pngs[0]).size == (32, 32)

    done = cli("sample", str(run_dir), "--n", "7", "--out", str(tmp_path / "a.npz"), "--seed", "3")
    assert done.returncode == 0, done.stderr
    assert sample.main([str(run_dir), "n=7", f"out={tmp_path / 'b.npz'}", "seed=3"]) == 0
    assert sample.main([str(run_dir), "n=7", f"out={tmp_path / 'c.npz'}", "seed=4"]) == 0
    a, b, c = (np.load(tmp_path / f"{k}.npz")["images"] for k in "abc")
    assert a.shape == (7, 32, 32, 1) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.array_equal(a[0, ..., 0], np.asarray(Image.open(pngs[0])))


def test_fid_between_folders_and_npz(
    digits_pngs: Path, digits_evaluator: Path, tmp_path: Path
) -> None:
    domain = ["--features", "domain", "--evaluator", str(digits_evaluator)]
    files = sorted(digits_pngs.glob("*.png"))
    half, noise = tmp_path / "half", tmp_path / "noise"
    half.mkdir()
    noise.mkdir()
    rng = np.random.default_rng(0)
    for path in files[: len(files) // 2]:
        shutil.copy(path, half / path.name)
        Image.fromarray(rng.integers(0, 256, (32, 32), dtype=np.uint8)).save(noise / path.name)

    def fid_of(a: Path, b: Path) -> float:
        return fid.run(fid.parse_args([str(a), str(b), *domain]))["fid"]

    same, far = fid_of(digits_pngs, half), fid_of(digits_pngs, noise)
    assert same < 0.1 * far and far > 10

    images = np.stack([np.asarray(Image.open(p)) for p in files])[..., None]
    np.savez(tmp_path / "test.npz", images=images)
    done = cli("fid", str(tmp_path / "test.npz"), str(digits_pngs), *domain, "--kid")
    assert done.returncode == 0, done.stderr
    # The same images both sides: FID 0, up to the rounding bound of their features.
    features = extract(
        DomainFeatures(digits_evaluator), torch.from_numpy(images).permute(0, 3, 1, 2)
    )
    assert (
        0.0 <= float(done.stdout.split("FID:")[1].split()[0]) <= self_fid_bound(features[0].numpy())
    )
    assert "KID:" in done.stdout


def test_fid_bad_inputs(
    digits_pngs: Path, digits_evaluator: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    domain = ["--features", "domain", "--evaluator", str(digits_evaluator)]
    empty, mixed = tmp_path / "empty", tmp_path / "mixed"
    empty.mkdir()
    shutil.copytree(digits_pngs, mixed)
    Image.new("L", (28, 28)).save(mixed / "9999.png")
    cases = [
        ([str(tmp_path / "missing"), str(digits_pngs), *domain], "missing"),
        ([str(empty), str(digits_pngs), *domain], "holds no"),
        ([str(mixed), str(digits_pngs), *domain], "9999.png is 28x28"),
        ([str(digits_pngs), str(digits_pngs), *domain[:-1], str(tmp_path / "no.pt")], "no.pt"),
    ]
    for argv, expected in cases:
        assert fid.main(argv) == 2
        err = capsys.readouterr().err
        assert expected in err, err
    assert fid.main([str(mixed), str(digits_pngs), *domain]) == 2
    assert "0000.png and the images before it are 32x32" in capsys.readouterr().err


def test_broken_and_foreign_checkpoints(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    corrupt = tmp_path / "corrupt" / "checkpoints" / "last.ckpt"
    corrupt.parent.mkdir(parents=True)
    shutil.copy(run_dir / "config.yaml", corrupt.parent.parent / "config.yaml")
    corrupt.write_bytes((run_dir / "checkpoints" / "last.ckpt").read_bytes()[:500])

    other = tmp_path / "other"
    shutil.copytree(run_dir, other)
    config = (other / "config.yaml").read_text()
    (other / "config.yaml").write_text(config.replace("hidden:\n    - 32", "hidden:\n    - 48", 1))

    cases = [
        (str(tmp_path / "nowhere"), "nowhere does not exist"),
        (str(tmp_path), "no checkpoint"),
        (str(corrupt), "is not a readable checkpoint"),
        (str(other), "belongs to another model"),
    ]
    for path, expected in cases:
        for tool in (evaluate, sample):
            # --overwrite: the copy holds the outputs of earlier tests, which are not at fault
            argv = [path, "n=2", "--overwrite"] if tool is sample else [path, "--overwrite"]
            assert tool.main(argv) == 2
            err = capsys.readouterr().err
            assert expected in err, err
            assert "Traceback" not in err
