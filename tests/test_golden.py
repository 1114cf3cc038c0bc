"""The same commands give the same training curves as before the core was rebuilt.

``tests/golden/`` holds the first 20 logged values of fixed-seed runs recorded with the
code before (``python -m tests.golden --write``), one thread each. On the machine that
recorded them the curves agree bit for bit (``python -m tests.golden`` prints 0); the bound
here is what the same runs keep under other CPUs' math kernels (``make test-kernels``),
where rounding differs in the last bits and 20 steps of training amplify it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

from ganlab.train import train

from .conftest import compose_config
from .golden import BASE, SETTINGS, difference, load, read_rows, run_setting

# Largest difference of a logged value, relative to the largest magnitude of its curve:
# five times what the run kept under SSE kernels (OpenBLAS Prescott, torch default,
# measured 2026-12-02 on an Intel Xeon), and never below 1e-5. Nets with batch norm,
# maxout or dropout amplify a last-bit difference most in 20 steps.
MEASURED_UNDER_SSE = {
    "model_cgan_mlp": 1.4e-3,
    "model_dcgan_ema_ttur_clip": 6.0e-3,
    "model_cdcgan": 8.2e-3,
    "model_sngan_resnet": 1.2e-3,
    "model_sngan_resnet_cond": 2.5e-3,
    "model_mlp_2d": 7.7e-3,
    "model_pacgan2_2d": 6.4e-3,
    "restoration_inpaint": 5.4e-3,  # the U-Net's dropout; measured on AMD EPYC under SSE
}


def bound(name: str) -> float:
    return max(1e-5, 5 * MEASURED_UNDER_SSE.get(name, 0.0))


@contextmanager
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_the_curves_match_the_golden_ones(tmp_path: Path, name: str) -> None:
    cfg = compose_config([*BASE, *SETTINGS[name], f"name={name}"], tmp_path)
    with one_thread():
        train(cfg)
    assert difference(read_rows(Path(cfg.paths.run_dir)), load(name)) <= bound(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ddp_2proc", "resumed"])
def test_ddp_and_resumed_curves_match_the_golden_ones(tmp_path: Path, name: str) -> None:
    assert difference(run_setting(name, tmp_path), load(name)) <= bound(name)
