"""Training speed: ganlab's real training path against a bare PyTorch loop and the usual recipe,
and ganlab-train's start-up time against a bare script.

    .venv/bin/python bench/train_speed.py [--settings dcgan32 pacgan2d --repeats 3 --extras compile]

Settings (``SETTINGS``): the DCGAN of ``experiment=dcgan_fashion_mnist`` at 32 and 64 px, where
the convolutions dominate a step, and PacGAN's 2D nets (``experiment=ring8_pacgan2``: 4 x 400
batch-norm ReLU G, 3 x 200 maxout-5 D, PacGAN2, batch 100), where a step takes milliseconds and
the framework's per-step overhead shows. Contenders, training the same nets with the same
loss, optimizers and batch size:

  (a) ganlab: ``ganlab.train.train`` on the composed experiment config, i.e. the Lightning
      Trainer, GANModule, the sample and checkpoint callbacks and the CSV + offline W&B
      loggers as ``make train`` runs them (progress bar off: it is a display);
  (b) bare: a plain PyTorch loop over the same in-memory data (uint8 images converted per
      batch, or the 2D points), the floor any framework can reach;
  (c) recipe (image settings): PyTorch's DCGAN example, per-item PIL transforms and
      ``DataLoader(num_workers=2, shuffle=True)``.

Optional (``--extras``): (b) with ``channels_last`` tensors, (b) with ``torch.compile``d
G and D (its compile time is reported apart from its speed), and (a) with ganlab's own
switches for both (``gan.channels_last=true``, ``gan.compile=true``).

Every contender runs in its own process, started once per resolution and paused between
steps, so the parent can alternate them step by step: one step of each in a shuffled order,
again and again, so the noise of a shared machine hits all of them alike. A repeat sums
``--iters`` steps of each contender; the ratios pair the contenders' sums repeat by repeat.
Each process's peak RSS is its own. One iteration is one D update on a real batch plus one
G update.

Start-up (``--startup-runs``): seconds from process start (the kernel's start time of the
process) to the first training step, for ``ganlab-train`` on each setting's experiment and
for a bare script that imports torch and Lightning and takes one optimizer step; the runs
alternate.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import random
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, OmegaConf, open_dict

from ganlab.config import CONF_DIR
from ganlab.config.sweep import compose_job
from ganlab.train import train

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    import lightning.pytorch as pl
    import torch
    from PIL import Image
    from torch import Tensor, nn

    from ganlab.losses import NonSaturatingLoss

ROOT = Path(__file__).resolve().parents[1]
# Far beyond any benchmark: the parent, not the config, ends each run.
NEVER = 10**9
KIB_PER_MIB = 1024  # ru_maxrss and smaps are in KiB
# Only the worker processes train. The fork server imports these once for all of them, and
# the parent, which only orchestrates, never does (Lightning alone takes seconds to import).
WORKER_MODULES = ("torch", "torchvision.transforms", "lightning.pytorch", "ganlab.data")


@dataclass(frozen=True)
class Contender:
    """One way of training; ``key`` names it in ratios (a/b, b+cl/b, ...)."""

    key: str
    label: str
    kind: str
    channels_last: bool = False
    compile: bool = False
    # For (a): what the modern recipe adds, as Hydra overrides of the setting's config.
    overrides: tuple[str, ...] = ()
    images_only: bool = False


CORE = (
    Contender("a", "ganlab: train() with its Trainer, callbacks, loggers", "ganlab"),
    Contender("b", "bare PyTorch loop, in-memory data", "bare"),
    Contender("c", "recipe: per-item transforms, DataLoader(num_workers=2)", "recipe"),
)
# The non-saturating loss of (a) with R1 and R2 added, so that the ratio is the penalties'
# cost alone.
R1R2 = (
    "loss=ns_r1",
    "+loss.penalties.r2._target_=ganlab.losses.R2Penalty",
    "+loss.penalties.r2.gamma=10",
    "+loss.penalties.r2.every=1",
)
EXTRAS = {
    "channels_last": Contender("b+cl", "bare loop, channels_last", "bare", channels_last=True),
    "compile": Contender(
        "b+compile", "bare loop, torch.compile(G), torch.compile(D)", "bare", compile=True
    ),
    "ganlab_channels_last": Contender(
        "a+cl", "ganlab with gan.channels_last=true", "ganlab", channels_last=True
    ),
    "ganlab_compile": Contender(
        "a+compile", "ganlab with gan.compile=true", "ganlab", compile=True
    ),
    "diffaugment": Contender(
        "a+diffaug",
        "ganlab with augment=diffaugment",
        "ganlab",
        overrides=("augment=diffaugment",),
        images_only=True,
    ),
    "ada": Contender(
        "a+ada",
        "ganlab with augment=ada at p = 0.5",
        "ganlab",
        overrides=("augment=ada", "augment.p=0.5", "augment.adaptive=false"),
        images_only=True,
    ),
    "r1r2": Contender("a+r1r2", "ganlab with R1 + R2 every D step", "ganlab", overrides=R1R2),
    "r1r2_lazy16": Contender(
        "a+r1r2/16",
        "ganlab with R1 + R2 every 16 D steps",
        "ganlab",
        overrides=(*R1R2, "loss.penalties.r1.every=16", "loss.penalties.r2.every=16"),
    ),
}


@dataclass(frozen=True)
class Setting:
    """A training setting: an experiment, for images a resolution, the contenders that apply,
    the a/b target and how many steps make one repeat (short steps need more)."""

    key: str
    label: str
    experiment: str
    resolution: int | None
    kinds: tuple[str, ...]
    ab_target: float
    iters_scale: int = 1


SETTINGS = {
    "dcgan32": Setting(
        "dcgan32", "DCGAN 32 px", "dcgan_fashion_mnist", 32, ("ganlab", "bare", "recipe"), 1.05
    ),
    "dcgan64": Setting(
        "dcgan64", "DCGAN 64 px", "dcgan_fashion_mnist", 64, ("ganlab", "bare", "recipe"), 1.05
    ),
    "pacgan2d": Setting(
        "pacgan2d", "PacGAN2 2D nets", "ring8_pacgan2", None, ("ganlab", "bare"), 1.15, 10
    ),
}
# (numerator, denominator) of the reported ratios, when both ran.
RATIOS = (
    ("a", "b"),
    ("a", "c"),
    ("b+cl", "b"),
    ("b+compile", "b"),
    ("a+cl", "a"),
    ("a+compile", "a"),
    ("a+diffaug", "a"),
    ("a+ada", "a"),
    ("a+r1r2", "a"),
    ("a+r1r2/16", "a"),
    ("a+r1r2/16", "a+r1r2"),
)


@dataclass(frozen=True)
class Options:
    """What to run; the defaults take 5-10 minutes on a shared 2-core machine.

    A repeat of 10 steps holds exactly one of (a)'s periodic events (losses logged every
    ``gan.log_every`` = 10 G steps, the divergence check every 10 D steps), so each repeat
    pays their amortized cost; shorter repeats would let the median skip them.
    """

    settings: tuple[str, ...] = tuple(SETTINGS)
    width: int = 64
    batch_size: int = 64
    limit: int | None = None
    warmup: int = 1
    iters_per_repeat: int = 10
    repeats: int = 3
    threads: int | None = None
    extras: tuple[str, ...] = ()
    overrides: tuple[str, ...] = ()
    startup_runs: int = 3
    out: Path = ROOT / "bench" / "results.md"

    def contenders(self, setting: Setting) -> tuple[Contender, ...]:
        chosen = CORE + tuple(EXTRAS[name] for name in self.extras)
        images = setting.resolution is not None
        return tuple(c for c in chosen if c.kind in setting.kinds and (images or not c.images_only))

    def iters(self, setting: Setting) -> int:
        return self.iters_per_repeat * setting.iters_scale


@dataclass
class Measurement:
    """One contender in one setting: seconds per repeat, warm-up time, memory."""

    contender: Contender
    setting: Setting
    iters: int
    batch_size: int
    threads: int = 0
    warmup_s: float = 0.0
    repeats_s: list[float] = field(default_factory=list)
    peak_rss_mib: float = 0.0
    helpers_mib: float = 0.0

    @property
    def ms_per_iter(self) -> list[float]:
        return [1000 * s / self.iters for s in self.repeats_s]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.ms_per_iter)

    @property
    def images_per_s(self) -> float:
        return 1000 * self.batch_size / self.median_ms


# ------------------------------------------------------------------------------ config


def config_overrides(options: Options, setting: Setting, run_dir: Path) -> list[str]:
    """The setting's experiment as ``make train`` runs it; images at the benchmark's width,
    resolution and batch, the 2D nets as the paper has them."""
    overrides = [
        f"experiment={setting.experiment}",
        f"paths.root_dir={ROOT}",
        f"paths.output_root={run_dir}",
        f"paths.run_dir={run_dir}",
        "callbacks=quiet",
        f"gan.max_g_steps={NEVER}",
    ]
    if setting.resolution is not None:
        limit = "null" if options.limit is None else options.limit
        overrides += [
            f"data.resolution={setting.resolution}",
            f"data.batch_size={options.batch_size}",
            f"data.limit={limit}",
            f"model.generator.width={options.width}",
            f"model.discriminator.width={options.width}",
        ]
    return [*overrides, *options.overrides]


def compose(overrides: list[str]) -> DictConfig:
    """Compose ``train.yaml`` as ``ganlab-train`` does (``${hydra:...}`` resolvable), with
    metrics off: evaluations are not training steps (``metrics_cost.py`` times them), and
    the experiment turns them on in a way no command-line override undoes."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose_job("train", overrides)
    with open_dict(cfg):
        cfg.metrics = None
    return cfg


