"""The result of a TTP solve: a plain object that prints, tabulates and converts to SPEC JSON."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from treemarket.ttp.model import TTPModel
from treemarket.ttp.prices import PriceRanges, PriceSystem


@dataclass
class TTPSolution:
    """An assignment with its certificate and its prices.

    Attributes
    ----------
    y : (I, N) array
        The integer assignment y_i(n) of [P0] (a count for buyer types).
    welfare : float
        E[Σ v y] of ``y``.
    lp_bound : float
        Optimum of the LP relaxation [P1].
    upper_bound, gap : float
        A proven bound on [P0] and the relative gap ``(upper_bound − welfare) / |upper_bound|``.
    lp_integral : bool or None
        The LP optimum equals the integer optimum (None: not determined, market solver).
    supported : bool or None
        Prices exist that support ``y`` as a market equilibrium (the optimality system holds).
    prices : PriceSystem
        One supporting price system (the lowest expected revenue); the LP's when not supported.
    ranges : PriceRanges or None
        Per node, the range of supporting prices (the LP's when not supported).
    y_lp : array or None
        The fractional LP optimum, when there is one.
    """

    model: TTPModel
    y: NDArray[np.float64]
    welfare: float
    lp_bound: float
    upper_bound: float
    gap: float
    lp_integral: bool | None  # None: not determined (the market solver)
    supported: bool | None
    prices: PriceSystem | None
    ranges: PriceRanges | None = None
    y_lp: NDArray[np.float64] | None = None
    method: str = "exact"
    formulation: str = "path"
    timings: dict[str, float] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    price_systems: dict[str, PriceSystem | None] = field(default_factory=dict, repr=False)

    @property
    def lp_fractional(self) -> bool:
        return not self.lp_integral

    def assignment(self) -> list[dict[str, Any]]:
        """One row per (buyer, node) with a permit: buyer, time, event, probability, value."""
        tree = self.model.tree
        b, n = np.nonzero(self.y > 0.5)
        order = np.lexsort((b, n))
        rows = []
        for i, node in zip(b[order].tolist(), n[order].tolist(), strict=True):
            row: dict[str, Any] = {
                "buyer": self.model.buyers[i],
                "time": int(tree.time[node]),
                "event": tree.event(node),
                "probability": float(tree.prob[node]),
                "value": float(self.model.values[i, node]),
            }
            if self.model.counts[i] != 1:
                row["count"] = int(round(self.y[i, node]))
            rows.append(row)
        return rows

    def lotteries(self) -> list[dict[str, Any]]:
        """The fractional LP optimum read as lotteries: where y_i(n) is a fraction, buyer i gets
        a permit at n with that probability (empty when the LP optimum is integral)."""
        if self.y_lp is None:
            return []
        tree = self.model.tree
        y = self.y_lp
        b, n = np.nonzero(y > 1e-9)
        rows = []
        for i, node in zip(b.tolist(), n.tolist(), strict=True):
            rows.append(
                {"buyer": self.model.buyers[i], "time": int(tree.time[node]),
                 "event": tree.event(node), "chance": float(y[i, node]),
                 "value": float(self.model.values[i, node])}
            )  # fmt: skip
        return rows

    def price_table(self) -> list[dict[str, Any]]:
        """Per node: time, event, the supporting price range, the reported price and sales."""
        tree = self.model.tree
        rows = []
        sold = (self.y if self.supported else self.lp_y).sum(axis=0)
        for node in range(tree.n_nodes):
            low = high = None
            if self.ranges is not None:
                low = float(self.ranges.low[node])
                high_value = float(self.ranges.high[node])
                high = None if math.isinf(high_value) else high_value
            elif self.prices is not None:  # ranges not computed: the reported clearing price
                low = float(self.prices.price[node])
                high = low if self.model.market_open[node] else None
            row: dict[str, Any] = {
                "time": int(tree.time[node]),
                "event": tree.event(node),
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

    def option_values(self) -> list[dict[str, Any]]:
        """ψ_i(n) and the option value of waiting E[ψ_i(t+1) | F(t)] per buyer and node."""
        if self.prices is None:
            return []
        tree = self.model.tree
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
                        "event": tree.event(node),
                        "psi": float(psi[i, node]),
                        "option_value": float(expected[i, node]),
                    }
                )
        return rows

    def to_json(self, *, option_values: bool = False) -> dict[str, Any]:
        """The SPEC object of ``treemarket ttp solve --json`` (plus documented extras)."""
        out: dict[str, Any] = {
            "name": self.model.name,
            "welfare": self.welfare,
            "lp_bound": self.lp_bound,
            "upper_bound": self.upper_bound,
            "gap": self.gap,
            "lp_integral": self.lp_integral,
            "supported": self.supported,
            "method": self.method,
            "assignment": self.assignment(),
            "prices": self.price_table(),
        }
        if self.prices is not None:
            out["revenue"] = self.prices.revenue(
                self.model, self.y if self.supported else self.lp_y
            )
        notes = list(self.notes)
        if self.ranges is None and self.prices is not None and self.method == "exact":
            notes.append(
                "price ranges were not computed: min and max are the lowest-revenue "
                "supporting price at each node"
            )
        if notes:
            out["note"] = " ".join(notes)
        if self.y_lp is not None:
            out["lp_lotteries"] = self.lotteries()
        if option_values:
            out["option_values"] = self.option_values()
        out["stats"] = {**self.stats, "formulation": self.formulation, "timings": self.timings}
        return out

    @property
    def lp_y(self) -> NDArray[np.float64]:
        return self.y if self.y_lp is None else self.y_lp
