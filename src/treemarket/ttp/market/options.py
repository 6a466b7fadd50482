"""The options of the market solver."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MarketOptions:
    """Stopping rules and step control of the market solver.

    Attributes
    ----------
    target_gap : float
        Stop when (dual bound − welfare) / |dual bound| is at most this.
    time_limit : float
        Seconds.
    max_iterations : int
    step : float
        The Polyak factor θ in (0, 2).
    patience : int
        Iterations without a better bound before θ shrinks by 0.7.
    min_step : float
        The smallest θ.
    repair_every : int
        Run the markets for a feasible assignment every this many iterations.
    deflection : float
        The Camerini–Fratta–Maffioli γ (0: plain directions).
    float32 : bool or None
        Iterate on float32 values (None: for 10^6 values and more).
    threads : int or None
        Best responses in this many threads (None: the cores, from 10^6 values).
    """

    target_gap: float = 1e-3
    time_limit: float = 600.0
    max_iterations: int = 2000
    step: float = 1.0
    patience: int = 10
    min_step: float = 0.01
    repair_every: int = 10
    deflection: float = 1.5
    float32: bool | None = None
    threads: int | None = None
