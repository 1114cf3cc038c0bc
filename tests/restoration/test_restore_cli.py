"""``ganlab-restore`` on a small folder: restored PNGs, and clear errors for wrong inputs."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganlab.cli.restore import main
from ganlab.cli.runs import load_generator
from ganlab.errors import ConfigError
from ganlab.train import train

from ..conftest import ROOT, TINY, ComposeFn
from .test_train_restoration import SMALL

RESTORE = ROOT / ".venv" / "bin" / "ganlab-restore"


def trained_run(compose_cfg: ComposeFn, *overrides: str) -> Path:
    cfg = compose_cfg(*TINY, *SMALL, *overrides, "gan.max_g_steps=1")
    train(cfg)
    return Path(cfg.paths.run_dir)


def write_images(folder: Path, count: int, size: int, mode: str = "L") -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    names = []
    for i in range(count):
        shape = (size, size) if mode == "L" else (size, size, len(mode))
        pixels = rng.integers(0, 256, shape, dtype=np.uint8)
        Image.fromarray(pixels, mode=mode).save(folder / f"img{i}.png")
        names.append(f"img{i}.png")
    return names


def test_super_resolution_folder_is_restored(compose_cfg: ComposeFn, tmp_path: Path) -> None:
    run = trained_run(compose_cfg, "corruption=downsample", "corruption.factor=4")
    names = write_images(tmp_path / "low", 3, 8)  # digits are 32 px: 8 px inputs for 4x
    out = tmp_path / "restored"
    result = subprocess.run(
        [str(RESTORE), str(run), str(tmp_path / "low"), str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "restored 3 image(s)" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == names
    for name in names:
        with Image.open(out / name) as image:
            assert image.size == (32, 32) and image.mode == "L"


def test_inpainting_needs_masks_and_keeps_known_pixels(
    compose_cfg: ComposeFn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = trained_run(compose_cfg, "corruption=mask")
    names = write_images(tmp_path / "holed", 2, 32)
    assert main([str(run), str(tmp_path / "holed"), str(tmp_path / "out")]) == 2
    assert "--masks DIR" in capsys.readouterr().err
    masks = tmp_path / "masks"
    masks.mkdir()
    mask = np.zeros((32, 32), dtype=np.uint8)
    mask[8:20, 8:20] = 255
    for name in names:
        Image.fromarray(mask).save(masks / name)
    args = [str(run), str(tmp_path / "holed"), str(tmp_path / "out"), "--masks", str(masks)]
    assert main(args) == 0
    for name in names:
        before = np.asarray(Image.open(tmp_path / "holed" / name))
        after = np.asarray(Image.open(tmp_path / "out" / name))
        known = mask == 0
        assert np.array_equal(before[known], after[known])


@pytest.mark.parametrize(
    ("size", "mode", "match"),
    [
        (16, "L", r"img0\.png: is 16x16 pixels, but the model .* takes 32x32"),
        (32, "RGB", r"img0\.png: has 3 channel\(s\), but the model .* needs 1"),
    ],
)
def test_wrong_size_or_channels_is_a_clear_error(
    compose_cfg: ComposeFn,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    size: int,
    mode: str,
    match: str,
) -> None:
    run = trained_run(compose_cfg, "corruption=noise")
    write_images(tmp_path / "in", 1, size, mode)
    out = tmp_path / "out"
    assert main([str(run / "checkpoints" / "last.ckpt"), str(tmp_path / "in"), str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ganlab-restore: error: ")
    assert len(err.strip().splitlines()) == 1
    assert re.search(match, err), err
    assert not out.exists()  # nothing written before every input is checked


def test_generation_runs_are_refused(
    compose_cfg: ComposeFn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = compose_cfg(*TINY, "model=mlp", "gan.max_g_steps=1")
    train(cfg)
    write_images(tmp_path / "in", 1, 32)
    assert main([cfg.paths.run_dir, str(tmp_path / "in"), str(tmp_path / "out")]) == 2
    assert "needs a run trained with task=restoration" in capsys.readouterr().err


def test_sampling_tools_refuse_restoration_runs(compose_cfg: ComposeFn) -> None:
    run = trained_run(compose_cfg, "corruption=noise")
    with pytest.raises(ConfigError, match="apply it with ganlab-restore"):
        load_generator(run)
