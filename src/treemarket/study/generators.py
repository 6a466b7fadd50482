"""Model generators of a study: pure functions of their parameters and a seed.

Every generator is called on the worker that runs the task, so that only the parameters travel,
never the model. The weather-style forecast model is generated in fixed chunks of buyers, each
from its own random stream, so that any block of buyers can be generated alone (the distributed
market solver builds each block on its own worker) and buyer ``i`` is the same whatever the
number of buyers.
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from treemarket.io.common import StrictModel
from treemarket.scenario import ScenarioTree
from treemarket.ttp.model import TTPModel

CHUNK = 256  # buyers per random stream of the forecast model

WEATHER_NAMES = ("dry", "rain")


class _Params(StrictModel):
    """Generator parameters: unknown names are errors, values are frozen."""

    model_config = ConfigDict(frozen=True)


class ForecastParams(_Params):
    """Parameters of the weather-style forecast model (see :func:`forecast_model`)."""

    horizon: int = Field(2, ge=1, le=16)
    buyers: int = Field(3, ge=1)
    accuracy: float = Field(0.75, ge=0.0, le=1.0)
    states: int = Field(2, ge=2, le=8)
    supply: int | list[int] = 1
    mean: tuple[float, float] = (0.0, 8.0)
    spread: float = Field(5.0, ge=0.0)
    integer_values: bool = True

    @model_validator(mode="after")
    def _check(self) -> ForecastParams:
        supply = [self.supply] if isinstance(self.supply, int) else self.supply
        if any(s < 0 for s in supply):
            raise ValueError("supply must be non-negative")
        if not isinstance(self.supply, int) and len(self.supply) != self.horizon + 1:
            raise ValueError(f"supply must have horizon + 1 = {self.horizon + 1} entries")
        if self.mean[0] > self.mean[1]:
            raise ValueError("mean must be [low, high] with low <= high")
        return self


class RandomParams(_Params):
    """Parameters of :func:`treemarket.testing.random_model` (random trees, random walks)."""

    horizon: int = Field(2, ge=0, le=30)
    buyers: int = Field(3, ge=1)
    branching: int | tuple[int, int] = 2
    supply: int | tuple[int, int] = (0, 2)
    dirichlet: float | None = Field(None, gt=0)
    step: float = Field(3.0, ge=0)
    counts: tuple[int, int] | None = None
    integer_values: bool = True
    windows: bool = False
    early_benefit: float = Field(0.0, ge=0)
    carry_over: bool = False

    @model_validator(mode="after")
    def _check(self) -> RandomParams:
        for name in ("branching", "supply", "counts"):
            value = getattr(self, name)
            if isinstance(value, tuple) and value[0] > value[1]:
                raise ValueError(f"{name} must be [low, high] with low <= high")
        low = self.branching if isinstance(self.branching, int) else self.branching[0]
        if low < 1:
            raise ValueError("branching must be at least 1")
        return self


class IntermediationParams(_Params):
    """Parameters of :func:`treemarket.intermediation.generate.random_tree`."""

    n: int = Field(20, ge=2)
    shape: Literal["recursive", "network", "caterpillar"] = "recursive"
    seller: float | None = None
    limits: Literal["uniform", "integer"] = "uniform"


class FileParams(_Params):
    """A model file: only the supply of a TTP model may be overridden."""

    supply: int | list[int] | None = None


class AnyParams(BaseModel):
    """A user's generator: any parameters (JSON values)."""

    model_config = ConfigDict(extra="allow", frozen=True)


PARAMS: dict[str, type[BaseModel]] = {
    "forecast": ForecastParams,
    "random": RandomParams,
    "intermediation": IntermediationParams,
    "file": FileParams,
}

KINDS: dict[str, str] = {
    "forecast": "ttp",
    "random": "ttp",
    "intermediation": "intermediation",
}


