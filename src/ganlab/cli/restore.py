"""``ganlab-restore CHECKPOINT INPUT_DIR OUTPUT_DIR``: restore a folder of corrupted images.

The run's own ``config.yaml`` rebuilds the corruption and the U-Net (read as data: only
listed classes can be built from it, see ``ganlab.run.saved_config``); the checkpoint is read
with ``weights_only=True`` and its EMA generator used when there is one. Inputs are images
as the run's corruption leaves them: noisy or holed images at the training resolution, or
low-resolution ones (``resolution / factor`` pixels) for super-resolution. Inpainting also
needs a mask per image (``--masks DIR``, same file names, white = missing). Every file is
checked before anything is written; one of the wrong size or channel count is an error.
OUTPUT_DIR must be new or empty (``--overwrite`` writes into a non-empty one), and is never
INPUT_DIR or the masks' folder.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from omegaconf import DictConfig
from PIL import Image
from torch import Tensor, nn

from ganlab.build import build_networks, build_objective, instantiate_field, task_config
from ganlab.cli.outputs import add_overwrite_flag, check_output_folder
from ganlab.cli.runs import WHICH, generator_weights, read_state_dict, resolve_run
from ganlab.data.image_files import read_image
from ganlab.errors import ConfigError, DataError, GanlabError
from ganlab.restoration.corruptions import Corruption, MaskCorruption
from ganlab.run.saved_config import load_saved_config

PROG = "ganlab-restore"
SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
MODES = {1: "L", 3: "RGB"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Apply a trained restoration model (task=restoration) to every image in "
        "INPUT_DIR and write the restored images as PNG files of the same names to OUTPUT_DIR.",
    )
    parser.add_argument("checkpoint", metavar="CHECKPOINT", help="a run folder or a .ckpt in one")
    parser.add_argument("input_dir", metavar="INPUT_DIR", type=Path)
    parser.add_argument("output_dir", metavar="OUTPUT_DIR", type=Path)
    parser.add_argument("--masks", type=Path, metavar="DIR", help="inpainting: white = missing")
    parser.add_argument("--which", choices=WHICH, default="last", help="checkpoint (last)")
    parser.add_argument("--batch-size", type=int, default=64, metavar="N")
    add_overwrite_flag(parser)
    return parser.parse_args(argv)


def load_restorer(
    run_or_checkpoint: str | Path, which: str = "last"
) -> tuple[nn.Module, Corruption, DictConfig, tuple[int, ...]]:
    """``(generator in eval mode, corruption, run config, clean image shape)`` of a run."""
    run_dir, checkpoint = resolve_run(run_or_checkpoint, which)
    cfg = load_saved_config(run_dir / "config.yaml")
    task = task_config(cfg).name
    objective = build_objective(cfg)
    if objective.draws_from_noise:
        raise ConfigError(
            f"{run_dir} is a {task} run; ganlab-restore needs a run trained with "
            "task=restoration (use ganlab-sample for generation runs)"
        )
    shape = tuple(instantiate_field(cfg.data, "data").shape)
    generator, _ = build_networks(cfg, objective, shape, 0)
    corruption = objective.corruption
    name, weights = generator_weights(read_state_dict(checkpoint))
    try:
        generator.load_state_dict(weights, strict=True)
    except RuntimeError:
        raise ConfigError(
            f"{checkpoint}: its {name} weights do not fit the networks of "
            f"{run_dir / 'config.yaml'}; pass the run folder the checkpoint was saved in"
        ) from None
    return generator.eval().requires_grad_(False), corruption, cfg, shape


def image_files(folder: Path) -> list[Path]:
    """The image files of ``folder``, sorted by name; two that would give one output name
    (``a.jpg`` and ``a.png`` both become ``a.png``) are refused."""
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder; give a folder of images")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES and p.is_file())
    if not files:
        raise DataError(f"{folder} holds no images ({', '.join(SUFFIXES)})")
    by_stem: dict[str, Path] = {}
    for path in files:
        if path.stem in by_stem:
            raise DataError(
                f"{by_stem[path.stem]} and {path} would both be written as {path.stem}.png; "
                "rename one of them"
            )
        by_stem[path.stem] = path
    return files


def read_input(path: Path, size: int, channels: int, what: str) -> Tensor:
    """One image as floats in [-1, 1] ``[channels, size, size]``, or a DataError saying why not.

    Decoded by ``read_image`` (16-bit scaled, transparency on white, damaged files refused);
    the channel count must be the model's: a colour image is not silently made grey.
    """
    array = read_image(path)
    if array.shape[-1] != channels:
        raise DataError(
            f"{path}: has {array.shape[-1]} channel(s), but the {what} needs {channels} "
            f"({MODES[channels]}); convert the image"
        )
    if array.shape[:2] != (size, size):
        raise DataError(
            f"{path}: is {array.shape[1]}x{array.shape[0]} pixels, but the {what} takes "
            f"{size}x{size}; give images as the run's corruption leaves them"
        )
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float() / 127.5 - 1


def restore_folder(args: argparse.Namespace) -> list[Path]:
    """Read and check every input, restore them in batches, write PNGs; returns the outputs."""
    input_folders = [args.input_dir] if args.masks is None else [args.input_dir, args.masks]
    check_output_folder(args.output_dir, args.overwrite, inputs=input_folders)
    generator, corruption, _, shape = load_restorer(args.checkpoint, args.which)
    channels, size = shape[0], shape[-1]
    observed = corruption.observed_size(size)
    what = f"model (trained on {size}x{size} images, corruption {type(corruption).__name__})"
    files = image_files(args.input_dir)
    inputs = torch.stack([read_input(p, observed, channels, what) for p in files])
    masks = None
    if isinstance(corruption, MaskCorruption):
        if args.masks is None:
            raise DataError(
                "this model inpaints: give --masks DIR with one mask per image (same file "
                "name, white = missing)"
            )
        mask_files = [args.masks / p.name for p in files]
        missing = [str(p) for p in mask_files if not p.is_file()]
        if missing:
            raise DataError(f"no mask for {len(missing)} image(s): {', '.join(missing[:3])}")
        masks = torch.stack([(read_input(p, size, 1, what) > 0).float() for p in mask_files])
    args.output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with torch.no_grad():
        for start in range(0, len(files), args.batch_size):
            stop = start + args.batch_size
            batch_masks = None if masks is None else masks[start:stop]
            corrupted = corruption.from_observed(inputs[start:stop], batch_masks)
            restored = corruption.compose(generator(corrupted.network_input), corrupted)
            pixels = ((restored.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
            for path, image in zip(files[start:stop], pixels, strict=True):
                out = args.output_dir / f"{path.stem}.png"
                array = image.permute(1, 2, 0).numpy()
                Image.fromarray(array[..., 0] if channels == 1 else array).save(out)
                written.append(out)
    return written


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``ganlab-restore``."""
    args = parse_args(argv)
    if args.batch_size < 1:
        print(f"{PROG}: error: --batch-size {args.batch_size}: use 1 or more", file=sys.stderr)
        return 2
    try:
        written = restore_folder(args)
    except GanlabError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    print(f"{PROG}: restored {len(written)} image(s) into {args.output_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
