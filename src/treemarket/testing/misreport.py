"""Exhaustive misreport search: is truth-telling a best response in the TTP mechanisms?

Verification tooling for :mod:`treemarket.ttp.mechanism` on small instances (single buyers):
a buyer replaces her exercise values by each report of a grid (:func:`misreports`: scaled,
permuted across scenarios, shifted), the others report truthfully, and her payoff is measured
with her true values (:func:`misreport_search`). A profitable misreport would refute the
mechanism's incentive compatibility (dominant-strategy for VCG, periodic ex-post for the pivot).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from treemarket.ttp.exact import solve_exact
from treemarket.ttp.mechanism import ContinuationValues, dynamic_pivot, vcg
from treemarket.ttp.mechanism._common import TOL, FloatArray, IntArray
from treemarket.ttp.mechanism.continuation import (
    children_mean,
    flow,
    leaf_assignment,
    node_state,
    submodel,
)
from treemarket.ttp.model import TTPModel
from treemarket.ttp.result import TTPSolution

__all__ = ["Deviation", "MisreportSearch", "misreport_search", "misreports"]


@dataclass
class Deviation:
    """The most profitable misreport found for one buyer (and, for the pivot, one node).

    ``truthful`` and ``deviation`` are expected true payoffs conditional on ``node`` (the root
    for VCG); ``report`` is the reported exercise values on the node's scenarios.
    """

    buyer: str
    node: int
    time: int
    event: list[str]
    report: list[float]
    truthful: float
    deviation: float

    @property
    def gain(self) -> float:
        return self.deviation - self.truthful

    def to_json(self) -> dict[str, Any]:
        return {
            "buyer": self.buyer,
            "node": self.node,
            "time": self.time,
            "event": self.event,
            "report": self.report,
            "truthful": self.truthful,
            "deviation": self.deviation,
            "gain": self.gain,
        }


@dataclass
class MisreportSearch:
    """Result of :func:`misreport_search`: the best misreport per buyer (and node)."""

    kind: str
    reports_tried: int
    best: list[Deviation]

    def max_gain(self) -> float:
        """The largest gain over truth-telling found (≤ 0 up to rounding when truthful)."""
        return max((d.gain for d in self.best), default=float("-inf"))

    def profitable(self, tol: float = TOL) -> list[Deviation]:
        """The deviations that beat truth-telling by more than ``tol``."""
        return [d for d in self.best if d.gain > tol]


def misreports(
    values: FloatArray,
    factors: Sequence[float] = (0.0, 0.5, 0.8, 1.25, 2.0),
    shifts: Sequence[float] = (-3.0, 3.0),
    max_permutation_scenarios: int = 4,
    random_permutations: int = 0,
    rng: np.random.Generator | None = None,
) -> list[FloatArray]:
    """The grid of reports of one buyer's exercise values ``values`` (on some scenarios).

    Every ``factor × values∘π`` for the permutations π of the scenarios (all of them when there
    are at most ``max_permutation_scenarios``, else ``random_permutations`` random ones), plus
    ``values + shift``; the truthful report and duplicates are left out.

    Examples
    --------
    >>> [r.tolist() for r in misreports(np.array([1.0, 3.0]), factors=(2.0,), shifts=())]
    [[2.0, 6.0], [6.0, 2.0], [3.0, 1.0]]
    """
    values = np.asarray(values, dtype=np.float64)
    size = values.shape[0]
    if size <= max_permutation_scenarios:
        perms = [np.array(p) for p in itertools.permutations(range(size))]
    else:
        rng = np.random.default_rng(0) if rng is None else rng
        perms = [np.arange(size)] + [rng.permutation(size) for _ in range(random_permutations)]
    candidates = [f * values[p] for p in perms for f in factors]
    candidates += [values[p] for p in perms[1:]] + [values + s for s in shifts]
    seen = {tuple(np.round(values, 12).tolist())}
    out = []
    for report in candidates:
        key = tuple(np.round(report, 12).tolist())
        if key not in seen:
            seen.add(key)
            out.append(report)
    return out


def misreport_search(
    model: TTPModel,
    kind: str = "vcg",
    *,
    factors: Sequence[float] = (0.0, 0.5, 0.8, 1.25, 2.0),
    shifts: Sequence[float] = (-3.0, 3.0),
    max_permutation_scenarios: int = 4,
    random_permutations: int = 0,
    nodes: Sequence[int] | None = None,
    seed: int = 0,
) -> MisreportSearch:
    """Exhaustive search for a profitable misreport (small instances, single buyers only).

    A misreport replaces buyer i's exercise values V_i(ω) by one of :func:`misreports`
    (scaled, permuted across scenarios, shifted); the others report truthfully, and payoffs
    are measured with her true values.

    * ``vcg``: the report is made at t = 0 for the whole tree; the deviation's payoff is
      w_i^true(y') − [W*_{−i} − Σ_{j≠i} w_j(y')] with y' the optimum for the reports, against
      the truthful W* − W*_{−i} (dominant-strategy truthfulness in expectation).
    * ``pivot``: at every node n where i is still in the market (truthful before n), she
      reports the lie for the subtree of n from then on; the mechanism follows the optimum for
      the reports from the state at n and charges the pivot payments (with i's true values
      where they matter, the others' continuation values never depend on her report). The
      deviation's expected payoff from n on, conditional on n, is compared with M_i(n) (periodic
      ex-post incentive compatibility).

    Early benefits and presence windows are taken as known to the mechanism (not reported).

    Returns
    -------
    MisreportSearch
        The best misreport per buyer (VCG) or per buyer and node (pivot).

    Examples
    --------
    >>> from treemarket.ttp.examples import weather
    >>> found = misreport_search(weather(), "vcg")
    >>> found.reports_tried, found.max_gain(), found.profitable()
    (131, 0.0, [])
    """
    if kind not in ("vcg", "pivot"):
        raise ValueError(f"unknown mechanism {kind!r}; choose vcg or pivot")
    if np.any(model.counts != 1):
        raise ValueError("the misreport search is for single buyers (every count 1)")
    rng = np.random.default_rng(seed)
    grid = {
        "factors": factors,
        "shifts": shifts,
        "rng": rng,
        "max_permutation_scenarios": max_permutation_scenarios,
        "random_permutations": random_permutations,
    }
    solution = solve_exact(model, price_ranges=False)
    if kind == "vcg":
        return _search_vcg(model, solution, grid)
    return _search_pivot(model, solution, grid, nodes)


def _with_report(model: TTPModel, buyer: int, row: FloatArray) -> TTPModel:
    """The model in which ``buyer``'s scenario values are replaced by ``row``."""
    values = model.scenario_values.copy()
    values[buyer] = row
    return dataclasses.replace(model, scenario_values=values, _cache={})


