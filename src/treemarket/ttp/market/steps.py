"""The price update of the market solver: a tâtonnement with Polyak steps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from treemarket.ttp.market.options import MarketOptions


def relative_gap(upper: float, lower: float) -> float:
    """(upper − lower) / |upper|, at least 0; inf when either is not finite."""
    if not np.isfinite(upper) or not np.isfinite(lower):
        return float("inf")
    return max(0.0, (upper - lower) / max(abs(upper), 1e-12))


@dataclass
class PriceSteps:
    """The multipliers λ of the supply constraints, the best dual bound (and its multipliers)
    and the best feasible welfare.

    Without carry-over λ are the prices p and the excess supply is g = μ − D per node; with
    carry-over λ(n) belongs to the stock constraint at n, the prices are
    p(n) = λ(n) + E[p(children) | n] (a supermartingale) and g(n) = Σ_{m ≤ n} (μ − D)(m) is
    the stock left at n. Steps are preconditioned Polyak steps in per-node units,
    λ ← max(0, λ − α d), with α = θ (L − best welfare) / Σ_n P(n) g(n)²; the direction d is
    g deflected when it turns back on the last one (Camerini, Fratta and Maffioli:
    d ← g − γ ⟨g, d_prev⟩ / ‖d_prev‖² d_prev when ⟨g, d_prev⟩ < 0, inner products weighted by
    P(n)), which damps the zigzag between nodes (the step length stays the one of g: with the
    deflected norm the first steps overshoot); θ shrinks by 0.7 (to ``min_step``) and the
    multipliers return to the best ones after ``patience`` iterations without a better bound.
    """

    options: MarketOptions
    prob: NDArray[np.float64]
    open_market: NDArray[np.bool_]
    multiplier: NDArray[np.float64]
    theta: float = 0.0
    best_upper: float = np.inf
    best_lower: float = -np.inf
    stall: int = 0

    def __post_init__(self) -> None:
        self.theta = self.options.step
        self.best_multiplier = self.multiplier.copy()
        self.previous: NDArray[np.float64] | None = None

    @property
    def gap(self) -> float:
        return relative_gap(self.best_upper, self.best_lower)

    def offer(self, lower: float) -> bool:
        """A feasible welfare; True when it is the best so far."""
        if lower > self.best_lower:
            self.best_lower = lower
            return True
        return False

    def observe(self, upper: float) -> None:
        """The dual value L at the current multipliers."""
        if upper < self.best_upper - 1e-12 * max(1.0, abs(upper)):
            self.best_upper, self.best_multiplier, self.stall = upper, self.multiplier.copy(), 0
            return
        self.stall += 1
        if self.stall >= self.options.patience:
            self.theta, self.stall = max(self.theta * 0.7, self.options.min_step), 0
            self.multiplier = self.best_multiplier.copy()
            self.previous = None

    def step(self, upper: float, excess: NDArray[np.float64]) -> bool:
        """Move the multipliers; False when the excess supply gives no direction."""
        direction = np.where(self.open_market, excess, 0.0)
        norm = float(np.sum(self.prob * direction**2))
        if norm <= 0:
            return False
        gamma = self.options.deflection
        if gamma > 0 and self.previous is not None:
            inner = float(np.sum(self.prob * direction * self.previous))
            if inner < 0:  # zigzag: keep part of the last direction
                direction = (
                    direction
                    - gamma * inner / float(np.sum(self.prob * self.previous**2)) * self.previous
                )
        self.previous = direction
        target = max(upper - self.best_lower, 1e-12 * max(1.0, abs(upper)))
        step = self.theta * target / norm
        self.multiplier = np.maximum(self.multiplier - step * direction, 0.0)
        return True