# ------------------------------------------------------------------------------- forecast
def forecast_tree(
    horizon: int, accuracy: float, states: int = 2
) -> tuple[ScenarioTree, np.ndarray]:
    """The scenario tree of the forecast model and the weather of each scenario.

    The weather ``w`` at the exercise time T is one of ``states`` equally likely outcomes; at
    each time t = 1..T−1 a forecast announces an outcome, right with probability ``accuracy``
    and otherwise one of the others at random; at T the weather is known. Paths of
    probability 0 (a perfect forecast that is wrong) are left out.

    Examples
    --------
    >>> tree, weather = forecast_tree(2, 0.8)
    >>> tree.n_nodes, tree.prob[tree.level(1)].round(3).tolist()
    (7, [0.5, 0.5])
    >>> forecast_tree(2, 1.0)[0].n_leaves       # a perfect forecast: no wrong branch
    2
    """
    k = states
    wrong = (1.0 - accuracy) / (k - 1)
    rows, weights, names = [], [], []
    labels = [*WEATHER_NAMES] if k == 2 else [f"w{j}" for j in range(k)]
    for history in itertools.product(range(k), repeat=horizon):
        *signals, w = history
        weight = 1.0 / k
        for s in signals:
            weight *= accuracy if s == w else wrong
        if weight <= 0.0:
            continue
        rows.append([0, *signals, w])
        weights.append(weight)
        forecast = ",".join(labels[s] for s in signals)
        names.append(f"{forecast}/{labels[w]}" if signals else labels[w])
    states_matrix = np.asarray(rows, dtype=np.int64)
    tree, order = ScenarioTree.from_paths(states_matrix, np.asarray(weights), names=names)
    return tree, states_matrix[order, -1]


