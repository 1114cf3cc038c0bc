"""``ganlab-fid A B``: FID (and KID) between two image sets, like pytorch-fid's command line.

A and B are image folders (png/jpg) or ``.npz`` files of uint8 images, e.g. what
``ganlab-sample`` writes. Every input is checked (sizes, channels, array headers, weights
files) before any image is decoded or any network loaded, so a mistake costs a second, not a
run. Images are decoded by ``ganlab.data.image_files.read_image``: 16-bit files are scaled
to 8 bits and transparency is composited on white.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from ganlab.data.image_files import (
    ImageHeader,
    image_header,
    read_image,
    read_npz_array,
    read_npz_header,
)
from ganlab.errors import GanlabError, MetricsError
from ganlab.metrics import extract
from ganlab.metrics.evaluation import EvalSettings
from ganlab.metrics.registry import (
    Inputs,
    compute_metrics,
    extractor_names,
    get_extractor,
    get_metric,
    short_key,
)

PROG = "ganlab-fid"
EXTENSIONS = (".png", ".jpg", ".jpeg")
# KID subsets drawn with seed 0, the seed of kid_from_features (and of this tool's numbers).
SETTINGS = EvalSettings(seed=0)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG, description="FID between two image folders or .npz files."
    )
    parser.add_argument("a", type=Path, metavar="A", help="image folder or .npz")
    parser.add_argument("b", type=Path, metavar="B", help="image folder or .npz")
    parser.add_argument("--features", choices=extractor_names("images"), default="inception")
    parser.add_argument(
        "--evaluator", type=Path, metavar="FILE", help="for --features domain: its classifier"
    )
    parser.add_argument("--inception-weights", type=Path, metavar="FILE")
    parser.add_argument("--batch-size", type=int, default=64, metavar="N")
    parser.add_argument("--kid", action="store_true", help="also print KID mean ± std")
    return parser.parse_args(argv)


def scan_folder(folder: Path) -> tuple[list[Path], int]:
    """The folder's images and their channel count (1 or 3), checked from headers only."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in EXTENSIONS)
    if not files:
        raise MetricsError(f"{folder} holds no {'/'.join(EXTENSIONS)} images")
    expected: ImageHeader | None = None
    for path in files:
        found = image_header(path)
        if expected is None:
            expected, first = found, path
        elif found != expected:
            raise MetricsError(
                f"{path} is {describe(found)}, but {first.name} and the images before it are "
                f"{describe(expected)}; every image in {folder} must have one size and "
                "channel count"
            )
    assert expected is not None
    return files, expected.channels


def describe(header: ImageHeader) -> str:
    """Size and channels as the mismatch message shows them: 32x32 L, 32x32 RGB."""
    return f"{header.width}x{header.height} {'L' if header.channels == 1 else 'RGB'}"


def check_npz(path: Path) -> None:
    """The images array's header: uint8 ``[N, H, W, C]`` / ``[N, C, H, W]``, C 1 or 3, N >= 2."""
    header = read_npz_header(path)
    shape = header.shape
    if header.dtype != np.uint8 or len(shape) not in (3, 4) or shape[0] < 2:
        raise MetricsError(
            f"{path}: expected uint8 images [N, H, W, C] or [N, C, H, W] (N >= 2), got "
            f"{header.dtype} {shape}"
        )
    if len(shape) == 4 and shape[-1] not in (1, 3) and shape[1] not in (1, 3):
        raise MetricsError(f"{path}: images {shape} have neither 1 nor 3 channels")


def read_npz(path: Path) -> torch.Tensor:
    """uint8 ``[N, C, H, W]`` from key ``images`` (or the first array), NHWC or NCHW."""
    check_npz(path)
    array = read_npz_array(path)
    if array.ndim == 3:
        array = array[:, None]
    elif array.shape[-1] in (1, 3):
        array = array.transpose(0, 3, 1, 2)
    return torch.from_numpy(np.ascontiguousarray(array))


def read_folder(files: list[Path], channels: int) -> torch.Tensor:
    """Decode the (already checked) files into uint8 ``[N, C, H, W]``."""
    stacked = np.stack([read_image(path, channels) for path in files])
    return torch.from_numpy(stacked.transpose(0, 3, 1, 2))


def check_source(path: Path) -> tuple[list[Path], int] | None:
    """Folder contents (checked), or None for an .npz file (its header checked)."""
    if not path.exists():
        raise MetricsError(f"{path} does not exist; give an image folder or a .npz file")
    if path.is_dir():
        return scan_folder(path)
    if path.suffix != ".npz":
        raise MetricsError(f"{path} is neither a folder of images nor a .npz file")
    check_npz(path)
    return None


def load_images(path: Path, scanned: tuple[list[Path], int] | None) -> torch.Tensor:
    return read_npz(path) if scanned is None else read_folder(*scanned)


def run(args: argparse.Namespace) -> dict[str, float]:
    """Check every input, then extract both sets and measure."""
    if args.batch_size < 1:
        raise MetricsError(f"--batch-size {args.batch_size}: use 1 or more")
    scanned = [check_source(args.a), check_source(args.b)]
    spec = get_extractor(args.features)
    if spec.own_data:
        if args.evaluator is None or not args.evaluator.is_file():
            raise MetricsError(
                f"--evaluator {args.evaluator}: no such file; --features {args.features} needs "
                "a classifier from ganlab-train-evaluator"
            )
        weights = str(args.evaluator)
    elif args.inception_weights is not None and not args.inception_weights.is_file():
        raise MetricsError(f"--inception-weights {args.inception_weights}: no such file")
    else:
        weights = None if args.inception_weights is None else str(args.inception_weights)
    images = [load_images(p, s) for p, s in zip((args.a, args.b), scanned, strict=True)]
    extractor = spec.load(weights)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    extractor.to(device)
    a, b = (extract(extractor, x, batch_size=args.batch_size)[0] for x in images)
    chosen = [get_metric(name) for name in (("fid", "kid") if args.kid else ("fid",))]
    values = compute_metrics(chosen, Inputs(features=b, real_features=a), SETTINGS)
    return {short_key(key): value for key, value in values.items()}


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``ganlab-fid``."""
    args = parse_args(argv)
    try:
        result = run(args)
    except GanlabError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    print(f"FID: {result['fid']:.6g}")
    if args.kid:
        print(f"KID: {result['kid_mean']:.6g} ± {result['kid_std']:.6g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
