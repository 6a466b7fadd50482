"""What a task computes: pure functions of the task's parameters, run on the workers.

A task's *spec* is a small JSON-able dict (the generator and its parameters, the seed, the
computations and the metrics to keep); the model is generated where the task runs. What each
computation does and which metrics it produces is registered in
:mod:`treemarket.study.computations`; the metrics are named ``<computation>.<metric>``
(``simulate.<policy>.<metric>`` for the policies) and :func:`available_metrics` lists them
from the study file alone.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from treemarket.study.computations import MODEL_METRICS, TaskContext, computation, model_metrics
from treemarket.study.generators import generate


def available_metrics(kind: str, compute: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Every metric the computations of a study produce, in a stable order (the model's, then
    each computation's in the order given; from the registry,
    :data:`~treemarket.study.computations.COMPUTATIONS`).

    Examples
    --------
    >>> available_metrics("ttp", {"solve": {"method": "exact"}})
    ['model.nodes', 'model.buyers', 'solve.welfare', 'solve.lp_bound', 'solve.upper_bound', \
'solve.gap', 'solve.dual_bound']
    """
    out = [f"model.{m}" for m in MODEL_METRICS[kind]]
    for name, options in compute.items():
        out += computation(name).metrics(options)
    return out


def compute_metrics(
    kind: str, model: Any, compute: Mapping[str, Mapping[str, Any]], seed: int
) -> dict[str, float | None]:
    """Run the computations on ``model`` (in the order given) and return every metric they
    produce: exactly :func:`available_metrics`."""
    out = model_metrics(kind, model)
    context = TaskContext(model, seed)
    for name, options in compute.items():
        out.update(computation(name).compute(context, options))
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
        return Outcome(
            key, "failed", None, describe_error(exc), time.perf_counter() - start, worker
        )
    return Outcome(key, "done", metrics, None, time.perf_counter() - start, worker)


def execute_many(items: list[tuple[str, Mapping[str, Any]]]) -> list[Outcome]:
    """:func:`execute` on several tasks in a row (one Dask task for many small ones)."""
    return [execute(key, spec) for key, spec in items]