def _optimal_y(model: TTPModel) -> FloatArray:
    """An optimal assignment of [P0] (closed form for a single market, else the exact solver)."""
    if model.tree.n_nodes == 1:
        y = leaf_assignment(
            model.values[:, 0], model.present[:, 0], model.counts, int(model.supply[0])
        )
        return y.astype(np.float64)[:, None]
    return solve_exact(model, price_ranges=False).y


def _search_vcg(model: TTPModel, solution: TTPSolution, grid: dict[str, Any]) -> MisreportSearch:
    truth = vcg(model, solution)
    tree = model.tree
    tried = 0
    best: list[Deviation] = []
    everyone = np.arange(model.n_buyers)
    for i in range(model.n_buyers):
        others = everyone != i
        top = Deviation(
            model.buyers[i],
            0,
            0,
            sorted(tree.scenario_names.tolist()),
            model.scenario_values[i].tolist(),
            float(truth.payoffs[i]),
            float(truth.payoffs[i]),
        )
        for report in misreports(model.scenario_values[i], **grid):
            tried += 1
            y = _optimal_y(_with_report(model, i, report))
            value = (model.values * y) @ tree.prob  # true values of everyone
            payment = truth.welfare_without[i] - value[others].sum()
            payoff = float(value[i] - payment)
            if payoff > top.deviation:
                top.deviation, top.report = payoff, report.tolist()
        best.append(top)
    return MisreportSearch("vcg", tried, best)


def _search_pivot(
    model: TTPModel, solution: TTPSolution, grid: dict[str, Any], nodes: Sequence[int] | None
) -> MisreportSearch:
    oracle = ContinuationValues(model)
    truth = dynamic_pivot(model, solution, oracle)
    tree = model.tree
    tried = 0
    best: list[Deviation] = []
    chosen = range(tree.n_nodes) if nodes is None else nodes
    for n in chosen:
        start, stop = int(tree.event_start[n]), int(tree.event_stop[n])
        z, stock = truth.z_in[:, n], int(truth.stock_in[n])
        for i in np.flatnonzero(z > 0).tolist():
            honest = float(truth.continuation[i, n])
            truthful = model.scenario_values[i, start:stop]
            top = Deviation(
                model.buyers[i],
                n,
                int(tree.time[n]),
                tree.event(n),
                truthful.tolist(),
                honest,
                honest,
            )
            for lie in misreports(model.scenario_values[i, start:stop], **grid):
                tried += 1
                row = model.scenario_values[i].copy()
                row[start:stop] = lie
                payoff = _pivot_payoff_after_lie(model, oracle, i, n, z, stock, row)
                if payoff > top.deviation:
                    top.deviation, top.report = payoff, lie.tolist()
            best.append(top)
    return MisreportSearch("pivot", tried, best)


def _pivot_payoff_after_lie(
    model: TTPModel,
    oracle: ContinuationValues,
    buyer: int,
    node: int,
    z: IntArray,
    stock: int,
    row: FloatArray,
) -> float:
    """Buyer's true expected payoff from ``node`` on when she reports ``row`` from there.

    The mechanism follows y', optimal for the reports from the state (z, stock) at the node,
    and charges p_i(m) = J_{−i}(m) − E[J_{−i}(c) | m] − Σ_{j≠i} v_j(m) y'_j(m) with the
    others' continuation values J_{−i} from the states that y' reaches (true values).
    """
    lied, node_map = submodel(_with_report(model, buyer, row), node, z, stock)
    y = _optimal_y(lied)
    true_sub, _ = submodel(model, node, z, stock)
    state = node_state(true_sub, y, z)
    # the submodel's first supply includes the stock: below its root, what it carries in is what
    # the original tree carries in; at its root the oracle is told the stock itself
    carried = state.stock_in.copy()
    if true_sub.carry_over:
        carried[true_sub.tree.level(0)] = stock
    values = true_sub.values
    others = flow(true_sub, y) - values[buyer] * y[buyer]
    without = np.empty(true_sub.tree.n_nodes)
    for m in range(true_sub.tree.n_nodes):
        zm = state.z_in[:, m].copy()
        zm[buyer] = 0
        without[m] = oracle(int(node_map[m]), zm, int(carried[m]))
    pay = without - children_mean(true_sub, without) - others
    return float(true_sub.tree.prob @ (values[buyer] * y[buyer] - pay))