# ------------------------------------------------------------------------------ worker side


class Pacer:
    """Runs a worker's steps in the blocks the parent asks for (the warm-up, then one step at
    a time) and times each block.

    Between blocks the worker blocks on its pipe, so only one contender computes at a time.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.remaining = 0
        self.started = 0.0
        self.helpers_mib = 0.0

    def start(self) -> bool:
        """Tell the parent that setup is done, then wait for the first block."""
        import torch

        self.conn.send(("ready", torch.get_num_threads()))
        return self.wait()

    def wait(self) -> bool:
        """Wait for the next block; False when the parent says stop."""
        command, steps = self.conn.recv()
        if command == "stop":
            self.helpers_mib = helpers_private_mib()  # while loader workers / W&B still run
            return False
        self.remaining = steps
        self.started = time.perf_counter()
        return True

    def step_done(self) -> bool:
        """Count a finished step; at a block's end report its time and wait for the next."""
        self.remaining -= 1
        if self.remaining > 0:
            return True
        self.conn.send(("block", time.perf_counter() - self.started))
        return self.wait()


# The worker's pacer, for the callback that ``train`` builds from the config.
_PACER: Pacer | None = None


def pacer_callback() -> pl.Callback:
    """The callback ``train`` builds from the config: every finished step (one D and one G
    update) goes to the worker's pacer. Made here so that the parent never imports Lightning."""
    import lightning.pytorch as pl

    class PacerCallback(pl.Callback):
        def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
            trainer.should_stop = not _PACER.start()

        def on_train_batch_end(
            self,
            trainer: pl.Trainer,
            pl_module: pl.LightningModule,
            outputs: Any,
            batch: Any,
            batch_idx: int,
        ) -> None:
            trainer.should_stop = not _PACER.step_done()

    return PacerCallback()


