"""Where a command may write: never over its own inputs, and over an existing file or into a
non-empty folder only when the user passes ``--overwrite``.

Checked before any work, so a mistyped output path costs nothing and loses nothing.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from ganlab.errors import ConfigError

OVERWRITE_HELP = "replace an existing output file, or write into a non-empty folder"


def add_overwrite_flag(parser: argparse.ArgumentParser) -> None:
    """The one ``--overwrite`` every writing command takes."""
    parser.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)


def _same(a: Path, b: Path) -> bool:
    return a.expanduser().resolve() == b.expanduser().resolve()


def png_written_by(path: Path, program: str) -> bool:
    """Whether ``path`` is a PNG whose ``Software`` text says ``program`` wrote it."""
    try:
        with Image.open(path) as image:
            return image.format == "PNG" and image.info.get("Software") == program
    except Exception:  # unreadable or not an image: not ours
        return False


def check_output_file(
    path: Path,
    overwrite: bool,
    inputs: Sequence[Path] = (),
    what: str = "output",
    ours: bool = False,
) -> None:
    """``path`` may be written: not one of ``inputs``, not a folder, and new unless
    ``overwrite`` or ``ours`` (the file is this command's own earlier output)."""
    for source in inputs:
        if _same(path, source):
            raise ConfigError(f"{what} {path} is also an input; write to another file")
    if path.is_dir():
        raise ConfigError(f"{what} {path} is a folder; give a file name")
    if path.exists() and not (overwrite or ours):
        raise ConfigError(
            f"{what} {path} exists; pass --overwrite to replace it, or give another file"
        )


def check_output_folder(
    folder: Path, overwrite: bool, inputs: Sequence[Path] = (), what: str = "output folder"
) -> None:
    """``folder`` may be written into: no input folder, not a file, empty unless ``overwrite``."""
    for source in inputs:
        if _same(folder, source):
            raise ConfigError(
                f"{what} {folder} is also an input folder, and writing there would replace "
                "the inputs; give another folder"
            )
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{what} {folder} is a file; give a folder")
    if folder.is_dir() and any(folder.iterdir()) and not overwrite:
        raise ConfigError(
            f"{what} {folder} is not empty; pass --overwrite to write into it, or give a new "
            "or empty folder"
        )
