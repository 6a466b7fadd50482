"""Truthful mechanisms for the TTP: static VCG and the dynamic pivot mechanism.

Both assign permits by the welfare optimum of [P0] (for the reported values) and differ in when
and how the buyers pay.

Notation
--------
W* is the optimum of [P0], ``y*`` an optimal assignment and w_i = E[Σ_n v_i(n) y*_i(n)] buyer
i's expected value in it. J(n, z, s) is the optimal expected welfare from node n on, conditional
on reaching n, when the buyers still hold the opportunities z (per buyer or type) and, with
carry-over, s unsold permits arrive at n: the problem ``model.submodel(n, z, s)``. The optimum
"without i" removes buyer i; for a buyer **type** with count c > 1 one unit of the type is "the
buyer": removing her lowers the count by one (c − 1). Payments and payoffs are then reported per
type (all its units) and per unit (the type's total divided by c; individual units differ only
by how the optimum breaks ties among identical units, their payoffs are equal).

Static VCG (:func:`vcg`)
    Buyers report their whole value process at t = 0; the mechanism assigns ``y*`` and buyer i
    pays the expected welfare loss she imposes on the others,
    ``payment_i = W*_{−i} − (W* − w_i)``; her expected payoff is ``W* − W*_{−i} ≥ 0``.
    Whatever she reports, her true expected payoff is the true expected welfare of the
    assignment chosen minus W*_{−i} (which her report cannot change), so truth-telling is a
    dominant strategy in expectation, and it is individually rational in expectation.

Dynamic pivot (:func:`dynamic_pivot`, Bergemann and Välimäki 2010)
    Buyers report as they learn; at every node the mechanism takes the efficient action from the
    current state and charges each buyer the flow externality she imposes. See
    :func:`dynamic_pivot` for the formula implemented here (finite horizon, no discounting, one
    purchase opportunity per buyer unit). Its expected payments equal the VCG payments.

The comparison (:func:`compare_mechanisms`) puts VCG, the pivot and the lowest and highest
expected-revenue supporting price systems of the markets side by side; with one market (T = 0)
the lowest prices are the uniform-price auction and coincide with VCG.
:func:`treemarket.testing.misreport_search` verifies incentive compatibility on small
instances by exhaustive search over misreports.

What the checks show: the pivot's flow payments are never negative and every unit's expected
payoff from every node on is ≥ 0, but a *realised* path can leave a buyer below 0 (she pays
while waiting and then does not buy; see :func:`dynamic_pivot` and the bundled ``fractional``
example), as can VCG's expected payment charged at t = 0. Every supporting price system gives
each buyer at most her VCG payoff (ψ_i ≤ W* − W*_{−i}: the others' duals stay feasible without
her), so the markets raise at least VCG's revenue; equality holds at T = 0 and with a single
scenario (an assignment game: the lowest Walrasian prices give the VCG payoffs, Leonard 1983).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

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

__all__ = [
    "ContinuationValues",
    "MechanismComparison",
    "PivotResult",
    "VCGResult",
    "compare_mechanisms",
    "dynamic_pivot",
    "vcg",
]


# ----------------------------------------------------------------------------- helpers
def _carry(model: TTPModel) -> bool:
    return bool(getattr(model, "carry_over", False))


def _present(model: TTPModel) -> NDArray[np.bool_]:
    present = getattr(model, "present", None)
    if present is None:
        return np.ones(model.values.shape, dtype=bool)
    return np.asarray(present, dtype=bool)


def _submodel(model: TTPModel, node: int, z: IntArray, stock: int) -> tuple[TTPModel, IntArray]:
    """``model.submodel`` with the carried-in stock only where the model carries permits over."""
    if _carry(model):
        return model.submodel(node, z, stock=int(stock))
    return model.submodel(node, z)


def _without(model: TTPModel, buyer: int) -> TTPModel | None:
    """The model without one unit of ``buyer`` (None when no buyer is left)."""
    counts = model.counts.copy()
    counts[buyer] -= 1
    keep = np.flatnonzero(counts > 0)
    if keep.size == 0:
        return None
    return _select(model, keep, counts[keep])


def _select(model: TTPModel, keep: IntArray, counts: IntArray) -> TTPModel:
    """Only the buyers ``keep`` with the given counts, every other feature of the model kept."""
    return model.select_buyers(keep, counts)


def _leaf_assignment(
    values: FloatArray, present: NDArray[np.bool_], z: IntArray, available: int
) -> IntArray:
    """The optimum of a single market: the ``available`` highest positive unit values.

    Ties are broken by buyer order (stable sort), as a deterministic auctioneer would.
    """
    take = np.zeros(values.shape[0], dtype=np.int64)
    left = int(available)
    for i in np.argsort(-values, kind="stable").tolist():
        if left <= 0 or values[i] <= 0:
            break
        if present[i] and z[i] > 0:
            take[i] = min(int(z[i]), left)
            left -= int(take[i])
    return take


def _snap(x: FloatArray, welfare: float) -> FloatArray:
    """Set to 0 the entries that differ from 0 by summation noise only (NaN kept)."""
    return np.where(np.abs(x) <= NOISE * max(1.0, abs(welfare)), 0.0, x)


def _flow(model: TTPModel, y: FloatArray) -> FloatArray:
    """F(n) = Σ_i v_i(n) y_i(n), the welfare realised at each node."""
    return np.einsum("in,in->n", model.values, y)


def _continuation(model: TTPModel, node_values: FloatArray) -> FloatArray:
    """E[Σ_{m ≥ n} x(m) | n] for a flow x per node (``(..., N)``), bottom-up on the tree."""
    tree = model.tree
    out = np.array(node_values, dtype=np.float64, copy=True)
    for t in range(tree.horizon - 1, -1, -1):
        here = tree.level(t)
        out[..., here] += _children_mean(model, out)[..., here]
    return out


def _children_mean(model: TTPModel, node_values: FloatArray) -> FloatArray:
    """E[x(c) | n] over the children c of every node, 0 at the leaves: ``(..., N) -> (..., N)``."""
    tree = model.tree
    out = np.zeros(np.shape(node_values), dtype=np.float64)
    if tree.horizon > 0:
        inner = int(tree.level_offsets[-2])
        out[..., :inner] = tree.expectation_of_children(node_values)
    return out


@dataclass
class _State:
    """What enters each node along the assignment: opportunities z (I, N) and stock s (N,)."""

    z_in: IntArray
    stock_in: IntArray


def _state(model: TTPModel, y: FloatArray, counts: IntArray) -> _State:
    """Opportunities and carried-in permits entering every node under the assignment ``y``."""
    tree = model.tree
    yi = np.rint(y).astype(np.int64)
    z_in = np.empty_like(yi)
    stock_in = np.zeros(tree.n_nodes, dtype=np.int64)
    z_in[:, tree.level(0)] = np.asarray(counts, dtype=np.int64)[:, None]
    carry = _carry(model)
    for t in range(1, tree.horizon + 1):
        level = tree.level(t)
        parent = tree.parent[level]
        z_in[:, level] = z_in[:, parent] - yi[:, parent]
        if carry:
            sold = yi[:, parent].sum(axis=0)
            stock_in[level] = model.node_supply[parent] + stock_in[parent] - sold
    return _State(z_in, stock_in)


class ContinuationValues:
    """J(n, z, s): the optimal expected welfare from node n on, conditional on n, of the buyers
    who still hold z opportunities (and s permits carried in).

    One exact solve of ``model.submodel(n, z, s)`` per distinct state (cached); a single market
    (a leaf) is solved in closed form (the highest positive unit values). Buyers with z_i = 0
    are dropped before solving.

    Parameters
    ----------
    model : TTPModel
        The true model (its values are what J measures).
    """

    def __init__(self, model: TTPModel) -> None:
        self.model = model
        self.solves = 0
        self._cache: dict[tuple[int, tuple[int, ...], int], float] = {}
        self._present = _present(model)

    def __call__(self, node: int, z: ArrayLikeInt, stock: int = 0) -> float:
        z = np.asarray(z, dtype=np.int64)
        key = (int(node), tuple(z.tolist()), int(stock))
        if key not in self._cache:
            self._cache[key] = self._solve(int(node), z, int(stock))
        return self._cache[key]

    def root(self, z: ArrayLikeInt) -> float:
        """E[J(root, z)]: the optimum of the whole problem for opportunities z."""
        tree = self.model.tree
        roots = range(tree.level(0).start, tree.level(0).stop)
        return float(sum(float(tree.prob[r]) * self(r, z) for r in roots))

    def _solve(self, node: int, z: IntArray, stock: int) -> float:
        model = self.model
        keep = np.flatnonzero(z > 0)
        if keep.size == 0:
            return 0.0
        if model.tree.time[node] == model.tree.horizon:
            available = int(model.node_supply[node]) + stock
            take = _leaf_assignment(model.values[:, node], self._present[:, node], z, available)
            return float(take @ model.values[:, node])
        self.solves += 1
        sub, _ = _submodel(_select(model, keep, z[keep]), node, z[keep], stock)
        return float(solve_exact(sub, price_ranges=False).welfare)


def _names(model: TTPModel, x: Iterable[float]) -> dict[str, float]:
    return {b: float(v) for b, v in zip(model.buyers, x, strict=True)}


def _solution(model: TTPModel, solution: TTPSolution | None) -> TTPSolution:
    if solution is None:
        return solve_exact(model, price_ranges=False)
    if solution.method != "exact" and solution.gap > 0:
        raise ValueError("the mechanisms need the exact optimum of [P0]: use solve_exact")
    return solution


# --------------------------------------------------------------------------------- VCG
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
        """The SPEC keys (kind, welfare, payments, payoffs, revenue) and the details."""
        model = self.model
        return {
            **_spec_json(self),
            "budget": {"revenue": self.revenue, "balance": self.balance},
            "values": _names(model, self.values),
            "welfare_without": _names(model, self.welfare_without),
        }


def _spec_json(result: VCGResult | PivotResult) -> dict[str, Any]:
    """The keys both mechanisms report: SPEC's (kind, welfare, payments, payoffs, revenue), the
    counts of the buyer types and the payments and payoffs per unit."""
    model = result.model
    return {
        "kind": result.kind,
        "welfare": result.welfare,
        "payments": _names(model, result.payments),
        "payoffs": _names(model, result.payoffs),
        "revenue": result.revenue,
        "counts": {b: int(c) for b, c in zip(model.buyers, model.counts.tolist(), strict=True)},
        "per_unit_payments": _names(model, result.per_unit_payments),
        "per_unit_payoffs": _names(model, result.per_unit_payoffs),
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
    solution = _solution(model, solution)
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
    payoffs = model.counts * unit_payoff
    payments = _snap(values - payoffs, welfare)
    payoffs = values - payments
    return VCGResult(
        model=model, solution=solution, welfare=welfare, values=values,
        welfare_without=without, payments=payments, payoffs=payoffs,
        per_unit_payments=payments / counts, per_unit_payoffs=unit_payoff,
        revenue=float(payments.sum()),
    )  # fmt: skip


# ---------------------------------------------------------------------- dynamic pivot
@dataclass
class PivotResult:
    """The dynamic pivot mechanism: payments per node (on every path) and their expectations.

    Attributes
    ----------
    welfare : float
        W*.
    node_payments : (I, N) float
        What each buyer (type: all its units) pays at each node.
    unit_buy, unit_wait : (I, N) float
        The payment of one unit that buys at n / that stays in the market at n (NaN where no
        unit does).
    continuation : (I, N) float
        M_i(n) = J(n, z) − J(n, z − e_i): the expected payoff from n on, conditional on n, of a
        unit still in the market at n (NaN where none is); periodic individual rationality is
        M ≥ 0.
    continuation_without : (I, N) float
        J(n, z − e_i), the optimal continuation without (one unit of) i (NaN where undefined).
    payments, payoffs : (I,) float
        Expected payments and payoffs per buyer (type).
    path_payoffs : (I, L) float
        Realised payoff of each buyer (type) along each root-to-leaf path: Σ_t v y − payment.
    revenue : float
    solves : int
        Exact solves spent on continuation values (one per inner node and buyer still in).
    """

    model: TTPModel
    solution: TTPSolution
    welfare: float
    node_payments: FloatArray
    unit_buy: FloatArray
    unit_wait: FloatArray
    continuation: FloatArray
    continuation_without: FloatArray
    payments: FloatArray
    payoffs: FloatArray
    path_payoffs: FloatArray
    revenue: float
    solves: int
    z_in: IntArray = field(repr=False)
    stock_in: IntArray = field(repr=False)
    kind: str = "pivot"

    @property
    def per_unit_payments(self) -> FloatArray:
        return self.payments / np.maximum(self.model.counts, 1)

    @property
    def per_unit_payoffs(self) -> FloatArray:
        return self.payoffs / np.maximum(self.model.counts, 1)

    @property
    def path_payments(self) -> FloatArray:
        """(I, L, T + 1): each buyer's payment at each time along each root-to-leaf path."""
        return self.node_payments[:, self.model.tree.ancestors]

    def min_continuation(self) -> float:
        """The smallest M_i(n) over buyers still in the market and all nodes (∞ if none)."""
        finite = self.continuation[~np.isnan(self.continuation)]
        return float(finite.min()) if finite.size else float("inf")

    def individually_rational(self, tol: float = TOL) -> bool:
        """Periodic ex-post IR: at every node of every path, every unit still in the market
        expects a payoff ≥ 0 from there on (up to ``tol`` × the welfare scale)."""
        return self.min_continuation() >= -tol * max(1.0, abs(self.welfare))

    def negative_paths(self, tol: float = TOL) -> FloatArray:
        """(I,) probability of the paths on which a buyer's realised payoff is negative."""
        leaf_prob = self.model.tree.prob[self.model.tree.leaves]
        scale = tol * max(1.0, abs(self.welfare))
        return (self.path_payoffs < -scale).astype(np.float64) @ leaf_prob

    def to_json(self) -> dict[str, Any]:
        """The SPEC keys (kind, welfare, payments, payoffs, revenue) and payments per path."""
        model = self.model
        tree = model.tree
        leaf_prob = tree.prob[tree.leaves]
        paths = []
        pay = self.path_payments
        for leaf_index, leaf in enumerate(tree.leaves.tolist()):
            paths.append(
                {
                    "scenario": ",".join(tree.event(leaf)),
                    "probability": float(leaf_prob[leaf_index]),
                    "payments": {
                        b: pay[i, leaf_index].tolist() for i, b in enumerate(model.buyers)
                    },
                    "payoffs": _names(model, self.path_payoffs[:, leaf_index]),
                }
            )
        return {
            **_spec_json(self),
            "individual_rationality": {
                "periodic": self.individually_rational(),
                "min_continuation_payoff": self.min_continuation(),
                "negative_path_probability": _names(model, self.negative_paths()),
                "min_path_payoff": _names(model, self.path_payoffs.min(axis=1)),
            },
            "paths": paths,
            "solves": self.solves,
        }


