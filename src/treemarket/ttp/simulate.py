"""Sequential markets along scenario paths, against the designs a planner would otherwise use.

Every policy runs path by path through the trading times t = 0..T with the same supply μ(t); a
buyer leaves once served. At each market the buyers who want a permit (the *demand*) are ranked
and at most μ(t) are served:

* ``market``: the competitive markets at supporting prices p(t, ω). Buyers demand by their best
  response (buy when v − p ≥ option value). Strict demanders are served first; among buyers
  indifferent between buying and waiting the market allocates as in the equilibrium assignment
  (a Walrasian market clears by allocating among indifferent buyers: those the equilibrium
  assignment does not serve there keep waiting). Where no prices support the
  integer optimum, the markets run at the LP's prices, indifferent buyers are rationed by highest
  current value, and the shortfall against [P0] is reported.
* ``myopic``: each market sells to the highest current values v_i(t) > 0, ignoring option values,
  at the uniform price of the highest value not served (0 if none).
* ``fcfs`` (Fastpass style): no market; the buyers arrive in one random order per path and take a
  permit whenever their current value exceeds the posted price (default 0); unsold permits are lost.
* ``lottery``: at each market the permits are drawn at random among the buyers still in the
  market whose current value exceeds the posted price.

The default is the exact expectation over all scenarios (each leaf weighted by its probability;
the random policies average ``draws`` random orders per scenario, with their standard error);
``paths`` samples scenario paths instead.

The pieces, shared with :mod:`treemarket.ttp.outofsample`: :class:`ScenarioPaths` (the paths
and their weights), :func:`run_policy` (one policy along them: a :class:`PolicyRun`) and
:func:`policy_outcome` (the runs' weighted means: a :class:`PolicyOutcome`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from treemarket.fact import Fact
from treemarket.ttp.equilibrium import EquilibriumReport, best_response, check_equilibrium
from treemarket.ttp.market.clearing import clear_rows
from treemarket.ttp.market.oracle import lagrangian_bound
from treemarket.ttp.model import TTPModel, expected_welfare
from treemarket.ttp.result import PROVEN_GAP, TTPSolution, Which

if TYPE_CHECKING:
    import pandas as pd

POLICIES = ("market", "myopic", "fcfs", "lottery")


@dataclass
class PolicyOutcome:
    """Expected results of one policy (standard errors are 0 where nothing was sampled)."""

    name: str
    welfare: float
    revenue: float
    unsold: float
    welfare_se: float
    revenue_se: float
    payoffs: dict[str, float]
    efficiency: float

    def to_json(self) -> dict[str, Any]:
        return {
            "welfare": self.welfare,
            "revenue": self.revenue,
            "unsold": self.unsold,
            "welfare_se": self.welfare_se,
            "revenue_se": self.revenue_se,
            "efficiency": self.efficiency,
            "payoffs": self.payoffs,
        }


def policy_table(policies: dict[str, PolicyOutcome]) -> pd.DataFrame:
    """One row per policy: welfare, its standard error, efficiency, revenue, unsold."""
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "policy": p.name,
                "welfare": p.welfare,
                "welfare_se": p.welfare_se,
                "efficiency": p.efficiency,
                "revenue": p.revenue,
                "unsold": p.unsold,
            }
            for p in policies.values()
        ]
    )


@dataclass
class SimulationResult:
    """All policies on the same paths, with the equilibrium check of the market's prices.

    ``supported`` says whether the optimum [P0] is an equilibrium at the markets' prices
    (proven, refuted or not known); ``equilibrium`` is the check of those prices against the
    assignment they price (the LP optimum where the LP is fractional).
    """

    policies: dict[str, PolicyOutcome]
    optimum: float
    mode: str
    paths: int
    supported: Fact = Fact.UNKNOWN
    equilibrium: EquilibriumReport | None = None
    prices: str = "low"
    notes: list[str] = field(default_factory=list)
    trades: list[dict[str, Any]] = field(default_factory=list)
    price_systems: dict[str, dict[str, Any]] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """One row per policy: welfare, its standard error, efficiency, revenue, unsold.

        Examples
        --------
        >>> from treemarket.ttp import solve
        >>> from treemarket.ttp.examples import weather
        >>> m = weather()
        >>> simulate(m, solve(m), draws=8).table()[["policy", "welfare", "efficiency"]]
            policy  welfare  efficiency
        0   market    12.00    1.000000
        1   myopic    11.00    0.916667
        2     fcfs    10.75    0.895833
        3  lottery    10.25    0.854167
        """
        return policy_table(self.policies)

    #: the columns of :meth:`shown_rows`
    SHOWN_COLUMNS = ("policy", "welfare", "± s.e.", "efficiency", "revenue", "unsold")

    def shown_rows(self) -> list[list[str]]:
        """:meth:`table` as the reports show it (terminal and explore page): strings in the
        project's number format, efficiency as a percentage."""
        from treemarket.display import number

        return [
            [
                name,
                number(out.welfare),
                number(out.welfare_se, 2),
                f"{out.efficiency:.1%}",
                number(out.revenue),
                number(out.unsold),
            ]
            for name, out in self.policies.items()
        ]

    def payoffs(self) -> pd.DataFrame:
        """Expected payoff per buyer (rows) and policy (columns)."""
        import pandas as pd

        return pd.DataFrame({p.name: p.payoffs for p in self.policies.values()})

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "policies": {name: p.to_json() for name, p in self.policies.items()},
            "optimum": self.optimum,
            "mode": self.mode,
            "paths": self.paths,
            "prices": self.prices,
        }
        check = {} if self.equilibrium is None else self.equilibrium.to_json()
        out["equilibrium"] = {**check, "supported": self.supported.to_json(), **self.price_systems}
        if self.notes:
            out["note"] = " ".join(self.notes)
        if self.trades:
            out["trades"] = self.trades
        return out


