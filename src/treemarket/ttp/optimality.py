"""Check the optimality system of [P] for an assignment and prices (seeds README, DP section).

All conditions in per-node units. For each condition the largest violation is reported:

* ``buy``:     0 ≤ y_i(t) ⊥ ψ_i(t) − v_i(t) + p(t) ≥ 0
* ``wait``:    0 ≤ z_i(t) ⊥ ψ_i(t) − E[ψ_i(t+1) | F(t)] ≥ 0      (t < T)
* ``stay``:    0 ≤ ψ_i(t) ⊥ z_i(t−1) − y_i(t) − z_i(t) ≥ 0          (z_i(−1) = count_i, z_i(T) = 0)
* ``clear``:   0 ≤ p(t) ⊥ μ(t) − Σ_i y_i(t) ≥ 0; with carry-over
               0 ≤ s(t) ⊥ p(t) − E[p(t+1) | F(t)] ≥ 0 (s the stock carried on; p(T) ≥ 0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from treemarket.ttp.model import TTPModel
from treemarket.ttp.prices import remaining_opportunity


@dataclass
class OptimalityReport:
    """Largest violation per condition: its sign, slack and complementarity parts."""

    violations: dict[str, dict[str, float]]

    @property
    def worst(self) -> float:
        return max(v for parts in self.violations.values() for v in parts.values())

    def holds(self, tol: float = 1e-7) -> bool:
        return self.worst <= tol

    def to_dict(self) -> dict[str, dict[str, float]]:
        return self.violations


def _pair(x: NDArray[np.float64], slack: NDArray[np.float64]) -> dict[str, float]:
    """Violation of 0 ≤ x ⊥ slack ≥ 0 (an infinite slack marks a condition that does not exist)."""
    if x.size == 0:
        return {"sign": 0.0, "slack": 0.0, "complementarity": 0.0}
    product = np.zeros(np.broadcast_shapes(x.shape, slack.shape))
    np.multiply(x, slack, out=product, where=np.isfinite(slack))
    return {
        "sign": float(max(0.0, -x.min())),
        "slack": float(max(0.0, -slack.min())),
        "complementarity": float(np.abs(product).max()),
    }


def check_optimality(
    model: TTPModel,
    y: NDArray[np.float64],
    price: NDArray[np.float64],
    option_value: NDArray[np.float64],
) -> OptimalityReport:
    """Largest violation of each complementarity condition for (y, p, ψ).

    Examples
    --------
    >>> from treemarket.ttp.examples import weather
    >>> from treemarket.ttp.exact import solve_exact
    >>> sol = solve_exact(weather(), price_ranges=False)
    >>> check_optimality(sol.model, sol.y, sol.prices.price, sol.prices.option_value).holds()
    True
    """
    tree = model.tree
    values = model.values
    psi = option_value
    z = remaining_opportunity(model, y)
    leaves = tree.leaves
    z_at_t = z.copy()
    z_at_t[:, leaves] = 0.0  # z_i(T) = 0: the opportunity cannot be carried past T
    before = np.empty_like(z)  # z_i(t − 1)
    roots = tree.level(0)
    before[:, roots] = model.counts[:, None]
    has_parent = tree.parent >= 0
    before[:, has_parent] = z[:, tree.parent[has_parent]]
    inner = int(tree.level_offsets[-2])
    expected_next = tree.expectation_of_children(psi)
    stock = model.stock(y)
    if model.carry_over:
        # 0 ≤ s(n) ⊥ p(n) − E[p(t+1) | n] ≥ 0 (inner), 0 ≤ s(leaf) ⊥ p(leaf) ≥ 0
        drift = price.copy()
        drift[:inner] = price[:inner] - tree.expectation_of_children(price)
        clear = _pair(stock, drift)
        clear["sign"] = max(clear["sign"], float(max(0.0, -price.min())))
    else:
        clear = _pair(price, stock)
    return OptimalityReport(
        {
            "buy": _pair(y, np.where(model.present, psi - values + price[None, :], np.inf)),
            "wait": _pair(z_at_t[:, :inner], psi[:, :inner] - expected_next),
            "stay": _pair(psi, before - y - z_at_t),
            "clear": clear,
        }
    )
