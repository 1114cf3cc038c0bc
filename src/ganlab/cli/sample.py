"""``ganlab-sample RUN n=N [out=PATH] [seed=S] [--overwrite]``: samples of a saved run, as files.

PNG files into a folder, or one ``.npz`` (``images``: uint8 ``[N, H, W, C]``, the layout
pytorch-fid and torch-fidelity read, plus ``labels`` for conditional models); an existing
file or a non-empty folder is only written with ``--overwrite``. Latents come
in seeded chunks as in evaluation, so a seed names one image set whatever the batch size.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganlab.cli.outputs import add_overwrite_flag, check_output_file, check_output_folder
from ganlab.cli.runs import WHICH, load_generator, resolve_run
from ganlab.errors import ConfigError, GanlabError
from ganlab.metrics import quantize_images
from ganlab.metrics.evaluation import EvalSettings, chunk_inputs

PROG = "ganlab-sample"
KEY_VALUE = re.compile(r"^(n|out|seed|which)=(.*)$")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """``--n 64`` or ``n=64`` (and likewise out, seed, which)."""
    argv = sys.argv[1:] if argv is None else argv
    argv = [part for a in argv for part in _as_option(a)]
    parser = argparse.ArgumentParser(
        prog=PROG, description="Write N samples of a saved run as PNG files or one .npz file."
    )
    parser.add_argument("run", metavar="RUN_OR_CHECKPOINT", help="a run folder or a .ckpt in one")
    parser.add_argument("--n", type=int, required=True, help="number of samples (or n=N)")
    parser.add_argument(
        "--out", type=Path, help="a folder, or a .npz file (default: RUN/generated)"
    )
    parser.add_argument("--seed", type=int, default=0, help="latent seed (default 0)")
    parser.add_argument("--which", choices=WHICH, default="last", help="checkpoint (last)")
    add_overwrite_flag(parser)
    return parser.parse_args(argv)


def _as_option(arg: str) -> list[str]:
    match = KEY_VALUE.match(arg)
    return [f"--{match[1]}", match[2]] if match else [arg]


@torch.no_grad()
def draw(generator: torch.nn.Module, n: int, seed: int, latent: str) -> tuple[np.ndarray, ...]:
    """``(samples, labels)``: uint8 NHWC images (or float points) and int64 labels (-1: none)."""
    settings = EvalSettings(num_samples=n, seed=seed)
    samples, labels = [], []
    for chunk in range(settings.num_chunks):
        z, y = chunk_inputs(chunk, settings, generator.z_dim, latent, generator.num_classes)
        x = generator(z, y)
        samples.append(quantize_images(x).permute(0, 2, 3, 1) if x.dim() == 4 else x.float())
        labels.append(y if y is not None else torch.full((len(z),), -1))
    return torch.cat(samples).numpy(), torch.cat(labels).numpy()


def check_out(out: Path, run_dir: Path, overwrite: bool) -> None:
    """Before drawing: a new .npz, or a new or empty folder (either only with --overwrite)."""
    if out.suffix == ".npz":
        check_output_file(out, overwrite, what="out=")
    else:
        check_output_folder(out, overwrite, inputs=[run_dir], what="out=")


def write(out: Path, samples: np.ndarray, labels: np.ndarray, conditional: bool) -> None:
    """One .npz, or one PNG per image into a folder (`check_out` has vetted both)."""
    if out.suffix == ".npz":
        out.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"images" if samples.dtype == np.uint8 else "points": samples}
        if conditional:
            arrays["labels"] = labels
        np.savez(out, **arrays)
        return
    if samples.dtype != np.uint8:
        raise ConfigError(f"out={out}: this run generates 2D points, not images; use a .npz file")
    out.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(samples):
        suffix = f"_y{labels[i]}" if conditional else ""
        Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(
            out / f"{i:06d}{suffix}.png"
        )


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``ganlab-sample``."""
    args = parse_args(argv)
    try:
        if args.n < 1:
            raise ConfigError(f"n={args.n}: use 1 or more")
        run_dir, _ = resolve_run(args.run, args.which)
        out: Path = args.out or run_dir / "generated"
        check_out(out, run_dir, args.overwrite)
        generator, cfg, _ = load_generator(args.run, args.which)
        samples, labels = draw(generator, args.n, args.seed, cfg.gan.get("latent", "normal"))
        write(out, samples, labels, generator.num_classes > 0)
    except GanlabError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {args.n} samples to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
