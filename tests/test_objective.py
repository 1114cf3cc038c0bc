"""The objective: phases as data, lazy regularization, G's regularizer slot, the door to D.

The first tests use the objective as plain PyTorch; the others train through the real
Hydra composition and Lightning trainer, with test augments and regularizers named by
``_target_`` as a user's own would be.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from ganlab.errors import ConfigError
from ganlab.losses import NonSaturatingLoss, R1Penalty
from ganlab.nets import MLPDiscriminator, MLPGenerator
from ganlab.objective import Draws, GANObjective, Phase, Regularizer, schedule
from ganlab.train import train

from .conftest import ROOT, TINY, ComposeFn
from .test_cli import TRAIN, snapshot

SMALL_MLP = ["model=mlp", "model.generator.hidden=[32]", "model.discriminator.hidden=[16]"]


SEEN: list[tuple[int, bool]] = []


class RecordingAugment(nn.Module):
    """The identity, recording every batch that reaches D and whether it carries a graph."""

    def forward(self, x: Tensor) -> Tensor:
        SEEN.append((x.shape[0], x.requires_grad))
        return x


class OutputEnergy:
    """A G regularizer for the tests: the mean squared output of G on a fresh batch."""

    def __call__(self, generate, run_d, real: Tensor, condition: object) -> Tensor:
        return generate().square().mean()


def test_regularizers_due_every_step_join_the_main_phase() -> None:
    phases = schedule("D", "adversarial", {"r1": 1, "gp": 1})
    assert phases == (Phase("D", "D", ("adversarial", "r1", "gp")),)


def test_lazy_regularizers_get_phases_of_their_own() -> None:
    one = schedule("D", "adversarial", {"r1": 16})
    assert one == (Phase("D", "D", ("adversarial",)), Phase("Dreg", "D", ("r1",), 16))
    two = schedule("G", "adversarial", {"a": 4, "b": 1, "c": 8, "d": 4})
    assert [(p.name, p.terms, p.every) for p in two] == [
        ("G", ("adversarial", "b"), 1),
        ("Greg4", ("a", "d"), 4),
        ("Greg8", ("c",), 8),
    ]
    assert [two[1].due(step) for step in range(9)] == [True, False, False, False] * 2 + [True]


@pytest.mark.parametrize("every", [0, -1, 1.5, True])
def test_an_interval_below_one_or_not_an_integer_is_refused(every: object) -> None:
    with pytest.raises(ValueError, match=r"r1\.every: expected an integer >= 1"):
        schedule("D", "adversarial", {"r1": every})


def _objective(r1_every: int) -> tuple[GANObjective, nn.Module]:
    torch.manual_seed(0)
    g = MLPGenerator(shape=(3,), z_dim=2, hidden=[8], output="linear")
    d = MLPDiscriminator(shape=(3,), hidden=[8], activation="relu")
    objective = GANObjective(
        loss=NonSaturatingLoss(), penalties={"r1": Regularizer(R1Penalty(gamma=2.0), r1_every)}
    )
    objective.bind(g, d)
    return objective, d


def test_a_lazy_penalty_is_scaled_by_its_interval() -> None:
    objective, d = _objective(r1_every=4)
    real = torch.randn(6, 3)
    z = torch.randn(6, 2)
    batch = objective.prepare(real, torch.full((6,), -1), Draws(lambda n: z, {}))
    assert [p.name for p in objective.due("D", 0)] == ["D", "Dreg"]
    assert [p.name for p in objective.due("D", 1)] == ["D"]
    lazy, logs = objective.phase_loss(objective.due("D", 4)[1], batch)
    direct = R1Penalty(gamma=2.0)(d, real, batch.detached_fake())
    assert torch.allclose(lazy, 4 * direct, rtol=1e-6)
    assert torch.allclose(logs["penalty/r1"], direct, rtol=1e-6)  # logged as itself


def _optimizer_steps(run: Path) -> tuple[int, int]:
    """Adam's step count of G's and D's first parameter in the run's last checkpoint."""
    payload = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    g, d = (int(state["state"][0]["step"]) for state in payload["optimizer_states"])
    return g, d


def test_lazy_r1_takes_one_more_d_update_every_k_steps(compose_cfg: ComposeFn) -> None:
    cfg = compose_cfg(*TINY, *SMALL_MLP, "loss=ns_r1", "loss.penalties.r1.every=4")
    cfg.gan.max_g_steps = 9
    summary = train(cfg)
    g_steps, d_steps = _optimizer_steps(Path(cfg.paths.run_dir))
    assert (g_steps, summary["d_steps"]) == (9, 9)
    assert d_steps == 9 + math.ceil(9 / 4)  # D steps 0, 4 and 8 also run Dreg


def test_a_g_regularizer_runs_on_its_own_interval(compose_cfg: ComposeFn) -> None:
    cfg = compose_cfg(
        *TINY,
        *SMALL_MLP,
        "phases.n_critic=2",
        "+loss.g_penalties.energy._target_=tests.test_objective.OutputEnergy",
        "+loss.g_penalties.energy.every=3",
        "gan.max_g_steps=7",
    )
    summary = train(cfg)
    g_steps, d_steps = _optimizer_steps(Path(cfg.paths.run_dir))
    assert (summary["g_steps"], summary["d_steps"], d_steps) == (7, 14, 14)
    assert g_steps == 7 + math.ceil(7 / 3)  # G steps 0, 3 and 6 also run Greg
    assert summary["final"]["penalty/energy"] > 0


# What reaches D's door in one D step and one G step, as (batch size, carries a graph).
DOOR = [
    # D step: real, fake, the penalty's interpolates (with a graph for the input gradient);
    # G step: fake, carrying G's graph.
    ("wgan_gp", [(16, False), (16, False), (16, True), (16, True)]),
    # D step: real, fake; G step: fake with G's graph, then the real batch (no graph).
    ("rpgan", [(16, False), (16, False), (16, True), (16, False)]),
]


@pytest.mark.parametrize(("loss", "expected"), DOOR, ids=[loss for loss, _ in DOOR])
def test_every_input_of_d_passes_the_door(
    compose_cfg: ComposeFn, loss: str, expected: list[tuple[int, bool]]
) -> None:
    """Samples and checkpoints never pass: only the phases' inputs are recorded."""
    SEEN.clear()
    cfg = compose_cfg(
        *TINY,
        *SMALL_MLP,
        f"loss={loss}",
        "augment._target_=tests.test_objective.RecordingAugment",
        "gan.max_g_steps=1",
    )
    train(cfg)
    assert expected == SEEN