def run_ganlab(cfg: DictConfig, pacer: Pacer) -> None:
    """(a): the real ``train(cfg)``, plus the callback that hands each step to the pacer."""
    global _PACER
    _PACER = pacer
    target = f"{pacer_callback.__module__}.{pacer_callback.__qualname__}"
    OmegaConf.update(cfg, "callbacks.bench_pacer", {"_target_": target}, force_add=True)
    train(cfg)


@dataclass
class BareGAN:
    """G and D with the config's loss and Adam settings; ``g``/``d`` are what steps call."""

    generator: nn.Module
    discriminator: nn.Module
    g: Callable[[Tensor], Tensor]
    d: Callable[[Tensor], Tensor]
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    loss: NonSaturatingLoss
    memory_format: torch.memory_format

    def step(self, x: Tensor) -> None:
        """One D update on a real batch, then one G update: the arithmetic of GANModule's step.

        D's weights need no gradients in G's step (Lightning's ``toggle_optimizer`` turns them
        off there too), so the floor does not pay for them either.
        """
        import torch

        x = x.contiguous(memory_format=self.memory_format)
        batch, z_dim = x.shape[0], self.generator.z_dim
        with torch.no_grad():
            fake = self.g(torch.randn(batch, z_dim))
        d_loss = self.loss.d_loss(self.d(x), self.d(fake))
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        self.discriminator.requires_grad_(False)
        g_loss = self.loss.g_loss(self.d(self.g(torch.randn(batch, z_dim))))
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        self.discriminator.requires_grad_(True)