@dataclass
class ScenarioPaths:
    """Scenario paths to run the policies along, with their weights.

    Path p visits the nodes n_p(0), …, n_p(T), one per trading time, and has weight π_p, with
    Σ_p π_p = 1: every scenario once with its probability, or paths drawn or observed.

    Attributes
    ----------
    nodes : (P, T + 1) int
        The node of each path at each time.
    weight : (P,) float
        The paths' weights; they sum to 1.
    sampled : bool
        Paths drawn or observed (random orders and lotteries drawn per path, standard errors
        over the paths) rather than every scenario once (paths through a node share its draws).
    """

    nodes: NDArray[np.int64]  # (P, T + 1)
    weight: NDArray[np.float64]  # (P,), sums to 1
    sampled: bool


def _exact_paths(model: TTPModel) -> ScenarioPaths:
    tree = model.tree
    return ScenarioPaths(tree.ancestors, tree.prob[tree.leaves].copy(), sampled=False)


def _sampled_paths(model: TTPModel, n: int, rng: np.random.Generator) -> ScenarioPaths:
    tree = model.tree
    p = tree.prob[tree.leaves]
    leaves = rng.choice(tree.n_leaves, size=n, p=p / p.sum())
    return ScenarioPaths(tree.ancestors[leaves], np.full(n, 1.0 / n), sampled=True)


class PolicyRun(NamedTuple):
    """One pass of a policy along every path, per path p: with x_i(t) the units it serves
    buyer i at time t, at price p_i(t), each worth w_i(t) (the value v_i(t, ω) at the path's
    node, or the path's own V_i + b_i(t) on held-out paths):

    Attributes
    ----------
    welfare : (P,) float
        Σ_t Σ_i x_i(t)·w_i(t).
    revenue : (P,) float
        Σ_t Σ_i x_i(t)·p_i(t).
    unsold : (P,) float
        The permits not sold: summed over the markets (with carry-over: left after the last).
    payoffs : (P, I) float
        Σ_t x_i(t)·(w_i(t) − p_i(t)) per buyer.
    """

    welfare: NDArray[np.float64]  # (P,)
    revenue: NDArray[np.float64]  # (P,)
    unsold: NDArray[np.float64]  # (P,)
    payoffs: NDArray[np.float64]  # (P, I)


