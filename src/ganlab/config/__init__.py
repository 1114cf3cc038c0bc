"""Hydra plumbing: where the config tree is, the checks on a composed config, the resolvers
the tree uses, and the Hydra callbacks that check a run or a sweep before it starts."""

from pathlib import Path

# The Hydra config tree that ganlab-train and the tools compose.
CONF_DIR = Path(__file__).resolve().parents[3] / "conf"