def bare_gan(cfg: DictConfig, shape: tuple[int, ...], contender: Contender) -> BareGAN:
    """The config's G and D (``build_networks``), non-saturating loss and Adam, unwrapped."""
    import torch

    from ganlab.build import build_networks, build_objective
    from ganlab.losses import NonSaturatingLoss

    torch.manual_seed(cfg.seed)
    generator, discriminator = build_networks(
        cfg, build_objective(cfg), shape, 0, cfg.data.batch_size
    )
    memory_format = torch.channels_last if contender.channels_last else torch.contiguous_format
    generator.to(memory_format=memory_format)
    discriminator.to(memory_format=memory_format)

    def adam(net: nn.Module, node: DictConfig) -> torch.optim.Optimizer:
        return torch.optim.Adam(net.parameters(), lr=node.lr, betas=tuple(node.betas))

    g, d = generator, discriminator
    if contender.compile:
        g, d = torch.compile(generator), torch.compile(discriminator)
    return BareGAN(
        generator=generator,
        discriminator=discriminator,
        g=g,
        d=d,
        opt_g=adam(generator, cfg.optim.generator),
        opt_d=adam(discriminator, cfg.optim.discriminator),
        loss=NonSaturatingLoss(),
        memory_format=memory_format,
    )


def memory_batches(data: Tensor, batch_size: int) -> Iterator[Tensor]:
    """Endless shuffled batches of an in-memory tensor; uint8 images are turned into [-1, 1]
    floats per batch, as ganlab's in-memory data modules do."""
    import torch

    from ganlab.data import to_unit_range

    while True:
        order = torch.randperm(len(data))
        for start in range(0, len(data) - batch_size + 1, batch_size):
            batch = data[order[start : start + batch_size]]
            yield to_unit_range(batch) if batch.dtype == torch.uint8 else batch


class FashionMNISTImages:
    """Fashion-MNIST served as torchvision's ``FashionMNIST`` serves it: a PIL image per item.

    torchvision's class wants unpacked files in its own folder layout; this map-style dataset
    reads the IDX files where they are and returns the same (transformed image, label) items.
    """

    def __init__(
        self, root: Path, transform: Callable[[Image.Image], Tensor], limit: int | None
    ) -> None:
        import torch

        from ganlab.data import read_idx

        images = read_idx(root / "train-images-idx3-ubyte.gz", ndim=3)
        labels = read_idx(root / "train-labels-idx1-ubyte.gz", ndim=1)
        self.data = torch.from_numpy(images)[:limit]
        self.targets = torch.from_numpy(labels)[:limit]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        from PIL import Image

        image = Image.fromarray(self.data[index].numpy())
        return self.transform(image), int(self.targets[index])


def recipe_batches(cfg: DictConfig) -> Iterator[Tensor]:
    """Batches as PyTorch's DCGAN example makes them: per-item Resize/ToTensor/Normalize."""
    from torch.utils.data import DataLoader
    from torchvision import transforms

    resolution = cfg.data.resolution
    transform = transforms.Compose(
        [transforms.Resize(resolution), transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))]
    )
    dataset = FashionMNISTImages(Path(cfg.data.system_root), transform, cfg.data.limit)
    loader = DataLoader(dataset, batch_size=cfg.data.batch_size, shuffle=True, num_workers=2)
    while True:
        for x, _ in loader:
            yield x


def run_bare(cfg: DictConfig, contender: Contender, pacer: Pacer) -> None:
    """(b), (c) and the extras: a plain loop of ``BareGAN.step`` over the contender's batches."""
    from hydra.utils import instantiate

    if contender.kind == "recipe":
        batches = recipe_batches(cfg)
        shape = (1, cfg.data.resolution, cfg.data.resolution)
    else:
        datamodule = instantiate(cfg.data)
        datamodule.setup("fit")
        data = datamodule.images if hasattr(datamodule, "images") else datamodule.points
        batches = memory_batches(data, datamodule.batch_size)
        shape = tuple(datamodule.shape)
    gan = bare_gan(cfg, shape, contender)
    running = pacer.start()
    while running:
        gan.step(next(batches))
        running = pacer.step_done()
    batches.close()


