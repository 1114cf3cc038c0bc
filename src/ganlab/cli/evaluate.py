"""``ganlab-evaluate RUN``: the metrics of a saved run, as the training callback measures them.

The measurement is the callback's own (``SampleMetrics``) with the run's ``metrics``
settings, or the defaults of ``conf/metrics/`` when the run trained without metrics: the
same seeded chunks of latents, the same extractor and the same cached real features under
the run's ``paths.output_root``/cache. So a number printed here equals the one the run
would have logged from that checkpoint. ``RUN/evaluation.json`` (or ``--out FILE``) is
written only where no file is, or replaced with ``--overwrite``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from ganlab.cli.outputs import add_overwrite_flag, check_output_file
from ganlab.cli.runs import WHICH, load_generator, resolve_run
from ganlab.errors import GanlabError
from ganlab.metrics.registry import extractor_names, metric_names, short_key
from ganlab.run.summary import write_json

PROG = "ganlab-evaluate"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Measure the registered metrics (FID / IS / KID / precision-recall, or the "
        "2D mode metrics, unless the run chose others) of a saved run and write "
        "evaluation.json into its folder.",
    )
    parser.add_argument("run", metavar="RUN_OR_CHECKPOINT", help="a run folder or a .ckpt in one")
    parser.add_argument("--features", choices=extractor_names())
    parser.add_argument(
        "--compute",
        nargs="+",
        choices=metric_names(),
        metavar="METRIC",
        help=f"metrics to measure, of {', '.join(metric_names())} (default: the run's "
        "metrics.compute)",
    )
    parser.add_argument("--evaluator", metavar="FILE", help="domain classifier file")
    parser.add_argument("--inception-weights", metavar="FILE", help="torch-fidelity's weights")
    parser.add_argument("--num-samples", type=int, metavar="N", help="generated samples")
    parser.add_argument("--which", choices=WHICH, default="last", help="checkpoint (last)")
    parser.add_argument("--out", type=Path, metavar="FILE", help="default: RUN/evaluation.json")
    add_overwrite_flag(parser)
    return parser.parse_args(argv)


def metric_settings(cfg: DictConfig, datamodule: Any, args: argparse.Namespace) -> dict[str, Any]:
    """``SampleMetrics`` arguments: the run's metrics block, else conf/metrics defaults."""
    output_root = Path(cfg.paths.output_root)
    points = len(datamodule.shape) == 1
    settings: dict[str, Any] = {
        "features": "mixture" if points else "domain",
        "cache_dir": str(output_root / "cache"),
    }
    if points:  # conf/metrics/mixture.yaml
        settings.update(num_samples=2500, chunk_size=500)
    else:  # conf/metrics/domain.yaml: the data's own evaluator
        settings.update(evaluator="auto", evaluator_dir=str(output_root / "evaluators"))
    if cfg.get("metrics") is not None:
        saved = OmegaConf.to_container(cfg.metrics, resolve=True)
        settings.update({k: v for k, v in saved.items() if k not in ("_target_", "every_g_steps")})
        settings["checkpoint_dir"] = None  # evaluating never writes best.ckpt
    settings["monitor"] = None  # nor keeps a best
    if args.features is not None and args.features != settings["features"]:
        settings["features"] = args.features
    for key in ("evaluator", "inception_weights", "num_samples", "compute"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    return settings


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """Load the run, measure it, return what evaluation.json records."""
    from ganlab.callbacks.metrics import SampleMetrics
    from ganlab.metrics.evaluation import generate_chunks

    run_dir, checkpoint = resolve_run(args.run, args.which)
    generator, cfg, datamodule = load_generator(args.run, args.which)
    settings = metric_settings(cfg, datamodule, args)
    metrics = SampleMetrics(**settings)
    metrics.check(datamodule)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    generator.to(device)
    if metrics.extractor is not None:
        metrics.extractor.to(device)

    def sample(z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return generator(z.to(device), None if y is None else y.to(device))

    s = metrics.settings
    chunks = generate_chunks(
        sample,
        range(s.num_chunks),
        s,
        generator.z_dim,
        cfg.gan.get("latent", "normal"),
        generator.num_classes,
        metrics.extractor,
        metrics.keeps_images,
    )
    # The callback's own computation, so real features come from the same cache entry.
    values = metrics.compute(datamodule, [chunks[c] for c in range(s.num_chunks)])
    recorded = {k: v for k, v in settings.items() if k not in ("checkpoint_dir", "monitor")}
    return {
        "run_dir": str(run_dir),
        "checkpoint": str(checkpoint),
        "settings": {**recorded, "compute": [m.name for m in metrics.chosen]},
        "metrics": values,
    }


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``ganlab-evaluate``."""
    args = parse_args(argv)
    if args.num_samples is not None and args.num_samples < 2:
        print(f"{PROG}: error: --num-samples {args.num_samples}: use 2 or more", file=sys.stderr)
        return 2
    try:
        run_dir, _ = resolve_run(args.run, args.which)
        out: Path = args.out or run_dir / "evaluation.json"
        check_output_file(out, args.overwrite, what="--out")
        result = evaluate(args)
    except GanlabError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    for key, value in result["metrics"].items():
        print(f"{short_key(key):<12} {value:.6g}")
    write_json(out, result)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
