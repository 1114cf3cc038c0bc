"""Every paper reproduction composes, passes the schema and trains two G steps; the
``ganlab-reproduce`` command runs end to end; (slow) the ring8 runs land near PacGAN's table."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf, open_dict

from ganlab.cli.reproduce import main as reproduce_main
from ganlab.cli.reproduce import parse_args
from ganlab.config import CONF_DIR
from ganlab.reproduce import validate_experiment
from ganlab.train import train

from .conftest import ComposeFn, install_evaluator
from .data.test_cifar10 import write_cifar

EXPERIMENTS = CONF_DIR / "experiment"
ROOT = Path(__file__).resolve().parents[1]

QUICK = [
    "logger=csv",
    "callbacks=quiet",
    "gan.max_g_steps=2",
    "gan.log_every=1",
    "callbacks.samples.every_g_steps=1",
]
FASHION = ["data.limit=64", "data.batch_size=16"]
DOMAIN = ["metrics.num_samples=64", "metrics.chunk_size=32", "metrics.every_g_steps=1"]
POINTS = ["data.num_samples=2500", "metrics.every_g_steps=1"]
DCGAN = ["model.generator.width=8", "model.discriminator.width=8", *FASHION, *DOMAIN]
MLP = [
    "model.generator.hidden=[32,32]",
    "model.discriminator.hidden=[16,16]",
    *FASHION,
    *DOMAIN,
]
# Tiny versions of each reproduction (the data resolution and everything else are the file's).
TINY_RUNS = {
    "gan_goodfellow2014": MLP,
    "cgan_mirza2014": MLP,
    "dcgan_radford2015": DCGAN,
    "dcgan_radford2015_32px": DCGAN,
    "wgan_arjovsky2017": DCGAN,
    "wgan_gp_gulrajani2017": DCGAN,
    "lsgan_mao2017": DCGAN,
    "brief_128px": DCGAN,
    "sngan_miyato2018": [
        "model.generator.width=16",
        "model.discriminator.width=16",
        "data.batch_size=4",
    ],
    "limited_fashion_1k_ada": DCGAN,
    "dcgan_fashion_mnist": DCGAN,
    "r3gan_fashion_mnist": [
        "model.generator.widths=8",
        "model.generator.cardinality=4",
        *FASHION,
        *DOMAIN,
    ],
    "grid25_rpgan_r1_r2": POINTS,
    "ring8_gan": POINTS,
    "ring8_pacgan2": POINTS,
    "grid25_gan": POINTS,
    "grid25_pacgan2": POINTS,
}


def paper_experiments() -> list[str]:
    """Every experiment file that states a paper (the reproductions)."""
    return sorted(
        p.stem for p in EXPERIMENTS.glob("*.yaml") if OmegaConf.load(p).get("paper") is not None
    )


def test_every_reproduction_here_has_a_tiny_run() -> None:
    assert set(TINY_RUNS) <= set(paper_experiments())


@pytest.mark.parametrize("name", paper_experiments())
def test_experiment_blocks_pass_the_schema(compose_cfg: ComposeFn, name: str) -> None:
    cfg = compose_cfg(f"experiment={name}")
    experiment = validate_experiment(name, cfg)
    assert experiment.expected and experiment.seeds
    assert cfg.name == name


@pytest.mark.parametrize("name", sorted(TINY_RUNS))
def test_reproduction_trains_two_steps(
    compose_cfg: ComposeFn, tmp_path: Path, fashion_evaluator: Path, name: str
) -> None:
    overrides = [f"experiment={name}", *QUICK, *TINY_RUNS[name]]
    if name.startswith("sngan"):
        write_cifar(tmp_path / "cifar" / "cifar-10-batches-py")
        overrides.append(f"data.root={tmp_path / 'cifar'}")
    else:
        install_evaluator(fashion_evaluator, tmp_path)
    cfg = compose_cfg(*overrides)
    if cfg.metrics.features == "inception":
        # No Inception weights on a machine without network: the metrics block is checked
        # by composition above; the run itself goes without it.
        with open_dict(cfg):
            cfg.metrics = None
    summary = train(cfg)
    assert summary["g_steps"] == 2
    assert summary["d_steps"] == 2 * cfg.phases.n_critic
    if cfg.metrics is not None:
        experiment = validate_experiment(name, cfg)
        history = summary["metrics"]["history"]
        assert [h["g_step"] for h in history] == [1, 2]
        for entry in experiment.expected:  # a metric, or a final loss (loss/d)
            assert entry.metric in {**summary["metrics"]["final"], **summary["final"]}, entry.metric


def test_reproduce_command_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    results = tmp_path / "results"
    outputs = tmp_path / "outputs"
    overrides = [*QUICK, *POINTS, f"paths.output_root={outputs}"]
    reproduce_main(
        ["ring8_pacgan2", "--seeds", "0", "1", *overrides, "--results-dir", str(results)]
    )
    report = json.loads((results / "ring8_pacgan2.json").read_text())
    assert report["seeds"] == [0, 1]
    assert len({run["run_dir"] for run in report["runs"]}) == 2
    assert all(Path(run["run_dir"]).is_relative_to(outputs) for run in report["runs"])
    modes = report["results"][0]
    assert modes["label"] == "modes" and modes["ours"]["n"] == 2
    assert modes["ours"]["values"] == [r["values"]["metrics/modes"] for r in report["runs"]]
    assert modes["passed"] == (abs(modes["ours"]["mean"] - 7.9) <= 0.42)
    assert report["budget"]["g_steps"] == [2, 2] and report["hardware"]["cores"] >= 1
    assert (results / "ring8_pacgan2.png").is_file()
    assert (results / "ring8_pacgan2_curves.png").is_file()
    markdown = (results / "ring8_pacgan2.md").read_text()
    assert "| modes | `metrics/modes` | 7.9 +- 0.1 |" in markdown
    assert f"ganlab-reproduce ring8_pacgan2 --seeds 0 1 --results-dir {results} " in markdown
    (recorded,) = [line for line in markdown.splitlines() if line.startswith("ganlab-reproduce ")]
    again = parse_args(shlex.split(recorded)[1:])
    assert (again.name, again.seeds, again.results_dir) == ("ring8_pacgan2", [0, 1], results)
    assert again.overrides == overrides
    out = capsys.readouterr().out
    assert "seed 1: ganlab-train experiment=ring8_pacgan2 seed=1" in out
    assert f"report in {results / 'ring8_pacgan2.md'}" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ring8_gan", "expected.modes.check=between"], "expected.modes.check: 'between' is not"),
        (["no_such_experiment"], "no experiment 'no_such_experiment'"),
        (["ring8_gan", "phases.n_critic=0"], "phases.n_critic: expected an integer >= 1"),
        (["ring8_gan", "--seeds", "0", "x=1"], "Could not override 'x'"),
    ],
)
def test_reproduce_command_rejects_bad_input_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture, args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        reproduce_main([*args, f"paths.output_root={tmp_path}"])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # nothing trained, no run folder


def test_reproduce_needs_the_baseline_report_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A check against another experiment's report fails fast when that report is missing."""
    results, outputs = tmp_path / "results", tmp_path / "outputs"
    args = ["limited_fashion_1k_ada", f"paths.output_root={outputs}", "--results-dir", str(results)]
    with pytest.raises(SystemExit) as exit_info:
        reproduce_main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"{results / 'limited_fashion_1k_none.json'} does not exist" in err
    assert "run `ganlab-reproduce limited_fashion_1k_none` first" in err
    assert not outputs.exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ring8_gan", "ring8_pacgan2"])
def test_ring8_lands_within_the_tolerance_of_pacgan_table_1(tmp_path: Path, name: str) -> None:
    """The experiment as committed (3 seeds, its CPU budget): modes covered within tolerance."""
    results = tmp_path / "results"
    command = [sys.executable, "-m", "ganlab.cli.reproduce", name, "logger=csv", "callbacks=quiet"]
    command += [f"paths.output_root={tmp_path / 'outputs'}", "--results-dir", str(results)]
    subprocess.run(command, cwd=ROOT, check=True)
    report = json.loads((results / f"{name}.json").read_text())
    (modes,) = [r for r in report["results"] if r["label"] == "modes"]
    assert modes["ours"]["n"] == 3
    assert modes["passed"], f"{name}: modes {modes['ours']} vs paper {modes['paper']}"
