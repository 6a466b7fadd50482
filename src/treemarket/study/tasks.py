"""What a task computes: pure functions of the task's parameters, run on the workers.

A task's *spec* is a small JSON-able dict (the generator and its parameters, the seed, the
computations and the metrics to keep); the model is generated where the task runs. The metrics
of each computation are named ``<computation>.<metric>`` (``simulate.<policy>.<metric>`` for the
policies); :func:`available_metrics` lists them from the study file alone.
"""

from __future__ import annotations

import math
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from treemarket.study.generators import generate

POLICY_METRICS = ("welfare", "revenue", "unsold", "efficiency", "welfare_se")
SOLVE_METRICS = ("welfare", "lp_bound", "upper_bound", "gap")
SCHEDULE_METRICS = ("welfare", "early_supply", "revenue_low", "revenue_high", "all_at_exercise")
MECHANISM_METRICS = ("welfare", "revenue")
INTERMEDIATION_METRICS = (
    "profitable", "surplus", "transactions", "h", "nonnegative", "utilitarian", "egalitarian",
    "nash_log",
)  # fmt: skip
COMPUTATIONS = ("solve", "simulate", "schedule", "mechanism", "intermediation")
TTP_COMPUTATIONS = ("solve", "simulate", "schedule", "mechanism")


