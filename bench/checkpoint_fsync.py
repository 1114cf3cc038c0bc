"""What flushing a checkpoint to disk costs per save: `torch.save` + rename, with and without
the `fsync` of the file and of its folder that ganlab does (`ganlab.run.durable`).

    .venv/bin/python bench/checkpoint_fsync.py [--width 64] [--repeats 10] [--dir PATH]

The payload is what a DCGAN run checkpoints (G, D, the EMA copy of G and both Adam states),
built at the default width of `conf/model/dcgan.yaml` or another. The two ways take turns,
so drift in the machine's load hits both; prints the medians and their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from ganlab.nets import DCGANDiscriminator, DCGANGenerator
from ganlab.run.durable import replace_durably, temporary_name


def payload(width: int) -> dict[str, object]:
    """G, D, EMA G and both Adam states after one step, as in a training checkpoint."""
    g = DCGANGenerator((1, 32, 32), z_dim=100, width=width)
    d = DCGANDiscriminator((1, 32, 32), width=width)
    states = {}
    for name, net in (("g", g), ("d", d)):
        opt = torch.optim.Adam(net.parameters())
        for p in net.parameters():
            p.grad = torch.randn_like(p)
        opt.step()
        states[name] = opt.state_dict()
    return {
        "state_dict": {**g.state_dict(), **d.state_dict(), "ema": g.state_dict()},
        "optimizer_states": [states["g"], states["d"]],
    }


def save(obj: object, path: Path, flush: bool) -> float:
    tmp = temporary_name(path)
    start = time.perf_counter()
    torch.save(obj, tmp)
    if flush:
        replace_durably(tmp, path)
    else:
        os.replace(tmp, path)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--dir", type=Path, default=None, help="where to write (default: tmp)")
    args = parser.parse_args()
    obj = payload(args.width)
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        path = Path(folder) / "last.ckpt"
        save(obj, path, flush=True)  # warm-up
        times: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.repeats):
            for flush in (False, True):
                times[flush].append(save(obj, path, flush))
        size = path.stat().st_size / 2**20
    plain, flushed = (statistics.median(times[f]) * 1000 for f in (False, True))
    print(f"checkpoint {size:.1f} MiB, {args.repeats} saves each, medians:")
    print(f"  save + rename          {plain:8.1f} ms")
    print(f"  save + fsync + rename  {flushed:8.1f} ms   ratio {flushed / plain:.2f}")


if __name__ == "__main__":
    main()