def _serve(
    demand: NDArray[np.float64], key: NDArray[np.float64], supply: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Serve at most ``supply`` units per path to the demand, highest ``key`` first (ties by
    buyer order): the markets' one clearing rule, one market per path.

    ``demand`` and ``key`` are (P, I); returns the units served, (P, I).
    """
    return clear_rows(np.where(demand > 0, demand, 0.0), supply, key)


def run_policy(
    model: TTPModel,
    paths: ScenarioPaths,
    policy: str,
    rng: np.random.Generator,
    prices: NDArray[np.float64] | None = None,
    reference: NDArray[np.float64] | None = None,
    posted_price: float = 0.0,
    trades: list[dict[str, Any]] | None = None,
    realised: NDArray[np.float64] | None = None,
) -> PolicyRun:
    """One pass of ``policy`` along all paths: at each time t the market at the path's node
    n_p(t) serves at most its supply, to the buyers still there as the policy ranks them.

    Parameters
    ----------
    model : TTPModel
        The buyers, their values v_i(n) and the supply.
    paths : ScenarioPaths
        The paths and their weights.
    policy : str
        One of :data:`POLICIES`.
    rng : numpy.random.Generator
        The random arrival orders (``fcfs``) and lotteries (``lottery``).
    prices : (N,) float, optional
        The supporting prices p(n) of the ``market`` policy (required for it).
    reference : (I, N) float, optional
        The equilibrium assignment y: how the ``market`` serves indifferent buyers.
    posted_price : float
        The price of the ``fcfs`` and ``lottery`` hand-outs.
    trades : list, optional
        Appends one record per path, time and buyer served: who trades at which price.
    realised : (P, I) float, optional
        The paths' own values: the buyers decide on the tree's values at their nodes but a
        permit bought at t is worth realised[p, i] + b_i(t) (held-out paths).

    Returns
    -------
    PolicyRun
        Per path: welfare, revenue, unsold permits, and the buyers' payoffs (P, I).
    """
    values = model.values
    n_paths, depth = paths.nodes.shape
    n_buyers = model.n_buyers
    remaining = np.tile(model.counts.astype(np.float64), (n_paths, 1))
    welfare = np.zeros(n_paths)
    revenue = np.zeros(n_paths)
    unsold = np.zeros(n_paths)
    payoffs = np.zeros((n_paths, n_buyers))
    br = best_response(model, prices) if policy == "market" and prices is not None else None
    # Randomness must not see the future: in exact mode the paths through a node share its
    # draw (one arrival order per run; one lottery per node); sampled paths are independent.
    if paths.sampled:
        arrival = rng.random((n_paths, n_buyers))
        lottery = None
    else:
        arrival = np.broadcast_to(rng.random(n_buyers), (n_paths, n_buyers))
        lottery = rng.random((model.tree.n_nodes, n_buyers))
    carried = np.zeros(n_paths)
    for t in range(depth):
        node = paths.nodes[:, t]
        v = values[:, node].T  # (P, I)
        here = model.present[:, node].T
        supply = model.node_supply[node].astype(np.float64)
        if model.carry_over:
            supply = supply + carried
        if policy == "market":
            assert br is not None and prices is not None
            price = np.broadcast_to(prices[node][:, None], v.shape)
            wants = br.buy[:, node].T
            strict = wants & ~br.tie[:, node].T
            demand = np.where(wants, remaining, 0.0)
            if reference is not None:  # indifferent buyers do as in the equilibrium assignment
                indifferent = np.minimum(remaining, reference[:, node].T)
                demand = np.where(strict, remaining, np.where(wants, indifferent, 0.0))
            key = 2.0 * strict + _unit(v)
        elif policy == "myopic":
            demand = np.where((v > 0) & here, remaining, 0.0)
            key = v
            price = np.broadcast_to(_uniform_price(demand, v, supply)[:, None], v.shape)
        else:
            demand = np.where((v > posted_price) & here, remaining, 0.0)
            if policy == "fcfs":
                key = arrival
            else:
                key = rng.random(v.shape) if lottery is None else lottery[node]
            price = np.full(v.shape, posted_price)
        served = _serve(demand, key, supply)
        if trades is not None:
            for path, buyer in zip(*np.nonzero(served > 0), strict=True):
                trades.append(
                    {
                        "path": int(path),
                        "time": t,
                        "buyer": model.buyers[buyer],
                        "units": float(served[path, buyer]),
                        "price": float(price[path, buyer]),
                        "value": float(v[path, buyer]),
                    }
                )
        remaining -= served
        worth = v if realised is None else realised + early_benefit_at(model, t)
        welfare += (served * worth).sum(axis=1)
        revenue += (served * price).sum(axis=1)
        payoffs += served * (worth - price)
        left = supply - served.sum(axis=1)
        if model.carry_over and t < depth - 1:
            carried = left  # unsold permits go on to the next market of the path
        else:
            unsold += left
    return PolicyRun(welfare, revenue, unsold, payoffs)


def early_benefit_at(model: TTPModel, t: int) -> NDArray[np.float64] | float:
    """b_i(t), the early benefit of buying at time t, added to the value of a permit bought then.

    Returns the (I,) benefits, or 0.0 for a model without early benefits.
    """
    return 0.0 if model.early_benefit is None else model.early_benefit[:, t]


def _unit(v: NDArray[np.float64]) -> NDArray[np.float64]:
    """Map values into (0, 1), order preserved, for use as the last key."""
    return 0.5 + np.arctan(v) / np.pi


def _uniform_price(
    demand: NDArray[np.float64], v: NDArray[np.float64], supply: NDArray[np.float64]
) -> NDArray[np.float64]:
    """The highest value among units not served (0 if all are served): a uniform price."""
    order = np.argsort(-v, axis=1, kind="stable")
    sorted_demand = np.take_along_axis(demand, order, axis=1)
    sorted_v = np.take_along_axis(v, order, axis=1)
    cum = np.cumsum(sorted_demand, axis=1)
    left_out = (cum > supply[:, None]) & (sorted_demand > 0)
    first = np.argmax(left_out, axis=1)
    has = left_out.any(axis=1)
    return np.where(has, np.maximum(sorted_v[np.arange(v.shape[0]), first], 0.0), 0.0)


def policy_outcome(
    name: str,
    model: TTPModel,
    runs: Sequence[PolicyRun],
    paths: ScenarioPaths,
    optimum: float,
) -> PolicyOutcome:
    """The expected results of one policy: the means over the runs of Σ_p π_p·x_p (welfare,
    revenue, unsold, payoffs), with their standard errors.

    The standard errors are those of the sampled part: over all paths of all runs when the
    paths are sampled, otherwise over the runs (0 for a single run on every scenario).
    ``efficiency`` is welfare / ``optimum`` (NaN when the optimum is 0).
    """
    weight = paths.weight
    welfare = np.array([w @ weight for w, _, _, _ in runs])
    revenue = np.array([r @ weight for _, r, _, _ in runs])
    unsold = float(np.mean([u @ weight for _, _, u, _ in runs]))
    payoffs = np.mean([p.T @ weight for _, _, _, p in runs], axis=0)
    if paths.sampled:
        w_all = np.concatenate([w for w, _, _, _ in runs])
        r_all = np.concatenate([r for _, r, _, _ in runs])
        welfare_se = float(w_all.std(ddof=1) / np.sqrt(w_all.size)) if w_all.size > 1 else 0.0
        revenue_se = float(r_all.std(ddof=1) / np.sqrt(r_all.size)) if r_all.size > 1 else 0.0
    elif len(runs) > 1:
        welfare_se = float(welfare.std(ddof=1) / np.sqrt(len(runs)))
        revenue_se = float(revenue.std(ddof=1) / np.sqrt(len(runs)))
    else:
        welfare_se = revenue_se = 0.0
    mean_welfare = float(welfare.mean())
    return PolicyOutcome(
        name=name,
        welfare=mean_welfare,
        revenue=float(revenue.mean()),
        unsold=unsold,
        welfare_se=welfare_se,
        revenue_se=revenue_se,
        payoffs={b: float(x) for b, x in zip(model.buyers, payoffs.tolist(), strict=True)},
        efficiency=mean_welfare / optimum if optimum else float("nan"),
    )


def simulate(
    model: TTPModel,
    solution: TTPSolution,
    *,
    policies: tuple[str, ...] = POLICIES,
    paths: int | None = None,
    seed: int = 0,
    draws: int = 64,
    prices: Which = "low",
    posted_price: float = 0.0,
    progress: Any = None,
    record_trades: bool = False,
) -> SimulationResult:
    """Run the policies on the same scenario paths and compare them with the optimum.

    Parameters
    ----------
    model, solution
        The model and its exact solution (its prices drive the ``market`` policy).
    paths : int, optional
        Sample this many scenario paths; default: every scenario with its probability.
    seed : int
        Seed of the sampled paths and of the random arrival orders and lotteries.
    draws : int
        Random orders per scenario for ``fcfs`` and ``lottery`` in exact mode.
    prices : {"low", "high"}
        The supporting prices with the lowest or the highest expected revenue.
    posted_price : float
        The price of the ``fcfs`` and ``lottery`` hand-outs.
    progress : callable, optional
        Called with the number of finished runs (for a progress bar).
    record_trades : bool
        Keep the market's trades per path (``SimulationResult.trades``).

    Examples
    --------
    >>> from treemarket.ttp.examples import weather
    >>> from treemarket.ttp import solve_exact
    >>> m = weather()
    >>> sim = simulate(m, solve_exact(m, price_ranges=False), draws=8)
    >>> sim.policies["market"].welfare, sim.policies["myopic"].welfare
    (12.0, 11.0)
    """
    rng = np.random.default_rng(seed)
    route = _sampled_paths(model, paths, rng) if paths else _exact_paths(model)
    optimum = solution.welfare
    system = solution.price_system(prices)
    reference = solution.y if solution.supported.proven else None
    report, excess = None, None
    if system is not None:
        report = check_equilibrium(model, solution.priced_y, system.price)
        # (L(p) − W) / |W| for the assignment the prices belong to: 0 when they support it
        worth = expected_welfare(model, solution.priced_y)
        excess = (lagrangian_bound(model, system.price) - worth) / max(1.0, abs(worth))
    supported = _supported(solution, report, excess)
    notes = _price_notes(solution, report, excess)
    outcomes: dict[str, PolicyOutcome] = {}
    trade_log: list[dict[str, Any]] = []
    for name in policies:
        if name not in POLICIES:
            raise ValueError(f"unknown policy {name!r}; choose from {POLICIES}")
        repeat = 1 if name in ("market", "myopic") or route.sampled else max(1, draws)
        runs = []
        for _ in range(repeat):
            if name == "market":
                if system is None:
                    break
                log = trade_log if record_trades else None
                runs.append(
                    run_policy(model, route, name, rng, system.price, reference, trades=log)
                )
            else:
                runs.append(run_policy(model, route, name, rng, posted_price=posted_price))
            if progress is not None:
                progress(1)
        if runs:
            outcomes[name] = policy_outcome(name, model, runs, route, optimum)
    if "market" in outcomes and solution.supported.refuted:
        shortfall = optimum - outcomes["market"].welfare
        notes.append(f"the market falls short of [P0] by {shortfall:.6g}")
    systems = {
        f"{which}_revenue_prices": solution.price_system_report(which) for which in ("low", "high")
    }
    return SimulationResult(
        policies=outcomes,
        optimum=optimum,
        mode="sampled" if route.sampled else "exact",
        paths=int(route.nodes.shape[0]) if route.sampled else 0,
        supported=supported,
        equilibrium=report,
        prices=prices,
        notes=notes,
        trades=_label_paths(model, route, trade_log),
        price_systems={k: v for k, v in systems.items() if v is not None},
    )


def _supported(
    solution: TTPSolution, report: EquilibriumReport | None, excess: float | None
) -> Fact:
    """Is the optimum [P0] an equilibrium at the markets' prices? Proven when the check holds
    for the integer assignment and, as for the solvers' own claims, its ``excess``
    (L(p) − W(y)) / |W| ≤ 1e-9 (:func:`~treemarket.ttp.market.oracle.lagrangian_bound`);
    refuted when no prices can support it (a fractional LP); otherwise not known."""
    if solution.supported.refuted:
        return Fact.REFUTED
    if report is None or excess is None or not report.holds or solution.priced_y is not solution.y:
        return Fact.UNKNOWN
    return Fact.PROVEN if excess <= PROVEN_GAP else Fact.UNKNOWN


def _price_notes(
    solution: TTPSolution, report: EquilibriumReport | None, excess: float | None
) -> list[str]:
    """What the ``market`` policy's prices are, said as the certificate allows."""
    if solution.supported.refuted:
        return [
            "no prices support the integer optimum (the LP relaxation is fractional): the "
            "markets run at the LP relaxation's prices, indifferent buyers rationed by highest "
            "current value, and fall short of the optimum; to reach it a designer needs a "
            "mechanism (treemarket ttp mechanism) or the LP's lotteries (ttp solve shows them)"
        ]
    if solution.prices_certified:
        return []
    if report is None or excess is None:
        return ["the solution has no prices: the market policy was not run"]
    verdict = "pass" if report.holds else "do not pass"
    return [
        f"the {solution.method} solver's prices are not certified (at them L(p) exceeds the "
        f"welfare by {excess:.2g}, relative): the markets run at them and they {verdict} the "
        "equilibrium check for its assignment; whether other prices support the optimum is "
        "not known"
    ]


def _label_paths(
    model: TTPModel, route: ScenarioPaths, trades: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Name each trade's path by its scenario (the leaf's event) and the node's event."""
    tree = model.tree
    for row in trades:
        node = int(route.nodes[row["path"], row["time"]])
        leaf = int(route.nodes[row["path"], -1])
        row["scenario"] = ",".join(tree.event(leaf))
        row["event"] = tree.event(node)
    return trades
