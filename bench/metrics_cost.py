"""What an evaluation costs with the domain extractor: 10k samples, cached vs not, and scaling.

Run after `ganlab-train-evaluator data=fashion_mnist`:

    .venv/bin/python bench/metrics_cost.py [--evaluator outputs/evaluators/fashion_mnist_28px.pt]

"Generated" images are Fashion-MNIST training images with Gaussian noise added, as floats
in [-1, 1] like a generator's output; the real side is the 10k test split. Prints markdown
tables of wall-clock seconds per step.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ganlab.data import FashionMNISTDataModule, to_unit_range
from ganlab.metrics import (
    DomainFeatures,
    cached_features,
    extract,
    fid_from_features,
    inception_score,
    kid_from_features,
    precision_recall,
)

ROOT = Path(__file__).resolve().parents[1]
STEPS = ("real features", "generated features", "FID", "KID", "IS", "PR")


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def evaluate(
    extractor: DomainFeatures, real: Tensor, fake: Tensor, cache_dir: Path
) -> dict[str, float]:
    """One full evaluation; returns the seconds each step took."""
    key = {
        "dataset": extractor.dataset,
        "split": "test",
        "resolution": extractor.resolution,
        "extractor": extractor.name,
        "fingerprint": extractor.fingerprint,
        "num_samples": len(real),
    }
    seconds: dict[str, float] = {}
    real_features, seconds["real features"] = timed(
        lambda: cached_features(cache_dir, key, lambda: extract(extractor, real, 256)[0])
    )
    (fake_features, fake_logits), seconds["generated features"] = timed(
        lambda: extract(extractor, fake, 256)
    )
    _, seconds["FID"] = timed(lambda: fid_from_features(fake_features, real_features))
    _, seconds["KID"] = timed(lambda: kid_from_features(fake_features, real_features))
    _, seconds["IS"] = timed(lambda: inception_score(fake_logits))
    _, seconds["PR"] = timed(lambda: precision_recall(real_features, fake_features))
    return seconds


def row(label: str, seconds: dict[str, float]) -> str:
    cells = [f"{seconds[step]:.2f}" for step in STEPS]
    return f"| {label} | " + " | ".join(cells) + f" | {sum(seconds.values()):.2f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--evaluator", default=str(ROOT / "outputs" / "evaluators" / "fashion_mnist_28px.pt")
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 10000])
    args = parser.parse_args()
    if not Path(args.evaluator).is_file():
        parser.error(f"{args.evaluator} not found; run `ganlab-train-evaluator data=fashion_mnist`")

    extractor = DomainFeatures(args.evaluator)
    data = FashionMNISTDataModule(root=None)
    real, _ = data.real_images("test", 10_000)
    noise = torch.randn(10_000, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    fake = (to_unit_range(data.real_images("train", 10_000)[0]) + 0.1 * noise).clamp(-1, 1)

    header = "| | " + " | ".join(STEPS) + " | total |\n|---" + "|---:" * (len(STEPS) + 1) + "|"
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"load average {os.getloadavg()[0]:.1f}; extractor {extractor.name} "
        f"({extractor.num_features} features); seconds; real side: 10k test images\n"
    )
    with tempfile.TemporaryDirectory() as cache_dir:
        cold = evaluate(extractor, real, fake, Path(cache_dir))
        warm = evaluate(extractor, real, fake, Path(cache_dir))
        print(header)
        print(row("10k, first (real features computed)", cold))
        print(row("10k, again (real features cached)", warm))
        print()
        print(header.replace("| |", "| generated M |", 1))
        for m in args.sizes:
            print(row(f"{m:,}", evaluate(extractor, real, fake[:m], Path(cache_dir))))


if __name__ == "__main__":
    main()