def dynamic_pivot(
    model: TTPModel,
    solution: TTPSolution | None = None,
    oracle: ContinuationValues | None = None,
) -> PivotResult:
    r"""The dynamic pivot mechanism of Bergemann and Välimäki (2010) on the scenario tree.

    At node n the state is z(n), the opportunities still held when the market of n opens
    (and, with carry-over, the permits carried in); the mechanism takes the efficient action
    y*(n) of [P0] and charges each buyer the flow externality she imposes on the others:

        p_i(n) = J_{−i}(n) − E[J_{−i}(c) | n] − Σ_{j≠i} v_j(n) y*_j(n),

    J_{−i}(x) the others' optimal continuation value from state x, the children c reached
    after the efficient action (with i). With one opportunity per buyer, finite horizon and no
    discounting this reads, with V*(n) = J(n, z(n)) the continuation value of y*,
    F(n) = Σ_j v_j(n) y*_j(n) and A_i(n) = J(n, z(n) − e_i):

    * i buys at n:            p_i(n) = A_i(n) − E[V*(c) | n] − (F(n) − v_i(n))
      (once she has left, the others' continuation is the full one: J_{−i}(c) = V*(c));
    * i stays in the market:  p_i(n) = A_i(n) − E[A_i(c) | n] − F(n);
    * i has left before n:    p_i(n) = 0 (the optimum continues as without her);

    E[·(c) | n] = 0 at the leaves. Both payments are ≥ 0: the others' part of y*(n) is feasible
    without i. Telescoping, a unit in the market at n expects the payoff
    M_i(n) = V*(n) − A_i(n) ≥ 0 from n on (periodic ex-post individual rationality), and at
    the root M_i = W* − W*_{−i}: the expected payments equal the static VCG payments. Truthful
    reporting is a best response at every node given truthful reports by the others (periodic
    ex-post incentive compatibility): a lie from n on yields the true welfare of the resulting
    policy minus A_i(n) ≤ M_i(n). A realised path can still leave a buyer with a negative
    payoff (she may pay while waiting and then not buy); see the example.

    For a type with count c, each unit is a buyer: the k = y*_i(n) units buying at n pay the
    first formula, the z_i(n) − k units staying the second (e_i removes one unit); the type's
    payment at n is their sum.

    No enumeration: one exact solve of ``model.submodel(n, z(n) − e_i)`` per inner node and buyer
    still in the market there (leaves in closed form), so the cost grows with nodes × buyers.

    Parameters
    ----------
    model : TTPModel
    solution : TTPSolution, optional
        The exact solution (solved here if not given).
    oracle : ContinuationValues, optional
        A cache of continuation values to reuse.

    Examples
    --------
    A waits at the root, where her presence makes the planner sell to B rather than C (whom
    the others would serve first); she pays that externality (1) at the root, and 3.5 when she
    buys after "up"; after "down" she leaves empty-handed with −1 realised, while at every node
    her expected payoff from there on is ≥ 0 (2.25 at the root, 0 after "down").

    >>> from treemarket.ttp import TTPModel
    >>> m = TTPModel.from_scenarios(
    ...     ["A", "B", "C"], [1, 1],
    ...     {"up": (0.5, {"A": 10, "B": 8, "C": 3.5}), "down": (0.5, {"A": -6, "B": -2, "C": 3.5})},
    ...     [[["up", "down"]], [["up"], ["down"]]])
    >>> r = dynamic_pivot(m)
    >>> m.tree.events()[1:]                  # the nodes of t = 1
    [['up'], ['down']]
    >>> r.node_payments.round(6).tolist()    # per buyer, at the root, "up", "down"
    [[1.0, 3.5, 0.0], [1.75, 0.0, 0.0], [0.0, 0.0, 0.0]]
    >>> r.payments.tolist(), vcg(m).payments.tolist()
    ([2.75, 1.75, 0.0], [2.75, 1.75, 0.0])
    >>> r.continuation[0].round(6).tolist(), r.path_payoffs[0].tolist()  # paths: up, down
    ([2.25, 6.5, 0.0], [5.5, -1.0])
    """
    solution = _solution(model, solution)
    oracle = ContinuationValues(model) if oracle is None else oracle
    tree = model.tree
    values = model.values
    y = np.rint(solution.y)
    state = _state(model, y, model.counts)
    z_in, stock_in = state.z_in, state.stock_in
    flow = _flow(model, y)
    full = _continuation(model, flow)  # V*(n)
    solves_before = oracle.solves

    without = np.full(y.shape, np.nan)
    for n in range(tree.n_nodes):
        for i in np.flatnonzero(z_in[:, n] > 0).tolist():
            z = z_in[:, n].copy()
            z[i] -= 1
            without[i, n] = oracle(n, z, int(stock_in[n]))

    buying = y
    waiting = z_in - y
    mean_full = _children_mean(model, full)
    mean_without = _children_mean(model, np.nan_to_num(without))
    welfare = float(solution.welfare)
    unit_buy = _snap(np.where(buying > 0, without - mean_full - flow + values, np.nan), welfare)
    unit_wait = _snap(np.where(waiting > 0, without - mean_without - flow, np.nan), welfare)
    node_payments = np.where(buying > 0, buying * np.nan_to_num(unit_buy), 0.0) + np.where(
        waiting > 0, waiting * np.nan_to_num(unit_wait), 0.0
    )
    continuation = _snap(np.where(z_in > 0, full - without, np.nan), welfare)
    payments = node_payments @ tree.prob
    payoffs = (values * y) @ tree.prob - payments
    node_payoff = values * y - node_payments
    path_payoffs = node_payoff[:, tree.ancestors].sum(axis=2)
    return PivotResult(
        model=model, solution=solution, welfare=welfare, node_payments=node_payments,
        unit_buy=unit_buy, unit_wait=unit_wait,
        continuation=continuation, continuation_without=without, payments=payments,
        payoffs=payoffs, path_payoffs=path_payoffs, revenue=float(payments.sum()),
        solves=oracle.solves - solves_before, z_in=z_in, stock_in=stock_in,
    )  # fmt: skip


# ------------------------------------------------------------------------ comparison
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
    solution = _solution(model, solution)
    vcg_result = vcg(model, solution) if vcg_result is None else vcg_result
    rows: dict[str, dict[str, Any]] = {
        "vcg": {"revenue": vcg_result.revenue, "payoffs": _names(model, vcg_result.payoffs)}
    }
    if pivot_result is None and pivot:
        pivot_result = dynamic_pivot(model, solution)
    if pivot_result is not None:
        rows["pivot"] = {
            "revenue": pivot_result.revenue,
            "payoffs": _names(model, pivot_result.payoffs),
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
