"""What the mechanisms share: tolerances, the exact optimum they need, results per buyer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from treemarket.ttp.exact import solve_exact
from treemarket.ttp.model import TTPModel
from treemarket.ttp.result import TTPSolution

TOL = 1e-7  # absolute tolerance (relative to the welfare scale) of the property checks
NOISE = 1e-9  # payments within NOISE × the welfare scale of 0 are rounding noise, set to 0
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
ArrayLikeInt = Sequence[int] | IntArray


def exact_solution(model: TTPModel, solution: TTPSolution | None) -> TTPSolution:
    """``solution``, checked to be the exact optimum of [P0] (solved here when None)."""
    if solution is None:
        return solve_exact(model, price_ranges=False)
    if solution.method != "exact" and solution.gap > 0:
        raise ValueError("the mechanisms need the exact optimum of [P0]: use solve_exact")
    return solution


def snap(x: FloatArray, welfare: float) -> FloatArray:
    """Set to 0 the entries that differ from 0 by summation noise only (NaN kept)."""
    return np.where(np.abs(x) <= NOISE * max(1.0, abs(welfare)), 0.0, x)


def by_buyer(model: TTPModel, x: Iterable[float]) -> dict[str, float]:
    """``{buyer: x_i}`` in the model's buyer order."""
    return {b: float(v) for b, v in zip(model.buyers, x, strict=True)}


class MechanismResult(Protocol):
    """What every mechanism's result reports (per buyer or type, and per unit of a type)."""

    model: TTPModel
    kind: str
    welfare: float
    revenue: float

    @property
    def payments(self) -> FloatArray: ...

    @property
    def payoffs(self) -> FloatArray: ...

    @property
    def per_unit_payments(self) -> FloatArray: ...

    @property
    def per_unit_payoffs(self) -> FloatArray: ...


def common_json(result: MechanismResult) -> dict[str, Any]:
    """The keys both mechanisms report (kind, welfare, payments, payoffs, revenue; see
    ``docs/json.md``), the counts of the buyer types and the payments and payoffs per unit."""
    model = result.model
    return {
        "kind": result.kind,
        "welfare": result.welfare,
        "payments": by_buyer(model, result.payments),
        "payoffs": by_buyer(model, result.payoffs),
        "revenue": result.revenue,
        "counts": {b: int(c) for b, c in zip(model.buyers, model.counts.tolist(), strict=True)},
        "per_unit_payments": by_buyer(model, result.per_unit_payments),
        "per_unit_payoffs": by_buyer(model, result.per_unit_payoffs),
    }