def helpers_private_mib() -> float:
    """Private memory (USS) in MiB of this process's live descendants: DataLoader workers,
    W&B's service. Their RSS would count again the pages a forked worker shares with us."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # it ended meanwhile
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    kib, todo = 0, list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
        except OSError:
            continue
        kib += sum(int(line.split()[1]) for line in rollup if line.startswith("Private_"))
    return kib / KIB_PER_MIB


def worker(
    conn: Connection, contender: Contender, overrides: list[str], threads: int | None, log: Path
) -> None:
    """One contender's process: output to ``log``, steps when told, peak RSS at the end."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    # A process from the fork server defaults to it too; the recipe's loader workers should
    # start as in a script run from the shell (fork on Linux).
    multiprocessing.set_start_method(None, force=True)
    os.environ["WANDB_SILENT"] = "true"
    # A fresh compile cache, so the compile time is what a first run pays.
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(log.with_suffix(".inductor"))
    try:
        if threads is not None:
            import torch

            torch.set_num_threads(threads)
        cfg = compose(overrides)
        pacer = Pacer(conn)
        if contender.kind == "ganlab":
            run_ganlab(cfg, pacer)
        else:
            run_bare(cfg, contender, pacer)
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / KIB_PER_MIB
        conn.send(("stopped", (peak_rss, pacer.helpers_mib)))
    except BaseException:
        traceback.print_exc()
        conn.send(("error", traceback.format_exc()))
        raise


# ------------------------------------------------------------------------------ parent side


class Worker:
    """The parent's handle on one contender's process."""

    def __init__(
        self, contender: Contender, overrides: list[str], threads: int | None, log: Path
    ) -> None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([*WORKER_MODULES, worker.__module__])
        self.contender = contender
        self.log = log
        self.conn, child_conn = context.Pipe()
        self.process = context.Process(
            target=worker,
            args=(child_conn, contender, overrides, threads, log),
            name=f"bench-{contender.key}",
        )
        self.process.start()
        child_conn.close()

    def receive(self, expected: str) -> Any:
        """The next message, which must be ``expected``; a failed worker raises with its log."""
        try:
            kind, payload = self.conn.recv()
        except EOFError:
            kind, payload = "error", "the process ended without a message"
        if kind != expected:
            tail = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"contender {self.contender.key} failed: {payload}\n{tail}")
        return payload

    def run_block(self, steps: int) -> float:
        self.conn.send(("run", steps))
        return self.receive("block")

    def stop(self) -> tuple[float, float]:
        self.conn.send(("stop", 0))
        memory = self.receive("stopped")
        self.process.join()
        return memory


def rounds(workers: Sequence[Worker], count: int) -> Iterator[list[Worker]]:
    """``count`` orders of all workers, each shuffled anew (seeded), so that no contender
    always runs first, or right after the same other one and whatever it leaves behind."""
    rng = random.Random(0)
    for _ in range(count):
        yield rng.sample(list(workers), len(workers))


def measure_setting(options: Options, setting: Setting, workdir: Path) -> list[Measurement]:
    """All contenders of one setting, one process each, started together; the timed
    steps alternate one by one, and each repeat sums ``iters`` steps per contender."""
    workers: list[Worker] = []
    iters = options.iters(setting)
    name = setting.key
    try:
        for contender in options.contenders(setting):
            run_dir = workdir / f"{contender.key}_{name}"
            overrides = config_overrides(options, setting, run_dir)
            if contender.kind == "ganlab":
                overrides.append(f"gan.channels_last={str(contender.channels_last).lower()}")
                overrides.append(f"gan.compile={str(contender.compile).lower()}")
                overrides += contender.overrides
            log = workdir / f"{run_dir.name}.log"
            workers.append(Worker(contender, overrides, options.threads, log))
        batch_size = compose(config_overrides(options, setting, workdir)).data.batch_size
        results = {
            w.contender.key: Measurement(w.contender, setting, iters, batch_size) for w in workers
        }
        started = time.perf_counter()
        for w in workers:
            results[w.contender.key].threads = w.receive("ready")
        print(f"{name}: set up in {time.perf_counter() - started:.0f} s", flush=True)
        for w in workers:
            results[w.contender.key].warmup_s = w.run_block(options.warmup)
        orders = rounds(workers, options.repeats * iters)
        for r in range(1, options.repeats + 1):
            spent = dict.fromkeys(results, 0.0)
            for _ in range(iters):
                for w in next(orders):
                    spent[w.contender.key] += w.run_block(1)
            for key, seconds in spent.items():
                results[key].repeats_s.append(seconds)
            line = ", ".join(f"{key} {m.ms_per_iter[-1]:.0f}" for key, m in results.items())
            print(f"{name}: repeat {r}/{options.repeats}: ms/iter {line}", flush=True)
        for w in workers:
            m = results[w.contender.key]
            m.peak_rss_mib, m.helpers_mib = w.stop()
        return list(results.values())
    finally:
        for w in workers:
            if w.process.is_alive():
                w.process.terminate()
                w.process.join()


