"""The static VCG mechanism: reports at t = 0, assignment by [P0], VCG payments.

Buyers report their whole value process at t = 0; the mechanism assigns ``y*`` and buyer i pays
the expected welfare loss she imposes on the others,
``payment_i = W*_{−i} − (W* − w_i)``; her expected payoff is ``W* − W*_{−i} ≥ 0``. Whatever she
reports, her true expected payoff is the true expected welfare of the assignment chosen minus
W*_{−i} (which her report cannot change), so truth-telling is a dominant strategy in
expectation, and it is individually rational in expectation. The payment is charged at t = 0,
in expectation: a realised path can leave a buyer below 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from treemarket.ttp.exact import solve_exact
from treemarket.ttp.mechanism._common import (
    TOL,
    FloatArray,
    by_buyer,
    common_json,
    exact_solution,
    snap,
)
from treemarket.ttp.model import TTPModel
from treemarket.ttp.result import TTPSolution

__all__ = ["VCGResult", "vcg"]


@dataclass
class VCGResult:
    """The static VCG mechanism: assignment by [P0], payments W*_{−i} − (W* − w_i).

    Attributes
    ----------
    welfare : float
        W*, the optimum of [P0].
    values : (I,) float
        w_i, each buyer's (type's) expected value in the optimum.
    welfare_without : (I,) float
        W*_{−i}: the optimum without (one unit of) buyer i.
    payments, payoffs : (I,) float
        Expected payment and payoff per buyer (per type: all its units).
    per_unit_payments, per_unit_payoffs : (I,) float
        The same per unit of a type (equal to the above for single buyers).
    revenue : float
        Σ payments: the seller's budget surplus (a deficit if negative; VCG payments here are
        never negative, because removing a buyer leaves the others' part of the optimum
        feasible).
    """

    model: TTPModel
    solution: TTPSolution
    welfare: float
    values: FloatArray
    welfare_without: FloatArray
    payments: FloatArray
    payoffs: FloatArray
    per_unit_payments: FloatArray
    per_unit_payoffs: FloatArray
    revenue: float
    kind: str = "vcg"

    @property
    def balance(self) -> str:
        """The seller's budget: "surplus", "deficit" or "balanced"."""
        scale = TOL * max(1.0, abs(self.welfare))
        if self.revenue > scale:
            return "surplus"
        return "deficit" if self.revenue < -scale else "balanced"

    def to_json(self) -> dict[str, Any]:
        """The keys of docs/json.md (kind, welfare, payments, payoffs, revenue) and the details."""
        model = self.model
        return {
            **common_json(self),
            "budget": {"revenue": self.revenue, "balance": self.balance},
            "values": by_buyer(model, self.values),
            "welfare_without": by_buyer(model, self.welfare_without),
        }


def vcg(model: TTPModel, solution: TTPSolution | None = None) -> VCGResult:
    """The static VCG mechanism: reports at t = 0, assignment by [P0], VCG payments.

    Buyer i pays the expected welfare loss she imposes on the others,

        payment_i = W*_{−i} − (W* − w_i),        payoff_i = w_i − payment_i = W* − W*_{−i},

    with W*_{−i} the optimum of the model built without her (one unit less of a type with
    count c > 1; the type then pays c times the per-unit externality plus its value:
    payment_type = c (W*_{−1} − W*) + w_type, payoff_type = c (W* − W*_{−1})).

    Truthful in dominant strategies (in expectation): with reports V', buyer i's true expected
    payoff is E_true-welfare(y*(V')) − W*_{−i} ≤ W* − W*_{−i}. Individually rational in
    expectation: W* ≥ W*_{−i}. Payments are ≥ 0: the others' part of y* is feasible without i.

    Parameters
    ----------
    model : TTPModel
    solution : TTPSolution, optional
        The exact solution of ``model`` (solved here if not given).

    Examples
    --------
    >>> from treemarket.ttp.examples import weather
    >>> r = vcg(weather())
    >>> r.welfare, r.welfare_without.tolist(), r.revenue
    (12.0, [7.0, 7.0, 10.0], 0.0)
    """
    solution = exact_solution(model, solution)
    y = solution.y
    welfare = float(solution.welfare)
    values = (model.values * y) @ model.tree.prob
    without = np.empty(model.n_buyers)
    for i in range(model.n_buyers):
        if model.counts[i] <= 0:
            without[i] = welfare
            continue
        reduced = _without(model, i)
        without[i] = 0.0 if reduced is None else solve_exact(reduced, price_ranges=False).welfare
    counts = np.maximum(model.counts, 1).astype(np.float64)
    unit_payoff = np.where(model.counts > 0, welfare - without, 0.0)
    payments = snap(values - model.counts * unit_payoff, welfare)
    payoffs = values - payments
    return VCGResult(
        model=model,
        solution=solution,
        welfare=welfare,
        values=values,
        welfare_without=without,
        payments=payments,
        payoffs=payoffs,
        per_unit_payments=payments / counts,
        per_unit_payoffs=unit_payoff,
        revenue=float(payments.sum()),
    )


def _without(model: TTPModel, buyer: int) -> TTPModel | None:
    """The model without one unit of ``buyer`` (None when no buyer is left)."""
    counts = model.counts.copy()
    counts[buyer] -= 1
    keep = np.flatnonzero(counts > 0)
    if keep.size == 0:
        return None
    return model.select_buyers(keep, counts[keep])
