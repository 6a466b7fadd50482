"""Small instances shared by the mechanism tests and the misreport search's tests."""

from __future__ import annotations

import numpy as np

from treemarket.testing import random_model
from treemarket.ttp import TTPModel


def hand_example() -> TTPModel:
    """A waits at the root and imposes an externality there (worked out in the docstring)."""
    return TTPModel.from_scenarios(
        ["A", "B", "C"],
        [1, 1],
        {"up": (0.5, {"A": 10, "B": 8, "C": 3.5}), "down": (0.5, {"A": -6, "B": -2, "C": 3.5})},
        [[["up", "down"]], [["up"], ["down"]]],
        name="hand",
    )


def without(model: TTPModel, i: int) -> TTPModel:
    """The model built without (one unit of) buyer i, as the brief says, for the references."""
    counts = model.counts.copy()
    counts[i] -= 1
    keep = np.flatnonzero(counts > 0)
    return model.select_buyers(keep, counts[keep])


def small_models(count: int, seed0: int = 0, **extra) -> list[TTPModel]:
    out = []
    for seed in range(seed0, seed0 + count):
        rng = np.random.default_rng(seed)
        kw = {
            "horizon": int(rng.integers(0, 3)),
            "buyers": int(rng.integers(1, 4)),
            "branching": (1, 3),
            "supply": (0, 2),
        }
        kw.update(extra)
        out.append(random_model(rng, **kw))
    return out