def run_benchmark(options: Options) -> list[Measurement]:
    """Every setting in turn; runs and logs go to a temporary folder removed after."""
    settings = [SETTINGS[name] for name in options.settings]
    for setting in settings:  # bad overrides fail here, before any process
        compose(config_overrides(options, setting, Path(tempfile.gettempdir())))
    with tempfile.TemporaryDirectory(prefix="ganlab_bench_") as tmp:
        return [m for setting in settings for m in measure_setting(options, setting, Path(tmp))]


# ------------------------------------------------------------------------------ start-up

# The floor of a start-up: a script that imports torch and Lightning and takes one optimizer
# step. It prints the wall clock after the imports and at its first step.
BARE_START = """
import time
import torch
import lightning.pytorch
imported = time.time()
net = torch.nn.Sequential(torch.nn.Linear(2, 400), torch.nn.ReLU(), torch.nn.Linear(400, 1))
optimizer = torch.optim.Adam(net.parameters())
stepping = time.time()
net(torch.randn(100, 2)).mean().backward()
optimizer.step()
print(imported, stepping)
"""
FIRST_STEP_ENV = "GANLAB_BENCH_FIRST_STEP"


def first_step_callback() -> pl.Callback:
    """The callback ``ganlab-train`` builds in a start-up run: it writes the wall clock at the
    first training step to the file ``$GANLAB_BENCH_FIRST_STEP`` names, then stops the run."""
    import lightning.pytorch as pl

    class FirstStep(pl.Callback):
        def on_train_batch_start(self, trainer: pl.Trainer, *args: Any) -> None:
            Path(os.environ[FIRST_STEP_ENV]).write_text(str(time.time()))
            trainer.should_stop = True

    return FirstStep()


@dataclass
class Startup:
    """Seconds from process start to the first training step, per run, for ganlab-train on
    each of ``STARTUP_EXPERIMENTS`` and for the bare script (whose import time is kept too)."""

    ganlab_s: dict[str, list[float]] = field(default_factory=dict)
    bare_s: list[float] = field(default_factory=list)
    bare_imports_s: list[float] = field(default_factory=list)


def start_ganlab(experiment: str, options: Options, workdir: Path) -> float:
    """One ``ganlab-train experiment=...`` run as a user types it, timed to its first step."""
    clock = workdir / "first_step"
    clock.unlink(missing_ok=True)
    env = {**os.environ, FIRST_STEP_ENV: str(clock), "WANDB_SILENT": "true"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "bench"), env.get("PYTHONPATH", "")])
    if options.threads is not None:
        env["OMP_NUM_THREADS"] = str(options.threads)
    command = [
        str(Path(sys.executable).with_name("ganlab-train")),
        f"experiment={experiment}",
        f"paths.output_root={workdir}",
        "callbacks=quiet",
        "+callbacks.first_step._target_=train_speed.first_step_callback",
        *options.overrides,
    ]
    started = time.time()
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=600)
    return float(clock.read_text()) - started


def start_bare(threads: int | None) -> tuple[float, float]:
    """One run of ``BARE_START``: (seconds to its imports' end, seconds to its first step)."""
    env = dict(os.environ)
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    started = time.time()
    done = subprocess.run(
        [sys.executable, "-c", BARE_START], env=env, check=True, capture_output=True, text=True
    )
    imported, stepping = map(float, done.stdout.split())
    return imported - started, stepping - started


# Start-up is timed on the experiment whose data and nets are tiny, so what it shows is the
# framework's own start-up (the DCGAN experiment adds reading and resizing 60k images).
STARTUP_EXPERIMENTS = ("ring8_pacgan2",)


def measure_startup(options: Options) -> Startup:
    """``--startup-runs`` rounds; in each, ganlab-train on ``STARTUP_EXPERIMENTS`` and the
    bare script, in turn."""
    result = Startup()
    with tempfile.TemporaryDirectory(prefix="ganlab_startup_") as tmp:
        for round_ in range(1, options.startup_runs + 1):
            for experiment in STARTUP_EXPERIMENTS:
                seconds = start_ganlab(experiment, options, Path(tmp))
                result.ganlab_s.setdefault(experiment, []).append(seconds)
            imports, first = start_bare(options.threads)
            result.bare_imports_s.append(imports)
            result.bare_s.append(first)
            print(f"start-up round {round_}/{options.startup_runs} done", flush=True)
    return result


