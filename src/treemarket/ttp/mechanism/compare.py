"""VCG, the dynamic pivot and the markets' supporting price systems side by side.

:func:`compare_mechanisms` reports the revenue and every buyer's expected payoff under VCG, the
pivot and the lowest and highest expected-revenue supporting price systems of the markets
(:meth:`TTPSolution.price_system_report`). Every supporting price system gives each buyer at most
her VCG payoff (ψ_i ≤ W* − W*_{−i}: the others' duals stay feasible without her), so the markets
raise at least VCG's revenue; equality holds at T = 0 (one market: the lowest prices are the
uniform-price auction) and with a single scenario (an assignment game: the lowest Walrasian
prices give the VCG payoffs, Leonard 1983).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from treemarket.ttp.mechanism._common import by_buyer, exact_solution
from treemarket.ttp.mechanism.pivot import PivotResult, dynamic_pivot
from treemarket.ttp.mechanism.static import VCGResult, vcg
from treemarket.ttp.model import TTPModel
from treemarket.ttp.result import TTPSolution

__all__ = ["MechanismComparison", "compare_mechanisms"]


@dataclass
class MechanismComparison:
    """Revenue and expected buyer payoffs under each mechanism or price system.

    ``rows`` maps a name (``vcg``, ``pivot``, ``low prices``, ``high prices``) to
    ``{"revenue": float, "payoffs": {buyer: float}}``.
    """

    rows: dict[str, dict[str, Any]]
    welfare: float
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"welfare": self.welfare, "rows": self.rows}
        if self.notes:
            out["note"] = " ".join(self.notes)
        return out


def compare_mechanisms(
    model: TTPModel,
    solution: TTPSolution | None = None,
    *,
    vcg_result: VCGResult | None = None,
    pivot_result: PivotResult | None = None,
    pivot: bool = True,
) -> MechanismComparison:
    """VCG, the dynamic pivot and the lowest / highest expected-revenue supporting prices.

    The price systems are those of :meth:`TTPSolution.price_system_report`
    (the LP relaxation's when no prices support the integer optimum). With one market (T = 0)
    the lowest prices form the uniform-price auction and give the VCG payments.

    Examples
    --------
    >>> from treemarket.ttp.examples import weather
    >>> c = compare_mechanisms(weather())
    >>> {name: row["revenue"] for name, row in c.rows.items()}["vcg"]
    0.0
    """
    solution = exact_solution(model, solution)
    vcg_result = vcg(model, solution) if vcg_result is None else vcg_result
    rows: dict[str, dict[str, Any]] = {
        "vcg": {"revenue": vcg_result.revenue, "payoffs": by_buyer(model, vcg_result.payoffs)}
    }
    if pivot_result is None and pivot:
        pivot_result = dynamic_pivot(model, solution)
    if pivot_result is not None:
        rows["pivot"] = {
            "revenue": pivot_result.revenue,
            "payoffs": by_buyer(model, pivot_result.payoffs),
        }
    notes: list[str] = []
    found = False
    for which in ("low", "high"):
        system = solution.price_system_report(which)
        if system is not None:
            found = True
            rows[f"{which} prices"] = {"revenue": system["revenue"], "payoffs": system["payoffs"]}
    if not found:
        notes.append("no supporting prices could be computed")
    elif solution.supported.refuted:
        notes.append(
            "no prices support the integer optimum: the price rows are the LP relaxation's "
            "prices and assignment"
        )
    return MechanismComparison(rows=rows, welfare=float(solution.welfare), notes=notes)
