"""Small models from the paper, built in Python (the bundled YAML files hold the same data)."""

from __future__ import annotations

from treemarket.ttp.model import TTPModel


def weather() -> TTPModel:
    """The slides' weather example: T = 2, buyers A, B, C, μ = (1, 1, 1), four scenarios.

    At t = 1 a forecast tells {FC, CF} ("no rain") from {CR, RC}; at t = 2 the weather is known.
    """
    values = {
        "FC": {"A": 8, "B": 6, "C": 2},
        "CF": {"A": 6, "B": 8, "C": 2},
        "CR": {"A": 6, "B": -4, "C": 2},
        "RC": {"A": -4, "B": 6, "C": 2},
    }
    return TTPModel.from_scenarios(
        buyers=["A", "B", "C"],
        supply=[1, 1, 1],
        scenarios={name: (0.25, v) for name, v in values.items()},
        information=[
            [["FC", "CF", "CR", "RC"]],
            [["FC", "CF"], ["CR", "RC"]],
            [["FC"], ["CF"], ["CR"], ["RC"]],
        ],
        name="weather",
    )
