"""Shared fixtures: real Hydra composition of the project's own config tree."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

from ganlab.config import CONF_DIR
from ganlab.config.resolvers import register_resolvers
from ganlab.config.sweep import compose_job

ROOT = Path(__file__).resolve().parents[1]

ComposeFn = Callable[..., DictConfig]


def compose_config(overrides: list[str], out: Path) -> DictConfig:
    """Compose ``train.yaml`` as ``ganlab-train`` would, writing under ``out``."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose_job(
            "train",
            [
                f"paths.root_dir={ROOT}",
                f"paths.output_root={out}",
                f"paths.run_dir={out / 'run'}",
                *overrides,
            ],
        )


@pytest.fixture(autouse=True, scope="session")
def _resolvers() -> None:
    """The ``${ganlab_*:}`` resolvers, as ``ganlab-train`` registers them before composing."""
    register_resolvers()


@pytest.fixture
def compose_cfg(tmp_path: Path) -> ComposeFn:
    """Compose with overrides; runs go to a fresh temporary folder."""

    def _compose(*overrides: str) -> DictConfig:
        return compose_config(list(overrides), tmp_path)

    return _compose


# Small and fast: the digits set, narrow nets, no W&B, no progress bar.
TINY = [
    "data=digits",
    "data.batch_size=16",
    "logger=csv",
    "callbacks=quiet",
    "callbacks.samples.every_g_steps=1",
    "gan.max_g_steps=2",
    "gan.log_every=1",
]


@pytest.fixture(scope="session")
def digits_evaluator(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A domain classifier for the digits set at 32 px, trained once per session (seconds)."""
    from ganlab.data import DigitsDataModule
    from ganlab.data.identity import evaluator_record
    from ganlab.metrics import save_evaluator, train_domain_classifier

    data = DigitsDataModule(resolution=32)
    train_x, train_y = data.real_images("train")
    test_x, test_y = data.real_images("test")
    model, accuracy = train_domain_classifier(
        train_x, train_y, test_x, test_y, epochs=2, batch_size=64
    )
    path = tmp_path_factory.mktemp("evaluators") / "digits_32px.pt"
    save_evaluator(path, model, {**evaluator_record(data), "test_accuracy": accuracy})
    return path


def install_evaluator(evaluator: Path, outputs: Path) -> None:
    """Put an evaluator where conf/metrics/domain.yaml looks for it under ``outputs``."""
    target = outputs / "evaluators" / evaluator.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(evaluator, target)


@pytest.fixture(scope="session")
def fashion_evaluator(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A quick Fashion-MNIST classifier (2,000 images, one epoch): a real but weak evaluator."""
    from ganlab.data import FashionMNISTDataModule
    from ganlab.data.identity import evaluator_record
    from ganlab.metrics import save_evaluator, train_domain_classifier

    data = FashionMNISTDataModule(root=None, limit=2000)
    train_x, train_y = data.real_images("train")
    test_x, test_y = data.real_images("test", n=500)
    model, accuracy = train_domain_classifier(
        train_x, train_y, test_x, test_y, epochs=1, batch_size=64
    )
    path = tmp_path_factory.mktemp("evaluators") / "fashion_mnist_28px.pt"
    save_evaluator(path, model, {**evaluator_record(data), "test_accuracy": accuracy})
    return path


def pytest_report_header() -> list[str]:
    """The math kernels this run took: a numeric result is as portable as the kernels tried."""
    import numpy  # noqa: F401  (loads numpy's OpenBLAS)
    import scipy.linalg  # noqa: F401  (and scipy's)
    import torch
    from threadpoolctl import threadpool_info

    blas = sorted(
        {f"{i['internal_api']} {i['version']} {i.get('architecture')}" for i in threadpool_info()}
        - {"openmp None None"}
    )
    names = ("MKL_ENABLE_INSTRUCTIONS", "ONEDNN_MAX_CPU_ISA")
    limits = [f"{k}={os.environ[k]}" for k in names if k in os.environ]
    torch_kernels = " ".join([torch.backends.cpu.get_cpu_capability(), *limits])
    return [f"math kernels: {', '.join(blas)}; torch {torch_kernels}"]