def forecast_values(
    seed: int,
    start: int,
    stop: int,
    states: int,
    mean: tuple[float, float],
    spread: float,
    integer_values: bool = True,
) -> np.ndarray:
    """Exercise values of buyers ``start..stop-1`` in each weather, shape (stop − start, K).

    Buyer i's value in weather w is ``m_i + spread·z_iw`` with m_i uniform on ``mean`` and z
    standard normal, drawn from the stream ``(seed, i // CHUNK)``: the same buyer gets the same
    values whatever block she is generated in.
    """
    out = np.empty((max(stop - start, 0), states))
    if stop <= start:
        return out
    for chunk in range(start // CHUNK, (stop - 1) // CHUNK + 1):
        rng = np.random.default_rng([int(seed), chunk])
        base = rng.uniform(mean[0], mean[1], size=CHUNK)
        shock = rng.standard_normal(size=(CHUNK, states))
        block = base[:, None] + spread * shock
        lo, hi = max(start, chunk * CHUNK), min(stop, (chunk + 1) * CHUNK)
        out[lo - start : hi - start] = block[lo - chunk * CHUNK : hi - chunk * CHUNK]
    return np.round(out) if integer_values else out


def forecast_model(
    seed: int,
    params: ForecastParams | Mapping[str, Any] | None = None,
    buyer_range: tuple[int, int] | None = None,
) -> TTPModel:
    """The weather-style forecast model: a TTP whose information is a forecast of accuracy q.

    Like the slides' weather example, buyers' exercise values depend on the weather at T, and
    forecasts at t = 1..T−1 reveal it partly (accuracy 1/K: no information; 1: perfect).
    ``buyer_range`` builds only the buyers ``[start, stop)`` (a block of the full model).

    Examples
    --------
    >>> m = forecast_model(0, {"buyers": 4, "accuracy": 0.9})
    >>> m.n_buyers, m.horizon, m.supply.tolist()
    (4, 2, [1, 1, 1])
    >>> block = forecast_model(0, {"buyers": 4, "accuracy": 0.9}, buyer_range=(2, 4))
    >>> bool((block.scenario_values == m.scenario_values[2:]).all())
    True
    """
    p = params if isinstance(params, ForecastParams) else ForecastParams(**(params or {}))
    tree, weather = forecast_tree(p.horizon, p.accuracy, p.states)
    start, stop = buyer_range if buyer_range is not None else (0, p.buyers)
    stop = min(stop, p.buyers)
    values = forecast_values(seed, start, stop, p.states, p.mean, p.spread, p.integer_values)
    supply = [p.supply] * (p.horizon + 1) if isinstance(p.supply, int) else list(p.supply)
    names = [f"b{i}" for i in range(start, stop)]
    return TTPModel.from_arrays(tree, names, supply, values[:, weather], name="forecast")


# --------------------------------------------------------------------------------- others
def random_ttp(seed: int, params: RandomParams | Mapping[str, Any]) -> TTPModel:
    """:func:`treemarket.testing.random_model` with the generator seeded by ``seed``."""
    from treemarket.testing import random_model

    p = params if isinstance(params, RandomParams) else RandomParams(**params)
    args = p.model_dump()
    return random_model(np.random.default_rng(seed), **args)


def random_intermediation(seed: int, params: IntermediationParams | Mapping[str, Any]) -> Any:
    """A random intermediation tree (:func:`treemarket.intermediation.generate.random_tree`)."""
    from treemarket.intermediation.generate import random_tree

    p = params if isinstance(params, IntermediationParams) else IntermediationParams(**params)
    return random_tree(
        p.n, np.random.default_rng(seed), shape=p.shape, seller=p.seller, limits=p.limits
    )


def load_model_file(path: str | Path) -> tuple[str, Any]:
    """``("ttp" | "intermediation", model)`` from a model file (its ``model:`` key)."""
    from treemarket.io.common import read_document

    doc = read_document(path)
    kind = doc.data.get("model") if isinstance(doc.data, dict) else None
    if kind == "intermediation":
        from treemarket.io.intermediation_file import tree_from_document

        return "intermediation", tree_from_document(doc)
    from treemarket.io.ttp_file import ttp_from_document

    return "ttp", ttp_from_document(doc)


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes (part of the task keys of a study on a model file)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def resolve_callable(reference: str) -> Callable[..., Any]:
    """``"package.module:function"`` -> the function (a user's generator)."""
    module_name, _, attribute = reference.partition(":")
    module = importlib.import_module(module_name)
    target: Any = module
    for part in attribute.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"{reference} is not callable")
    return target


def with_supply(model: TTPModel, supply: int | list[int]) -> TTPModel:
    """The same model with another supply μ (an int for every time, or one per time)."""
    mu = [supply] * (model.horizon + 1) if isinstance(supply, int) else list(supply)
    if len(mu) != model.horizon + 1:
        raise ValueError(f"supply must have T + 1 = {model.horizon + 1} entries")
    return model.with_supply(mu)


def generate(
    generator: str, params: Mapping[str, Any], seed: int, file: str | None = None
) -> tuple[str, Any]:
    """Build a task's model: ``("ttp" | "intermediation", model)``.

    ``generator`` is ``forecast``, ``random``, ``intermediation``, ``file`` (with ``file``) or
    a user's ``"package.module:function"``, called as ``function(rng, **params)``.
    """
    if generator == "forecast":
        return "ttp", forecast_model(seed, ForecastParams(**params))
    if generator == "random":
        return "ttp", random_ttp(seed, RandomParams(**params))
    if generator == "intermediation":
        return "intermediation", random_intermediation(seed, IntermediationParams(**params))
    if generator == "file":
        if file is None:
            raise ValueError("generator 'file' needs a file")
        kind, model = load_model_file(file)
        supply = params.get("supply")
        if supply is not None and kind == "ttp":
            model = with_supply(model, supply)
        return kind, model
    function = resolve_callable(generator)
    model = function(np.random.default_rng(seed), **params)
    if isinstance(model, TTPModel):
        return "ttp", model
    return "intermediation", model