# ------------------------------------------------------------------------------ report


@dataclass(frozen=True)
class Ratio:
    """``num``'s time over ``den``'s, per repeat (paired, so slow phases of the machine cancel)."""

    setting: Setting
    num: str
    den: str
    values: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.values)


def ratios(measurements: list[Measurement]) -> list[Ratio]:
    """The ``RATIOS`` whose two contenders ran, per setting."""
    by_key = {(m.setting.key, m.contender.key): m for m in measurements}
    found = []
    for setting in {m.setting.key: m.setting for m in measurements}.values():
        for num, den in RATIOS:
            a, b = by_key.get((setting.key, num)), by_key.get((setting.key, den))
            if a is not None and b is not None:
                values = [x / y for x, y in zip(a.repeats_s, b.repeats_s, strict=True)]
                found.append(Ratio(setting, num, den, values))
    return found


def machine(measurements: list[Measurement]) -> str:
    """CPU model, cores, threads, load, Python and library versions: what the numbers depend on."""
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    usable = len(os.sched_getaffinity(0))
    threads = "/".join(sorted({str(m.threads) for m in measurements}))
    libs = ", ".join(f"{n} {metadata.version(n)}" for n in ("torch", "torchvision", "lightning"))
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{cpu}, {os.cpu_count()} cores ({usable} usable), {threads} torch threads per process; "
        f"load average (1/5/15 min) at the end {load}; Python {platform.python_version()}, {libs}"
    )


def spread(values: list[float], digits: int = 0) -> str:
    return f"{min(values):.{digits}f}–{max(values):.{digits}f}"


def verdict(ratio: Ratio, limit: float) -> str:
    met = "met" if ratio.median <= limit else "NOT met"
    return (
        f"{met} for {ratio.setting.label}: median {ratio.median:.3f} "
        f"(repeats {min(ratio.values):.3f}–{max(ratio.values):.3f})"
    )


def startup_lines(startup: Startup) -> list[str]:
    """The start-up table: median and range per command, and ganlab's excess over the floor."""
    floor = statistics.median(startup.bare_s)
    rows = [
        ("bare script: import torch, lightning", startup.bare_imports_s),
        ("bare script: first optimizer step", startup.bare_s),
        *((f"ganlab-train experiment={e}: first step", s) for e, s in startup.ganlab_s.items()),
    ]
    lines = [
        "",
        "Start-up, seconds from process start to the first training step "
        f"({len(startup.bare_s)} runs each, alternating; ganlab-train with the experiment's "
        "loggers, callbacks and metrics, its data read and set up):",
    ]
    lines += ["", "| command | median s | min–max | over the bare step |", "|---|---|---|---|"]
    lines += [
        f"| {label} | {statistics.median(runs):.2f} | {spread(runs, 2)} "
        f"| {statistics.median(runs) - floor:+.2f} |"
        for label, runs in rows
    ]
    return lines


