"""The result of a TTP solve: the one owner of the reported assignment, its certificate and its
prices; it prints, tabulates and converts to the JSON of ``treemarket ttp solve --json``."""

from __future__ import annotations

import html
import io
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray

from treemarket.display import number
from treemarket.fact import Fact
from treemarket.scenario import ScenarioTree
from treemarket.ttp.model import TTPModel
from treemarket.ttp.optimality import OptimalityReport
from treemarket.ttp.prices import PriceRanges, PriceSystem, extreme_prices

if TYPE_CHECKING:
    import pandas as pd

Which = Literal["low", "high"]
PROVEN_GAP = 1e-9  # a relative gap at most this is proven optimal
KKT_TOL = 1e-7  # largest violation of the optimality system (per-node units) of certified prices
EVENT_NAMES = 20  # events of more scenarios are listed up to this many (their size given)


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A DataFrame of table rows, without the (long) event lists: ``node`` names the row."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    return frame.drop(columns=[c for c in ("event", "event_size", "label") if c in frame])


def node_event(tree: ScenarioTree, node: int, full: bool = False) -> dict[str, Any]:
    """The ``event`` of a table row: the sorted scenario names of ``node``, cut to the first
    :data:`EVENT_NAMES` (then ``event_size`` gives the number) unless ``full``.

    Examples
    --------
    >>> from treemarket.ttp.examples import weather
    >>> node_event(weather().tree, 1)
    {'event': ['CF', 'FC']}
    """
    start, stop = int(tree.event_start[node]), int(tree.event_stop[node])
    if full or stop - start <= EVENT_NAMES:
        return {"event": tree.event(node)}
    names = tree.scenario_names[start:stop]
    first = np.partition(names.astype(str), EVENT_NAMES - 1)[:EVENT_NAMES]
    return {"event": sorted(first.tolist()), "event_size": stop - start}