def available_metrics(kind: str, compute: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Every metric the computations of a study produce, in a stable order.

    Examples
    --------
    >>> available_metrics("ttp", {"solve": {"method": "exact"}})
    ['model.nodes', 'model.buyers', 'solve.welfare', 'solve.lp_bound', 'solve.upper_bound', \
'solve.gap']
    """
    out = ["model.nodes"]
    if kind == "ttp":
        out.append("model.buyers")
    for name, options in compute.items():
        if name == "solve":
            out += [f"solve.{m}" for m in SOLVE_METRICS]
        elif name == "simulate":
            out.append("simulate.optimum")
            for policy in options.get("policies", ()):
                out += [f"simulate.{policy}.{m}" for m in POLICY_METRICS]
        elif name == "schedule":
            out += [f"schedule.{m}" for m in SCHEDULE_METRICS]
        elif name == "mechanism":
            out += [f"mechanism.{m}" for m in MECHANISM_METRICS]
        elif name == "intermediation":
            out += [f"intermediation.{m}" for m in INTERMEDIATION_METRICS]
    return out


def _number(x: Any) -> float | None:
    """A metric value as a JSON number; NaN, infinities and None become None."""
    if x is None:
        return None
    value = float(x)
    return value if math.isfinite(value) else None


def _solve(model: Any, options: Mapping[str, Any]) -> Any:
    from treemarket.ttp import solve

    method = options.get("method", "exact")
    extra = {k: v for k, v in options.items() if k != "method" and v is not None}
    if method == "exact":
        extra["price_ranges"] = False
    return solve(model, method=method, **extra)


def compute_metrics(kind: str, model: Any, compute: Mapping[str, Mapping[str, Any]], seed: int
                    ) -> dict[str, float | None]:  # fmt: skip
    """Run the computations on ``model`` and return every metric they produce."""
    out: dict[str, float | None] = {}
    if kind == "ttp":
        out["model.nodes"] = float(model.tree.n_nodes)
        out["model.buyers"] = float(model.counts.sum())
    else:
        out["model.nodes"] = float(model.n)
    exact = None
    for name, options in compute.items():
        if name == "solve":
            sol = _solve(model, options)
            if sol.method == "exact":
                exact = sol
            out.update({f"solve.{m}": _number(getattr(sol, m)) for m in SOLVE_METRICS})
        elif name == "simulate":
            from treemarket.ttp.simulate import simulate

            if exact is None:
                exact = _solve(model, {"method": "exact"})
            paths = options.get("paths")
            sim = simulate(
                model, exact, policies=tuple(options["policies"]), paths=paths or None,
                seed=seed, draws=options.get("draws", 16), prices=options.get("prices", "low"),
                posted_price=options.get("posted_price", 0.0),
            )  # fmt: skip
            out["simulate.optimum"] = _number(sim.optimum)
            for policy in options["policies"]:
                outcome = sim.policies.get(policy)
                for m in POLICY_METRICS:
                    value = None if outcome is None else getattr(outcome, m)
                    out[f"simulate.{policy}.{m}"] = _number(value)
        elif name == "schedule":
            from treemarket.ttp.schedule import schedule

            res = schedule(model, int(options["capacity"]), curve_points=2)
            out["schedule.welfare"] = _number(res.welfare)
            out["schedule.early_supply"] = float(sum(res.supply[:-1]))
            out["schedule.revenue_low"] = _number(res.revenue.get("low"))
            out["schedule.revenue_high"] = _number(res.revenue.get("high"))
            out["schedule.all_at_exercise"] = _number(res.all_at_exercise)
        elif name == "mechanism":
            from treemarket.ttp import mechanism

            if exact is None:
                exact = _solve(model, {"method": "exact"})
            kind_ = options.get("kind", "vcg")
            res = mechanism.vcg(model, exact) if kind_ == "vcg" else mechanism.dynamic_pivot(
                model, exact)  # fmt: skip
            out["mechanism.welfare"] = _number(res.welfare)
            out["mechanism.revenue"] = _number(res.revenue)
        elif name == "intermediation":
            from treemarket.intermediation import analyze

            res = analyze(model, rule=options.get("rule", "leximin"))
            pr, eq, pc = res.profitability, res.equal_utility, res.pricing
            out.update({
                "intermediation.profitable": float(bool(pr.profitable)),
                "intermediation.surplus": _number(pr.surplus),
                "intermediation.transactions": float(model.transactions),
                "intermediation.h": _number(eq.h),
                "intermediation.nonnegative": float(bool(eq.nonnegative)),
                "intermediation.utilitarian": _number(pc.total_utility),
                "intermediation.egalitarian": _number(pc.min_utility),
                "intermediation.nash_log": _number(pc.nash_log_welfare),
            })  # fmt: skip
        else:
            raise ValueError(f"unknown computation {name!r}")
    return out


def run_task(spec: Mapping[str, Any]) -> dict[str, float | None]:
    """Generate the task's model and compute its kept metrics (raises on any failure).

    Examples
    --------
    >>> spec = {"generator": "forecast", "params": {"buyers": 3, "accuracy": 1.0}, "seed": 0,
    ...         "compute": {"solve": {"method": "exact"}}, "metrics": ["solve.gap"]}
    >>> run_task(spec)
    {'solve.gap': 0.0}
    """
    kind, model = generate(spec["generator"], spec["params"], int(spec["seed"]), spec.get("file"))
    metrics = compute_metrics(kind, model, spec["compute"], int(spec["seed"]))
    keep = spec.get("metrics")
    if keep is None:
        return metrics
    return {name: metrics.get(name) for name in keep}


@dataclass(frozen=True)
class Outcome:
    """What the store keeps of one finished task."""

    key: str
    status: str  # "done" or "failed"
    metrics: dict[str, float | None] | None
    error: str | None
    seconds: float
    worker: str


def describe_error(exc: BaseException) -> str:
    """One line: the exception's type and message."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text and text[0] else type(exc).__name__


def execute(key: str, spec: Mapping[str, Any]) -> Outcome:
    """Run one task; a failure becomes a ``failed`` outcome with its message, never a raise.

    This is the function the workers run; it depends on nothing but its arguments.
    """
    start = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        metrics = run_task(spec)
    except Exception as exc:  # any task failure is recorded, and the study goes on
        return Outcome(key, "failed", None, describe_error(exc), time.perf_counter() - start,
                       worker)  # fmt: skip
    return Outcome(key, "done", metrics, None, time.perf_counter() - start, worker)


def execute_many(items: list[tuple[str, Mapping[str, Any]]]) -> list[Outcome]:
    """:func:`execute` on several tasks in a row (one Dask task for many small ones)."""
    return [execute(key, spec) for key, spec in items]
