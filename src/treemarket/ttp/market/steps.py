"""The price update of the market solver: a tâtonnement with Polyak steps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from treemarket.ttp.market.options import MarketOptions


def _dot(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    """a · b without BLAS (a threaded BLAS dot can stall for milliseconds on a busy machine)."""
    return float(np.einsum("i,i->", a, b))


def relative_gap(upper: float, lower: float) -> float:
    """(upper − lower) / |upper|, at least 0; inf when either is not finite."""
    if not np.isfinite(upper) or not np.isfinite(lower):
        return float("inf")
    return max(0.0, (upper - lower) / max(abs(upper), 1e-12))


class BestBounds:
    """The best dual bound seen (and its multipliers) and the best feasible welfare."""

    multiplier: NDArray[np.float64]
    best_multiplier: NDArray[np.float64]
    best_upper: float
    best_lower: float

    @property
    def gap(self) -> float:
        return relative_gap(self.best_upper, self.best_lower)

    def offer(self, lower: float) -> bool:
        """A feasible welfare; True when it is the best so far."""
        if lower > self.best_lower:
            self.best_lower = lower
            return True
        return False

    def improves(self, upper: float) -> bool:
        """Record the dual value L at :attr:`multiplier`; True when it is the best bound."""
        if upper < self.best_upper - 1e-12 * max(1.0, abs(upper)):
            self.best_upper, self.best_multiplier = upper, self.multiplier.copy()
            return True
        return False


@dataclass
class PriceSteps(BestBounds):
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

    def observe(self, upper: float) -> None:
        """The dual value L at the current multipliers."""
        if self.improves(upper):
            self.stall = 0
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


class SmoothSteps(BestBounds):
    """Minimise the smoothed dual L_τ over the multipliers λ ≥ 0 by projected L-BFGS, cooling
    τ whenever the (hard) dual bound stops improving; the best bound, its multipliers and the
    best feasible welfare are kept as in :class:`PriceSteps`.

    The variables are x = λ √P(n), in which the curvature of L_τ is about the same at every node
    (a node's gradient carries its probability). Each call of :meth:`step` takes the smoothed
    value and gradient (in λ) at :attr:`multiplier` and sets the next point to evaluate: a
    trial of the line search along the projected arc max(0, x + α d) (Armijo's test; halving
    α on failure), the L-BFGS direction d from the last ``memory`` pairs (on the free
    variables; the ones at their bound with a positive gradient stay there). τ shrinks by
    ``cooling`` (the pairs are forgotten: the curvature scales with 1/τ) when the line search
    fails, when the projected gradient vanishes, or when ``patience`` steps brought the bound
    down by less than ``stall`` times the current gap; never below ``min_tau`` (relative).
    """

    def __init__(
        self,
        options: MarketOptions,
        prob: NDArray[np.float64],
        open_market: NDArray[np.bool_],
        multiplier: NDArray[np.float64],
        scale: float,
    ) -> None:
        self.options = options
        self.open = open_market
        self.root = np.sqrt(prob)
        self.scale = scale
        self.tau = options.temperature * scale
        self.multiplier = np.where(open_market, np.maximum(multiplier, 0.0), 0.0)
        self.best_multiplier = self.multiplier.copy()
        self.best_upper = np.inf
        self.best_lower = -np.inf
        self._fresh = True  # the next value is the start of a new run at this τ
        self._x = self.multiplier * self.root
        self._f = np.inf
        self._g = np.zeros_like(self._x)
        self._d = np.zeros_like(self._x)
        self._alpha = 1.0
        self._slope = 0.0
        self._pairs: list[tuple[NDArray[np.float64], NDArray[np.float64], float]] = []
        self._accepted = 0
        self._check_upper = np.inf

    @property
    def theta(self) -> float:
        """The temperature relative to the price scale (reported like PriceSteps' θ)."""
        return self.tau / self.scale if self.scale > 0 else 0.0

    def observe(self, upper: float) -> None:
        """The (hard) dual value L at :attr:`multiplier`."""
        self.improves(upper)

    def step(self, value: float, gradient: NDArray[np.float64]) -> bool:
        """Take L_τ and its gradient (in λ) at :attr:`multiplier`; set the next point. False
        when there is nothing left to do (no free direction at the smallest τ)."""
        g = np.where(self.open, gradient / np.where(self.root > 0, self.root, 1.0), 0.0)
        x = self.multiplier * self.root
        if self._fresh:
            self._fresh = False
            return self._accept(x, value, g, first=True)
        armijo = value <= self._f + 1e-4 * _dot(self._g, x - self._x)
        if armijo and np.isfinite(value):
            return self._accept(x, value, g)
        self._alpha *= 0.5
        if self._alpha < 1e-10:
            return self._cool()
        return self._trial()

    def _accept(
        self, x: NDArray[np.float64], value: float, g: NDArray[np.float64], first: bool = False
    ) -> bool:
        if not first:
            s, y = x - self._x, g - self._g
            sy = _dot(s, y)
            if sy > 1e-12 * float(np.sqrt(_dot(s, s) * _dot(y, y))):
                self._pairs.append((s, y, sy))
                if len(self._pairs) > self.options.memory:
                    self._pairs.pop(0)
            self._accepted += 1
            if self._accepted % self.options.patience == 0:
                improved = self._check_upper - self.best_upper
                stalled = improved < self.options.stall * max(
                    self.best_upper - self.best_lower, 0.0
                )
                self._check_upper = self.best_upper
                if stalled:
                    self._x, self._f, self._g = x, value, g
                    return self._cool()
        self._x, self._f, self._g = x, value, g
        free = (x > 0) | (g < 0)
        free &= self.open
        gf = np.where(free, g, 0.0)
        if float(np.max(np.abs(gf), initial=0.0)) <= 1e-15 * max(1.0, abs(value)):
            return self._cool()
        d = -self._two_loop(gf)
        d[~free] = 0.0
        slope = _dot(gf, d)
        if not slope < 0:  # not a descent direction: steepest descent
            self._pairs.clear()
            d = -gf * self._initial_scale()
            slope = _dot(gf, d)
        self._d, self._alpha = d, 1.0
        return self._trial()

    def _initial_scale(self) -> float:
        """H0 = γ I: the last pair's s·y / y·y, else τ (the curvature of a soft choice is about
        1/τ in the scaled variables)."""
        if self._pairs:
            s, y, sy = self._pairs[-1]
            return sy / _dot(y, y)
        return self.tau

    def _two_loop(self, g: NDArray[np.float64]) -> NDArray[np.float64]:
        q = g.copy()
        alphas = []
        for s, y, sy in reversed(self._pairs):
            a = _dot(s, q) / sy
            alphas.append(a)
            q -= a * y
        q *= self._initial_scale()
        for (s, y, sy), a in zip(self._pairs, reversed(alphas), strict=True):
            b = _dot(y, q) / sy
            q += (a - b) * s
        return q

    def _trial(self) -> bool:
        x = np.maximum(self._x + self._alpha * self._d, 0.0)
        self.multiplier = np.where(self.open, x / np.where(self.root > 0, self.root, 1.0), 0.0)
        return True

    def _cool(self) -> bool:
        """Shrink τ and start a new run from the current point (evaluated again)."""
        floor = self.options.min_temperature * self.scale
        if self.tau <= floor:
            return False
        self.tau = max(self.tau / self.options.cooling, floor)
        self._pairs.clear()
        self._fresh = True
        self._accepted = 0
        self._check_upper = self.best_upper
        self.multiplier = np.where(
            self.open, self._x / np.where(self.root > 0, self.root, 1.0), 0.0
        )
        return True