@dataclass
class TTPSolution:
    """An assignment with its certificate and its prices.

    Attributes
    ----------
    y : (I, N) array
        The integer assignment y_i(n) of [P0] (a count for buyer types).
    welfare : float
        E[Σ v y] of ``y``.
    upper_bound, gap : float
        A proven bound on [P0] and the relative gap ``(upper_bound − welfare) / |upper_bound|``.
    lp_integral : Fact
        [P1] = [P0]: proven, refuted, or not known (the market solver does not decide it).
    supported : Fact
        Prices exist that support ``y`` as a sequence of competitive markets (the optimality
        system holds); they exist exactly when the LP relaxation is integral.
    prices : PriceSystem or None
        The reported price system of :attr:`priced_y` (the lowest expected revenue).
    lp_bound : float or None
        The optimum of the LP relaxation [P1] (None: not computed).
    dual_bound : float or None
        The market solver's Lagrangian bound L(p) ≥ [P1] at its best prices.
    ranges : PriceRanges or None
        Per node, the range of supporting prices of :attr:`priced_y`.
    y_lp : array or None
        The fractional LP optimum, when there is one.
    optimality : OptimalityReport or None
        The check of the optimality system for :attr:`priced_y` at :attr:`prices`.
    target_gap : float
        The gap the solver was asked to reach (the exact solver's: proven optimal, 1e-9).
    price_gap : float or None
        (L(p) − W) / |W| at the reported prices p for :attr:`priced_y` (exact solves): at most
        1e-9 when the prices certifiably support it (L(p) = W exactly when they do).
    """

    model: TTPModel
    y: NDArray[np.float64]
    welfare: float
    upper_bound: float
    gap: float
    lp_integral: Fact
    supported: Fact
    prices: PriceSystem | None
    lp_bound: float | None = None
    dual_bound: float | None = None
    ranges: PriceRanges | None = None
    y_lp: NDArray[np.float64] | None = None
    optimality: OptimalityReport | None = None
    target_gap: float = PROVEN_GAP
    price_gap: float | None = None
    method: str = "exact"
    formulation: str = "path"
    timings: dict[str, float] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    _systems: dict[str, PriceSystem | None] = field(default_factory=dict, repr=False)

    @property
    def reached(self) -> bool:
        """Did the solver reach its target gap (False: a limit stopped it short)?"""
        return self.gap <= self.target_gap

    def certificate_lines(self) -> list[tuple[str, str]]:
        """The certificate as (label, text) lines, in the words every report uses (the CLI's
        ``ttp solve``, the explore page): welfare, the bounds and gap, and the two Facts.

        Examples
        --------
        >>> from treemarket.ttp import solve
        >>> from treemarket.ttp.examples import weather
        >>> for label, text in solve(weather(), price_ranges=False).certificate_lines():
        ...     print(f"{label:<22} {text}")
        expected welfare [P0]: 12
        LP bound [P1]:         12
        upper bound, gap:      12, 0
        the LP relaxation is integral ([P1] = [P0]): proven
        prices support the optimum as an equilibrium: proven
        """
        lines = [("expected welfare [P0]:", f"{self.welfare:.10g}")]
        if self.lp_bound is not None:
            lines.append(("LP bound [P1]:", f"{self.lp_bound:.10g}"))
        if self.dual_bound is not None:
            lines.append(("dual bound (≥ [P1]):", f"{self.dual_bound:.10g}"))
        lines.append(("upper bound, gap:", f"{self.upper_bound:.10g}, {self.gap:.3g}"))
        lines.append(("the LP relaxation is integral ([P1] = [P0]):", str(self.lp_integral)))
        lines.append(("prices support the optimum as an equilibrium:", str(self.supported)))
        return lines

    def report_notes(self) -> list[str]:
        """The notes a report prints after the certificate: a solve stopped short of its
        target gap first, then :attr:`notes`."""
        short = []
        if not self.reached:
            short.append(
                f"stopped short of the target gap {self.target_gap:.3g} (a time or iteration "
                "limit): the assignment is feasible and the bound proven, but not optimal within "
                "the target"
            )
        return short + list(self.notes)

    @property
    def priced_y(self) -> NDArray[np.float64]:
        """The assignment the prices belong to: ``y`` unless the LP optimum is fractional,
        then the LP optimum (no prices support the integer one)."""
        if self.y_lp is not None and not self.supported.proven:
            return self.y_lp
        return self.y

    @property
    def prices_certified(self) -> bool:
        """Do the prices come with the certificates of an equilibrium for :attr:`priced_y`,
        L(p) = W to 1e-9 and the optimality system at every node to 1e-7 (exact solves), rather
        than being the market solver's best dual prices?"""
        return (
            self.method == "exact"
            and self.prices is not None
            and self.price_gap is not None
            and self.price_gap <= PROVEN_GAP
            and self.optimality is not None
            and self.optimality.worst <= KKT_TOL
        )

    def price_system(self, which: Which = "low") -> PriceSystem | None:
        """The supporting price system of :attr:`priced_y` with the lowest or the highest
        expected revenue (computed once, on first use); uncertified prices have only one."""
        if which == "low" or self.prices is None or not self.prices_certified:
            return self.prices
        if which not in self._systems:
            self._systems[which] = extreme_prices(self.model, self.priced_y, maximize=True)
        return self._systems[which]

    def price_system_report(self, which: Which) -> dict[str, Any] | None:
        """A price system with its expected revenue, each buyer's expected payoff
        E[Σ y (v − p)] and the price per node (None when there is no such system)."""
        system = self.price_system(which)
        if system is None:
            return None
        model, y = self.model, self.priced_y
        payoff = ((model.values - system.price[None, :]) * y) @ model.tree.prob
        return {
            "revenue": system.revenue(model, y),
            "payoffs": {b: float(x) for b, x in zip(model.buyers, payoff.tolist(), strict=True)},
            "prices": [
                {
                    "time": int(model.tree.time[n]),
                    "event": model.tree.event(n),
                    "price": float(system.price[n]),
                }
                for n in range(model.tree.n_nodes)
            ],
        }

    def assignment_rows(self, full: bool = False) -> list[dict[str, Any]]:
        """One row per (buyer, node) with a permit: buyer, time, node (its name), node_id,
        event (see :func:`node_event`), probability, value."""
        tree = self.model.tree
        names = tree.node_names()
        b, n = np.nonzero(self.y > 0.5)
        order = np.lexsort((b, n))
        rows = []
        for i, node in zip(b[order].tolist(), n[order].tolist(), strict=True):
            row: dict[str, Any] = {
                "buyer": self.model.buyers[i],
                "time": int(tree.time[node]),
                "node": names[node],
                "node_id": node,
                **node_event(tree, node, full),
                "probability": float(tree.prob[node]),
                "value": float(self.model.values[i, node]),
            }
            if self.model.counts[i] != 1:
                row["count"] = int(round(self.y[i, node]))
            rows.append(row)
        return rows

    def lottery_rows(self, full: bool = False) -> list[dict[str, Any]]:
        """The fractional LP optimum read as lotteries: where y_i(n) is a fraction, buyer i gets
        a permit at n with that probability (empty when the LP optimum is integral)."""
        if self.y_lp is None:
            return []
        tree = self.model.tree
        names = tree.node_names()
        y = self.y_lp
        b, n = np.nonzero(y > 1e-9)
        rows = []
        for i, node in zip(b.tolist(), n.tolist(), strict=True):
            rows.append(
                {
                    "buyer": self.model.buyers[i],
                    "time": int(tree.time[node]),
                    "node": names[node],
                    "node_id": node,
                    **node_event(tree, node, full),
                    "chance": float(y[i, node]),
                    "value": float(self.model.values[i, node]),
                }
            )
        return rows

    def price_bounds(self) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
        """Per node, the lowest and highest supporting price (``inf``: no upper bound): the
        ranges when computed, else the reported price where a market is open."""
        if self.ranges is not None:
            return self.ranges.low.copy(), self.ranges.high.copy()
        if self.prices is None:
            return None
        low = self.prices.price.astype(np.float64)
        return low, np.where(self.model.market_open, low, np.inf)

    def price_rows(self, full: bool = False) -> list[dict[str, Any]]:
        """Per node: time, node (its name), node_id, event, the supporting price range, the
        reported price and sales."""
        tree = self.model.tree
        names = tree.node_names()
        rows = []
        sold = self.priced_y.sum(axis=0)
        bounds = self.price_bounds()
        for node in range(tree.n_nodes):
            low = high = None
            if bounds is not None:
                low = float(bounds[0][node])
                high = None if math.isinf(bounds[1][node]) else float(bounds[1][node])
            row: dict[str, Any] = {
                "time": int(tree.time[node]),
                "node": names[node],
                "node_id": node,
                **node_event(tree, node, full),
                "min": low,
                "max": high,
            }
            if self.prices is not None:
                row["price"] = float(self.prices.price[node])
            row["probability"] = float(tree.prob[node])
            row["supply"] = int(self.model.node_supply[node])
            row["sold"] = float(sold[node])
            if tree.labels is not None and tree.labels[node] is not None:
                row["label"] = str(tree.labels[node])
            rows.append(row)
        return rows

    def option_value_rows(self, full: bool = False) -> list[dict[str, Any]]:
        """ψ_i(n) and the option value of waiting E[ψ_i(t+1) | F(t)] per buyer and node."""
        if self.prices is None:
            return []
        tree = self.model.tree
        names = tree.node_names()
        psi = self.prices.option_value
        expected = np.zeros_like(psi)
        inner = int(tree.level_offsets[-2])
        expected[:, :inner] = tree.expectation_of_children(psi)
        rows = []
        for i, buyer in enumerate(self.model.buyers):
            for node in range(tree.n_nodes):
                rows.append(
                    {
                        "buyer": buyer,
                        "time": int(tree.time[node]),
                        "node": names[node],
                        "node_id": node,
                        **node_event(tree, node, full),
                        "psi": float(psi[i, node]),
                        "option_value": float(expected[i, node]),
                    }
                )
        return rows

    def assignment(self) -> pd.DataFrame:
        """Who buys when and where, one row per (buyer, node) with a permit: buyer, time, node
        (its name), node_id, probability, value (and count, for buyer types).

        Examples
        --------
        >>> from treemarket.ttp import solve
        >>> from treemarket.ttp.examples import weather
        >>> solve(weather()).assignment()
          buyer  time              node  node_id  probability  value
        0     C     0  {CF, CR, FC, RC}        0         1.00    2.0
        1     B     1          {CF, FC}        1         0.50    7.0
        2     A     2                FC        3         0.25    8.0
        3     A     2                CF        4         0.25    6.0
        4     A     2                CR        5         0.25    6.0
        5     B     2                RC        6         0.25    6.0
        """
        return _frame(self.assignment_rows())

    def price_table(self) -> pd.DataFrame:
        """Per node: time, node, node_id, the supporting price range (min, max; max is inf
        where any price clears), the reported price, probability, supply and units sold."""
        frame = _frame(self.price_rows())
        if "max" in frame:
            frame["max"] = frame["max"].astype(float).fillna(np.inf)
        return frame

    def lotteries(self) -> pd.DataFrame:
        """The fractional LP optimum as chances of a permit (empty when the LP is integral)."""
        return _frame(self.lottery_rows())

    def option_values(self) -> pd.DataFrame:
        """ψ_i(n) and the option value of waiting per buyer and node."""
        return _frame(self.option_value_rows())

    def __repr__(self) -> str:
        """The certificate in one line (the arrays stay out: see :meth:`assignment`).

        Examples
        --------
        >>> from treemarket.ttp import solve
        >>> from treemarket.ttp.examples import weather
        >>> solve(weather())
        TTPSolution(exact: welfare 12, bound 12, gap 0; LP integral proven; supported proven)
        """
        return (
            f"TTPSolution({self.method}: welfare {number(self.welfare, 10)}, bound "
            f"{number(self.upper_bound, 10)}, gap {self.gap:.3g}; LP integral {self.lp_integral}; "
            f"supported {self.supported})"
        )

    def _repr_html_(self) -> str:
        """A notebook's view: the certificate, the most probable purchases and the tree."""
        from treemarket.viz.tree import plot_tree

        rows = [
            ("model", self.model.summary()),
            ("method", self.method),
            ("expected welfare [P0]", number(self.welfare, 10)),
            ("LP bound [P1]", number(self.lp_bound, 10)),
            ("upper bound, gap", f"{number(self.upper_bound, 10)}, {self.gap:.3g}"),
            ("target gap reached", "yes" if self.reached else "no"),
            ("LP relaxation integral", str(self.lp_integral)),
            ("prices support the optimum", str(self.supported)),
        ]
        table = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        purchases = self.assignment()
        if len(purchases) > 15:
            purchases = purchases.nlargest(15, "probability").sort_index()
        import matplotlib

        picture = io.StringIO()
        with matplotlib.rc_context({"svg.fonttype": "none"}):  # text as text, not glyphs
            plot_tree(self).savefig(picture, format="svg", bbox_inches="tight")
        svg = picture.getvalue()
        return (
            f"<div><table>{table}</table>"
            f"<p>purchases ({len(purchases)} most probable shown)</p>"
            f"{purchases.to_html(index=False)}{svg[svg.find('<svg') :]}</div>"
        )

    def revenue(self) -> float | None:
        """Expected revenue of the reported prices on :attr:`priced_y`."""
        return None if self.prices is None else self.prices.revenue(self.model, self.priced_y)

    def to_json(self, *, option_values: bool = False, full: bool = False) -> dict[str, Any]:
        """The object of ``treemarket ttp solve --json`` (keys in ``docs/json.md``); ``full``
        lists every event whole (see :func:`node_event`)."""
        out: dict[str, Any] = {
            "name": self.model.name,
            "welfare": self.welfare,
            "lp_bound": self.lp_bound,
            "upper_bound": self.upper_bound,
            "gap": self.gap,
            "target_gap": self.target_gap,
            "reached": self.reached,
            "lp_integral": self.lp_integral.to_json(),
            "supported": self.supported.to_json(),
            "method": self.method,
            "assignment": self.assignment_rows(full),
            "prices": self.price_rows(full),
        }
        if self.dual_bound is not None:
            out["dual_bound"] = self.dual_bound
        if self.prices is not None:
            out["revenue"] = self.revenue()
        notes = list(self.notes)
        if self.ranges is None and self.prices_certified:
            notes.append(
                "price ranges were not computed: min and max are the lowest-revenue "
                "supporting price at each node"
            )
        if notes:
            out["note"] = " ".join(notes)
        if self.y_lp is not None:
            out["lp_lotteries"] = self.lottery_rows(full)
        if option_values:
            out["option_values"] = self.option_value_rows(full)
        out["stats"] = {**self.stats, "formulation": self.formulation, "timings": self.timings}
        return out
