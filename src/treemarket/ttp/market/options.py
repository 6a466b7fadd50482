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
        The Polyak factor θ in (0, 2) (subgradient).
    patience : int
        Iterations without a better bound before θ shrinks by 0.7 (subgradient); accepted
        steps between two checks of progress at one temperature (smooth).
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
    dual : {"smooth", "subgradient"}
        How the prices move: projected L-BFGS on the smoothed dual L_τ with τ cooling
        (:class:`~treemarket.ttp.market.steps.SmoothSteps`), or deflected Polyak steps on L
        (:class:`~treemarket.ttp.market.steps.PriceSteps`).
    temperature : float
        The first τ of the smoothed dual, relative to the mean myopic price.
    cooling : float
        τ shrinks by this factor when the bound stalls (smooth).
    min_temperature : float
        The smallest τ, relative like ``temperature``.
    stall : float
        A check of progress fails when the bound fell by less than this fraction of the gap
        since the last one; τ then cools (smooth).
    memory : int
        Pairs kept by L-BFGS (smooth).
    soft_repair : bool
        Also run the markets with demands from the soft purchase probabilities (smooth).
    restrict : bool
        When the loop ends short of the target, solve [P0] restricted to the pairs the best
        prices leave open (:mod:`~treemarket.ttp.market.restricted`) within the time left.
    restrict_width : float
        The surplus tolerance w of that restriction, relative to the mean myopic price.
    restrict_pairs : int
        Not tried when the restriction keeps more pairs than this (its LP can take much longer
        than the loop: on the zoo's ties at 10^6 pairs about 5 minutes after a 20 s loop).
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
    dual: str = "smooth"
    temperature: float = 1e-2
    cooling: float = 3.0
    min_temperature: float = 1e-7
    stall: float = 0.05
    memory: int = 20
    soft_repair: bool = True
    restrict: bool = True
    restrict_width: float = 1e-3
    restrict_pairs: int = 1_000_000