def test_an_unknown_augment_lists_the_choices(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(TRAIN), "augment=nope", f"paths.output_root={tmp_path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "Could not find 'augment/nope'" in done.stderr and "none" in done.stderr
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("override", "new"),
    [("optim.n_critic=5", "phases.n_critic=5"), ("task.l1_weight=10", "task.objective.l1_weight")],
)
def test_a_moved_key_names_its_new_place(tmp_path: Path, override: str, new: str) -> None:
    (tmp_path / "kept").write_text("an earlier run's file")
    before = snapshot(tmp_path)
    done = subprocess.run(
        [str(TRAIN), "data=digits", override, f"paths.output_root={tmp_path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    (line,) = [line for line in done.stderr.splitlines() if "error" in line]
    assert f"moved to {new.split('=')[0]}" in line and new in line
    assert snapshot(tmp_path) == before


def test_a_moved_key_in_a_config_file_is_named(compose_cfg: ComposeFn) -> None:
    cfg = compose_cfg(*TINY, "+optim.n_critic=5")
    with pytest.raises(ConfigError, match=r"^optim\.n_critic: this setting moved to phases"):
        train(cfg)


def test_a_penalty_interval_below_one_is_named(compose_cfg: ComposeFn) -> None:
    cfg = compose_cfg(*TINY, "loss=ns_r1", "loss.penalties.r1.every=0")
    with pytest.raises(ConfigError, match=r"^loss\.penalties\.r1\.every: expected an integer"):
        train(cfg)


def test_the_plain_pytorch_layers_import_neither_lightning_nor_hydra() -> None:
    code = (
        "import sys, ganlab.nets, ganlab.losses, ganlab.augment, ganlab.objective, "
        "ganlab.restoration, ganlab.metrics, ganlab.metrics.registry, ganlab.metrics.evaluation, "
        "ganlab.schedules\n"
        "roots = {name.split('.')[0] for name in sys.modules}\n"
        "print(sorted(roots & {'lightning', 'pytorch_lightning', 'hydra', 'omegaconf'}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert done.stdout.strip() == "[]"
