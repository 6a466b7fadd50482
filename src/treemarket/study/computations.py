"""What a study task can compute: the one registry of computations.

Each :class:`Computation` has a name (its section under ``compute:`` and the prefix of its
metrics), its options (a pydantic schema whose defaults fill in what the study file leaves
out), the kind of model it applies to, the metrics it produces and the function that produces
them. The study schema validates ``compute:`` against it (:mod:`treemarket.study.schema`),
:func:`~treemarket.study.tasks.available_metrics` lists the metrics from it and
:func:`~treemarket.study.tasks.compute_metrics` runs it. A new computation is one entry here.

Examples
--------
>>> list(COMPUTATIONS)
['solve', 'simulate', 'schedule', 'mechanism', 'intermediation']
>>> COMPUTATIONS["simulate"].metrics({"policies": ["market"]})[:3]
['simulate.optimum', 'simulate.market.welfare', 'simulate.market.revenue']
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from treemarket.io.common import StrictModel
from treemarket.ttp.simulate import POLICIES

if TYPE_CHECKING:
    from treemarket.ttp.result import TTPSolution

Number = Annotated[float, Field(allow_inf_nan=False)]
Policy = Literal[POLICIES]  # type: ignore[valid-type]
ModelKind = Literal["ttp", "intermediation"]
Metrics = dict[str, float | None]

#: Per model kind: the metrics ``model.<name>`` every task reports.
MODEL_METRICS: dict[str, tuple[str, ...]] = {
    "ttp": ("nodes", "buyers"),
    "intermediation": ("nodes",),
}
SOLVE_METRICS = ("welfare", "lp_bound", "upper_bound", "gap", "dual_bound")
POLICY_METRICS = ("welfare", "revenue", "unsold", "efficiency", "welfare_se")
SCHEDULE_METRICS = ("welfare", "early_supply", "revenue_low", "revenue_high", "all_at_exercise")
MECHANISM_METRICS = ("welfare", "revenue")
INTERMEDIATION_METRICS = (
    "profitable",
    "surplus",
    "transactions",
    "h",
    "nonnegative",
    "utilitarian",
    "egalitarian",
    "nash_log",
)


# ------------------------------------------------------------------------------- options
class SolveSpec(StrictModel):
    """``compute.solve``: solve [P0] with a method (market options optional)."""

    method: Literal["exact", "market", "auto"] = "exact"
    target_gap: Number | None = Field(None, gt=0)
    max_iterations: int | None = Field(None, ge=1)
    time_limit: Number | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _market_only(self) -> SolveSpec:
        extra = [k for k in ("target_gap", "max_iterations", "time_limit") if getattr(self, k)]
        if extra and self.method != "market":
            raise ValueError(f"{', '.join(extra)} only apply to method: market")
        return self


class SimulateSpec(StrictModel):
    """``compute.simulate``: run the policies (exact expectation, or ``paths`` samples)."""

    policies: list[Policy] = Field(default_factory=lambda: list(POLICIES), min_length=1)
    draws: int = Field(16, ge=1)
    paths: int | None = Field(None, ge=1)
    prices: Literal["low", "high"] = "low"
    posted_price: Number = 0.0

    @model_validator(mode="after")
    def _unique(self) -> SimulateSpec:
        if len(set(self.policies)) != len(self.policies):
            raise ValueError("policies must not repeat")
        return self


class ScheduleSpec(StrictModel):
    """``compute.schedule``: the optimal supply schedule under a total capacity."""

    capacity: int = Field(ge=0)


class MechanismSpec(StrictModel):
    """``compute.mechanism``: static VCG or the dynamic pivot mechanism."""

    kind: Literal["vcg", "pivot"] = "vcg"


class IntermediationSpec(StrictModel):
    """``compute.intermediation``: profitability, equal utilities and a pricing rule."""

    rule: str = "leximin"

    @field_validator("rule")
    @classmethod
    def _known_rule(cls, rule: str) -> str:
        from treemarket.intermediation import RULES

        if rule not in RULES:
            raise PydanticCustomError(
                "unknown_rule", "unknown rule; choose {rules}", {"rules": ", ".join(RULES)}
            )
        return rule


# ---------------------------------------------------------------------------- computing
class TaskContext:
    """What the computations of one task share: its model, its seed and the exact solution
    (the ``solve`` computation's when its method was exact, else solved on first need)."""

    def __init__(self, model: Any, seed: int) -> None:
        self.model = model
        self.seed = seed
        self.exact_solution: TTPSolution | None = None

    def exact(self) -> TTPSolution:
        """The exact solution of the task's TTP model (prices without ranges)."""
        if self.exact_solution is None:
            self.exact_solution = _solve(self.model, SolveSpec.model_validate({}))
        return self.exact_solution


def metric_value(x: Any) -> float | None:
    """A metric value as a JSON number; NaN, infinities and None become None.

    >>> metric_value(2), metric_value(float("nan")), metric_value(None)
    (2.0, None, None)
    """
    if x is None:
        return None
    value = float(x)
    return value if math.isfinite(value) else None


def _solve(model: Any, spec: SolveSpec) -> TTPSolution:
    from treemarket.ttp import solve

    extra: dict[str, Any] = {
        k: v for k, v in spec.model_dump(exclude={"method"}).items() if v is not None
    }
    if spec.method == "exact":
        extra["price_ranges"] = False
    return solve(model, method=spec.method, **extra)


def _run_solve(ctx: TaskContext, spec: SolveSpec) -> Metrics:
    sol = _solve(ctx.model, spec)
    if sol.method == "exact":
        ctx.exact_solution = sol
    return {m: metric_value(getattr(sol, m)) for m in SOLVE_METRICS}


def _simulate_metrics(spec: SimulateSpec) -> tuple[str, ...]:
    per_policy = [f"{policy}.{m}" for policy in spec.policies for m in POLICY_METRICS]
    return ("optimum", *per_policy)


def _run_simulate(ctx: TaskContext, spec: SimulateSpec) -> Metrics:
    from treemarket.ttp.simulate import simulate

    sim = simulate(
        ctx.model,
        ctx.exact(),
        policies=tuple(spec.policies),
        paths=spec.paths or None,
        seed=ctx.seed,
        draws=spec.draws,
        prices=spec.prices,
        posted_price=spec.posted_price,
    )
    out: Metrics = {"optimum": metric_value(sim.optimum)}
    for policy in spec.policies:
        outcome = sim.policies.get(policy)
        for m in POLICY_METRICS:
            out[f"{policy}.{m}"] = metric_value(None if outcome is None else getattr(outcome, m))
    return out


def _run_schedule(ctx: TaskContext, spec: ScheduleSpec) -> Metrics:
    from treemarket.ttp.schedule import schedule

    res = schedule(ctx.model, spec.capacity, curve_points=2)
    return {
        "welfare": metric_value(res.welfare),
        "early_supply": float(sum(res.supply[:-1])),
        "revenue_low": metric_value(res.revenue.get("low")),
        "revenue_high": metric_value(res.revenue.get("high")),
        "all_at_exercise": metric_value(res.all_at_exercise),
    }


def _run_mechanism(ctx: TaskContext, spec: MechanismSpec) -> Metrics:
    from treemarket.ttp import mechanism

    run = mechanism.vcg if spec.kind == "vcg" else mechanism.dynamic_pivot
    res = run(ctx.model, ctx.exact())
    return {"welfare": metric_value(res.welfare), "revenue": metric_value(res.revenue)}


def _run_intermediation(ctx: TaskContext, spec: IntermediationSpec) -> Metrics:
    from treemarket.intermediation import analyze

    res = analyze(ctx.model, rule=spec.rule)
    pr, eq, pc = res.profitability, res.equal_utility, res.pricing
    return {
        "profitable": float(bool(pr.profitable)),
        "surplus": metric_value(pr.surplus),
        "transactions": float(ctx.model.transactions),
        "h": metric_value(eq.h),
        "nonnegative": float(bool(eq.nonnegative)),
        "utilitarian": metric_value(pc.total_utility),
        "egalitarian": metric_value(pc.min_utility),
        "nash_log": metric_value(pc.nash_log_welfare),
    }


def model_metrics(kind: str, model: Any) -> Metrics:
    """The ``model.*`` metrics of a task's model.

    >>> from treemarket.ttp.examples import weather
    >>> model_metrics("ttp", weather())
    {'model.nodes': 7.0, 'model.buyers': 3.0}
    """
    if kind == "ttp":
        return {"model.nodes": float(model.tree.n_nodes), "model.buyers": float(model.counts.sum())}
    return {"model.nodes": float(model.n)}


# ----------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class Computation:
    """One computation a study can ask for.

    Attributes
    ----------
    name : str
        Its section under ``compute:`` and the prefix of its metrics.
    kind : {"ttp", "intermediation"}
        The kind of model it applies to.
    options : pydantic model class
        The schema of its options (a :class:`~treemarket.io.common.StrictModel`).
    run : callable
        ``run(context, options)``: the metrics, by their names without the prefix.
    metric_names : callable
        ``metric_names(options)``: the names ``run`` returns, in a stable order.
    requires : str, optional
        A module the computation needs; without it the study is refused with ``missing``.
    """

    name: str
    kind: ModelKind
    options: type[StrictModel]
    run: Callable[[TaskContext, Any], Metrics]
    metric_names: Callable[[Any], tuple[str, ...]]
    requires: str | None = None
    missing: str = ""

    def spec(self, options: Mapping[str, Any] | StrictModel) -> Any:
        """The validated options (defaults filled in)."""
        if isinstance(options, self.options):
            return options
        return self.options.model_validate(options)

    def metrics(self, options: Mapping[str, Any] | StrictModel) -> list[str]:
        """The full names (``<name>.<metric>``) of the metrics produced with ``options``."""
        return [f"{self.name}.{m}" for m in self.metric_names(self.spec(options))]

    def available(self) -> bool:
        """Is what it needs installed?"""
        return self.requires is None or importlib.util.find_spec(self.requires) is not None

    def compute(self, ctx: TaskContext, options: Mapping[str, Any] | StrictModel) -> Metrics:
        """Run it: exactly the metrics of :meth:`metrics`, by their full names."""
        spec = self.spec(options)
        values = self.run(ctx, spec)
        return {f"{self.name}.{m}": values[m] for m in self.metric_names(spec)}


def _fixed(names: tuple[str, ...]) -> Callable[[Any], tuple[str, ...]]:
    return lambda _spec: names


COMPUTATIONS: dict[str, Computation] = {
    c.name: c
    for c in (
        Computation("solve", "ttp", SolveSpec, _run_solve, _fixed(SOLVE_METRICS)),
        Computation("simulate", "ttp", SimulateSpec, _run_simulate, _simulate_metrics),
        Computation("schedule", "ttp", ScheduleSpec, _run_schedule, _fixed(SCHEDULE_METRICS)),
        Computation(
            "mechanism",
            "ttp",
            MechanismSpec,
            _run_mechanism,
            _fixed(MECHANISM_METRICS),
            requires="treemarket.ttp.mechanism",
            missing="mechanisms are not available in this version of treemarket",
        ),
        Computation(
            "intermediation",
            "intermediation",
            IntermediationSpec,
            _run_intermediation,
            _fixed(INTERMEDIATION_METRICS),
        ),
    )
}


def computation(name: str) -> Computation:
    """The registered computation ``name`` (a ``ValueError`` naming the known ones if none)."""
    try:
        return COMPUTATIONS[name]
    except KeyError:
        known = ", ".join(COMPUTATIONS)
        raise ValueError(f"unknown computation {name!r}; choose {known}") from None