def report(
    options: Options, measurements: list[Measurement], startup: Startup | None, command: str
) -> str:
    """Markdown: machine, settings, per-contender table, paired ratios, targets, start-up."""
    images = "all 60000" if options.limit is None else f"the first {options.limit}"
    lines = [
        "# Training speed",
        "",
        "Generated by `bench/train_speed.py` on "
        f"{datetime.now(timezone.utc).isoformat(timespec='seconds')}.",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {machine(measurements)}.",
        "",
        "Settings: DCGAN (`experiment=dcgan_fashion_mnist`) with width "
        f"{options.width} in G and D, batch {options.batch_size}, Fashion-MNIST ({images} "
        "training images) resized to each resolution; PacGAN2's 2D nets "
        "(`experiment=ring8_pacgan2`: G 4 x 400 batch-norm ReLU, D 3 x 200 maxout-5 on packs "
        "of 2, batch 100, 100k ring points). Non-saturating loss, Adam from the config, metrics "
        f"off. Per contender and setting: {options.warmup} warm-up step(s), then "
        f"{options.repeats} repeats of {options.iters_per_repeat} timed steps (x"
        f"{SETTINGS['pacgan2d'].iters_scale} for the 2D nets); the contenders take turns step "
        "by step, in a shuffled order each round, and the ratios pair their sums per repeat. "
        "One step = one D update on a real batch + one G update; samples/s counts real "
        "samples. Peak RSS is the contender's own process; helpers is the private memory of "
        "its child processes (DataLoader workers, W&B's service) at the end. Extra overrides: "
        f"{' '.join(options.overrides) or 'none'}.",
        "",
        "| setting | contender | ms/iter median | min–max | samples/s | peak RSS MiB "
        "| helpers MiB | warm-up s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {m.setting.label} | ({m.contender.key}) {m.contender.label} | {m.median_ms:.1f} "
        f"| {spread(m.ms_per_iter, 1)} | {m.images_per_s:.0f} | {m.peak_rss_mib:.0f} "
        f"| {m.helpers_mib:.0f} | {m.warmup_s:.1f} |"
        for m in measurements
    ]
    found = ratios(measurements)
    lines += [
        "",
        "Time ratios, paired per repeat (< 1: the first is faster):",
        "",
        "| setting | ratio | median | min–max |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {r.setting.label} | {r.num}/{r.den} | {r.median:.3f} "
        f"| {min(r.values):.3f}–{max(r.values):.3f} |"
        for r in found
    ]
    compiled = [m for m in measurements if m.contender.compile]
    if compiled:
        lines += ["", "Compile time (cold cache: warm-up minus its steps at the median speed):", ""]
        lines += [
            f"- {m.setting.label} ({m.contender.key}): "
            f"{m.warmup_s - options.warmup * m.median_ms / 1000:.1f} s"
            for m in compiled
        ]
    lines += ["", "Targets (on the median of the paired ratios):", ""]
    lines += [
        f"- a/b <= {r.setting.ab_target}: {verdict(r, r.setting.ab_target)}"
        for r in found
        if (r.num, r.den) == ("a", "b")
    ]
    lines += [f"- a/c <= 1: {verdict(r, 1.0)}" for r in found if (r.num, r.den) == ("a", "c")]
    lines += [
        f"- a+diffaug/a <= 1.15: {verdict(r, 1.15)}"
        for r in found
        if (r.num, r.den) == ("a+diffaug", "a")
    ]
    if startup is not None:
        lines += startup_lines(startup)
    lines += [
        "",
        "Not measured here (they apply only on a GPU): bf16 autocast, `cudnn.benchmark`, "
        "pinned memory, GPU-resident data.",
        "",
    ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = Options()
    parser.add_argument(
        "--settings", nargs="+", choices=list(SETTINGS), default=list(defaults.settings)
    )
    parser.add_argument("--width", type=int, default=defaults.width, help="DCGAN base width")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help="DCGAN batch")
    parser.add_argument("--limit", type=int, default=None, help="use the first N images")
    parser.add_argument("--warmup", type=int, default=defaults.warmup, help="untimed steps")
    parser.add_argument(
        "--iters",
        type=int,
        default=defaults.iters_per_repeat,
        help="timed steps per repeat (x10 for the 2D nets)",
    )
    parser.add_argument(
        "--repeats", type=int, default=defaults.repeats, help="repeats (paired ratios)"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads per process (default: torch's)"
    )
    parser.add_argument("--extras", nargs="*", choices=sorted(EXTRAS), default=[])
    parser.add_argument(
        "--override", action="append", default=[], help="extra Hydra override, repeatable"
    )
    parser.add_argument(
        "--startup-runs",
        type=int,
        default=defaults.startup_runs,
        help="start-up runs per command (0: skip)",
    )
    parser.add_argument("--out", type=Path, default=defaults.out, help="markdown report")
    args = parser.parse_args(argv)
    if min(args.warmup, args.iters, args.repeats) < 1 or args.startup_runs < 0:
        parser.error("--warmup, --iters and --repeats must be >= 1, --startup-runs >= 0")
    return Options(
        settings=tuple(args.settings),
        width=args.width,
        batch_size=args.batch_size,
        limit=args.limit,
        warmup=args.warmup,
        iters_per_repeat=args.iters,
        repeats=args.repeats,
        threads=args.threads,
        extras=tuple(args.extras),
        overrides=tuple(args.override),
        startup_runs=args.startup_runs,
        out=args.out,
    )


def main(argv: Sequence[str] | None = None) -> tuple[list[Measurement], Startup | None]:
    """Run, print the report and write it to ``--out``; returns the measurements."""
    options = parse_args(argv)
    args = sys.argv[1:] if argv is None else list(argv)
    command = shlex.join([os.path.relpath(sys.executable), "bench/train_speed.py", *args])
    measurements = run_benchmark(options)
    startup = measure_startup(options) if options.startup_runs else None
    text = report(options, measurements, startup, command)
    print(text)
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(text)
    return measurements, startup


if __name__ == "__main__":
    main()
