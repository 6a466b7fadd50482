"""The dynamic pivot mechanism (Bergemann and Välimäki 2010) on the scenario tree.

Buyers report as they learn; at every node the mechanism takes the efficient action from the
current state and charges each buyer the flow externality she imposes. See :func:`dynamic_pivot`
for the formula implemented here (finite horizon, no discounting, one purchase opportunity per
buyer unit). Its expected payments equal the VCG payments.

The flow payments are never negative and every unit's expected payoff from every node on is
≥ 0 (periodic individual rationality), but a *realised* path can leave a buyer below 0: she pays
while waiting and then does not buy (see :func:`dynamic_pivot` and the bundled ``fractional``
example).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from treemarket.ttp.mechanism._common import (
    TOL,
    FloatArray,
    IntArray,
    by_buyer,
    common_json,
    exact_solution,
    snap,
)
from treemarket.ttp.mechanism.continuation import (
    ContinuationValues,
    children_mean,
    expected_total,
    flow,
    node_state,
)
from treemarket.ttp.model import TTPModel
from treemarket.ttp.result import TTPSolution

__all__ = ["PivotResult", "dynamic_pivot"]


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
        """The keys of docs/json.md (kind, welfare, payments, payoffs, revenue) and payments per
        path."""
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
                    "payoffs": by_buyer(model, self.path_payoffs[:, leaf_index]),
                }
            )
        return {
            **common_json(self),
            "individual_rationality": {
                "periodic": self.individually_rational(),
                "min_continuation_payoff": self.min_continuation(),
                "negative_path_probability": by_buyer(model, self.negative_paths()),
                "min_path_payoff": by_buyer(model, self.path_payoffs.min(axis=1)),
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
    >>> from treemarket.ttp.mechanism import vcg
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
    solution = exact_solution(model, solution)
    oracle = ContinuationValues(model) if oracle is None else oracle
    tree = model.tree
    values = model.values
    y = np.rint(solution.y)
    state = node_state(model, y, model.counts)
    z_in, stock_in = state.z_in, state.stock_in
    realised = flow(model, y)  # F(n)
    full = expected_total(model, realised)  # V*(n)
    solves_before = oracle.solves

    without = np.full(y.shape, np.nan)
    for n in range(tree.n_nodes):
        for i in np.flatnonzero(z_in[:, n] > 0).tolist():
            z = z_in[:, n].copy()
            z[i] -= 1
            without[i, n] = oracle(n, z, int(stock_in[n]))

    buying = y
    waiting = z_in - y
    mean_full = children_mean(model, full)
    mean_without = children_mean(model, np.nan_to_num(without))
    welfare = float(solution.welfare)
    unit_buy = snap(np.where(buying > 0, without - mean_full - realised + values, np.nan), welfare)
    unit_wait = snap(np.where(waiting > 0, without - mean_without - realised, np.nan), welfare)
    node_payments = np.where(buying > 0, buying * np.nan_to_num(unit_buy), 0.0) + np.where(
        waiting > 0, waiting * np.nan_to_num(unit_wait), 0.0
    )
    continuation = snap(np.where(z_in > 0, full - without, np.nan), welfare)
    payments = node_payments @ tree.prob
    payoffs = (values * y) @ tree.prob - payments
    node_payoff = values * y - node_payments
    path_payoffs = node_payoff[:, tree.ancestors].sum(axis=2)
    return PivotResult(
        model=model,
        solution=solution,
        welfare=welfare,
        node_payments=node_payments,
        unit_buy=unit_buy,
        unit_wait=unit_wait,
        continuation=continuation,
        continuation_without=without,
        payments=payments,
        payoffs=payoffs,
        path_payoffs=path_payoffs,
        revenue=float(payments.sum()),
        solves=oracle.solves - solves_before,
        z_in=z_in,
        stock_in=stock_in,
    )
