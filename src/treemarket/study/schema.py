"""The study file: its schema, its validation, and its expansion into tasks.

A study file (YAML or JSON) names a model or generator, the parameters to sweep (a grid and
random samples), the seeds, what to compute per task and which metrics to keep::

    study: forecast-welfare
    model:
      generator: forecast             # forecast | random | intermediation | file | pkg.mod:func
      params: {horizon: 2, supply: 1}
    sweep:
      grid: {accuracy: [0.5, 0.75, 1.0], buyers: [3, 6]}
      random:
        samples: 4
        seed: 0
        params: {spread: {uniform: [2, 6]}}
    seeds: 5
    compute:
      simulate: {policies: [market, myopic, fcfs, lottery], draws: 16}
    metrics: ["simulate.*.welfare"]

Every mistake is a :class:`~treemarket.errors.ModelError` naming the file, the line and the
place (``study.yaml:7: sweep.grid.accuracy[2]: input should be less than or equal to 1``).
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib.util
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, Field, ValidationError, create_model

import treemarket
from treemarket.io.common import Document, Place, StrictModel, read_document, validate
from treemarket.study import generators
from treemarket.study.computations import COMPUTATIONS, ModelKind, Number
from treemarket.study.tasks import available_metrics

#: ``compute:``: one optional section per registered computation (checked one by one in
#: :func:`_compute`, so that each mistake names its place).
ComputeSpec = create_model(
    "ComputeSpec",
    __base__=StrictModel,
    **{name: (dict[str, Any] | None, None) for name in COMPUTATIONS},  # type: ignore[call-overload]
)

#: What a computation of the other kind needs, and what this study's model is.
_NEEDS = {"ttp": "a TTP model", "intermediation": "an intermediation model"}
_IS = {"ttp": "a TTP", "intermediation": "an intermediation tree"}


class ModelSpec(StrictModel):
    generator: str | None = None
    file: str | None = None
    kind: ModelKind | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class Distribution(StrictModel):
    uniform: tuple[Number, Number] | None = None
    loguniform: tuple[Number, Number] | None = None
    integers: tuple[int, int] | None = None
    choice: list[Any] | None = Field(None, min_length=1)


class RandomSweep(StrictModel):
    samples: int = Field(ge=1)
    seed: int = 0
    params: dict[str, Distribution] = Field(min_length=1)


class SweepSpec(StrictModel):
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    random: RandomSweep | None = None


class StudySpec(StrictModel):
    study: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str | None = None
    store: str | None = None
    model: ModelSpec
    sweep: SweepSpec = Field(default_factory=SweepSpec)
    seeds: Annotated[int, Field(ge=1)] | list[int] = 1
    compute: ComputeSpec  # type: ignore[valid-type]
    metrics: list[str] | None = None


@dataclass(frozen=True)
class Task:
    """One task: the swept values (``point``), the seed, its full spec and its key."""

    key: str
    point: dict[str, Any]
    seed: int
    spec: dict[str, Any]


@dataclass
class Study:
    """A validated study: everything needed to expand it into tasks.

    Attributes
    ----------
    name, file : str
        The study's name and the file it was read from.
    store : Path
        Its result store (default: ``<file stem>.results.sqlite`` beside the study file).
    generator, model_file, kind : str
        The generator (``file`` for a model file), the model file if any, ``ttp`` or
        ``intermediation``.
    params : dict
        The generator's fixed parameters.
    grid : dict
        Swept parameter -> its values (the grid is their product).
    random : dict or None
        ``{"samples", "seed", "params": {name: {distribution: args}}}``.
    seeds : list of int
        The replications of every point.
    compute : dict
        Computation -> its options (defaults filled in).
    metrics : list of str
        The kept metrics.
    """

    name: str
    file: str
    store: Path
    generator: str
    model_file: str | None
    file_digest: str | None
    kind: str
    params: dict[str, Any]
    grid: dict[str, list[Any]]
    random: dict[str, Any] | None
    seeds: list[int]
    compute: dict[str, dict[str, Any]]
    metrics: list[str]
    description: str = ""
    _schema: type[BaseModel] | None = field(default=None, repr=False)

    @property
    def swept(self) -> list[str]:
        """The swept parameters: the grid's, then the random ones."""
        return [*self.grid, *((self.random or {}).get("params", {}))]

    def points(self) -> list[dict[str, Any]]:
        """Every point of the sweep (grid × random samples), in a stable order."""
        grid_points = [
            dict(zip(self.grid, values, strict=True))
            for values in itertools.product(*self.grid.values())
        ]
        samples = sample_points(self.random) if self.random else [{}]
        return [{**g, **s} for g in grid_points for s in samples]

    def tasks(self) -> list[Task]:
        """Every task (point × seed) with its key; duplicate points are kept once."""
        out: list[Task] = []
        seen: set[str] = set()
        for point in self.points():
            params, compute = self.apply(point)
            for seed in self.seeds:
                spec = {
                    "generator": self.generator,
                    "file": self.model_file,
                    "file_sha256": self.file_digest,
                    "params": params,
                    "compute": compute,
                    "metrics": self.metrics,
                    "seed": seed,
                }
                key = task_key(spec)
                if key not in seen:
                    seen.add(key)
                    out.append(Task(key=key, point=dict(point), seed=seed, spec=spec))
        return out

    def apply(self, point: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """The generator's parameters and the computations' options at ``point``
        (canonical: validated, defaults filled in)."""
        params = dict(self.params)
        compute = {name: dict(options) for name, options in self.compute.items()}
        for name, value in point.items():
            section, _, option = name.partition(".")
            if option:
                compute[section][option] = value
            else:
                params[name] = value
        if self._schema is not None:
            params = self._schema.model_validate(params).model_dump(mode="json")
        for section, options in compute.items():
            spec = COMPUTATIONS[section].spec(options)
            compute[section] = spec.model_dump(mode="json")
        return params, compute


def task_key(spec: dict[str, Any]) -> str:
    """SHA-256 of the task's parameters and the package version (the model file by content,
    not by path).

    >>> len(task_key({"generator": "forecast", "params": {}, "seed": 0}))
    64
    """
    material = {k: v for k, v in spec.items() if k != "file"}
    material["version"] = treemarket.__version__
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def sample_points(random: dict[str, Any]) -> list[dict[str, Any]]:
    """The random sweep's samples, drawn from its own seed (the same on every run).

    >>> sample_points({"samples": 2, "seed": 1, "params": {"n": {"integers": [1, 9]}}})
    [{'n': 5}, {'n': 5}]
    """
    rng = np.random.default_rng(random.get("seed", 0))
    out = []
    for _ in range(random["samples"]):
        point: dict[str, Any] = {}
        for name, dist in random["params"].items():
            kind, args = next((k, v) for k, v in dist.items() if v is not None)
            if kind == "uniform":
                point[name] = float(rng.uniform(args[0], args[1]))
            elif kind == "loguniform":
                point[name] = float(math.exp(rng.uniform(math.log(args[0]), math.log(args[1]))))
            elif kind == "integers":
                point[name] = int(rng.integers(args[0], args[1] + 1))
            else:
                point[name] = args[int(rng.integers(len(args)))]
        out.append(point)
    return out


# ----------------------------------------------------------------------------- loading
def load_study(path: str | Path) -> Study:
    """Read and validate a study file; any mistake is a one-line :class:`ModelError`."""
    return study_from_document(read_document(path))


def study_from_dict(data: dict[str, Any], file: str | None = None) -> Study:
    """Validate a study given as a dict with the file's structure."""
    return study_from_document(Document(data, file))


def study_from_document(doc: Document) -> Study:
    """Validate a parsed study document into a :class:`Study`."""
    if not isinstance(doc.data, dict):
        raise doc.error((), "a study file must be a mapping with a 'study:' name")
    spec: StudySpec = validate(doc, StudySpec)
    kind, generator, model_file, digest, schema = _model(doc, spec.model)
    params = dict(spec.model.params)
    if schema is not None:
        _check_params(doc, schema, params, ("model", "params"), generator)
        params = schema.model_validate(params).model_dump(mode="json")
    compute = _compute(doc, spec.compute, kind)
    seeds = _seeds(doc, spec.seeds)
    grid = _grid(doc, spec, schema, params, compute, generator)
    random = _random(doc, spec, schema, params, compute, generator)
    metrics = _metrics(doc, spec.metrics, available_metrics(kind, compute))
    directory = doc.directory
    stem = Path(doc.file).stem if doc.file else spec.study
    store = Path(spec.store) if spec.store else Path(f"{stem}.results.sqlite")
    if not store.is_absolute():
        store = directory / store
    return Study(
        name=spec.study,
        file=doc.file or "<dict>",
        store=store,
        generator=generator,
        model_file=model_file,
        file_digest=digest,
        kind=kind,
        params=params,
        grid=grid,
        random=random,
        seeds=seeds,
        compute=compute,
        metrics=metrics,
        description=spec.description or "",
        _schema=schema,
    )


def _model(
    doc: Document, model: ModelSpec
) -> tuple[str, str, str | None, str | None, type[BaseModel] | None]:
    """(kind, generator, model file, its digest, parameter schema or None)."""
    if model.file is not None:
        if model.generator not in (None, "file"):
            raise doc.error(("model", "generator"), "give either a generator or a file")
        path = Path(model.file)
        if not path.is_absolute():
            path = doc.directory / path
        if not path.is_file():
            raise doc.error(("model", "file"), f"no such model file: {model.file}")
        kind, _ = generators.load_model_file(path)  # its own errors name the model file
        return kind, "file", str(path.resolve()), generators.file_digest(path), _file_schema(kind)
    generator = model.generator
    if generator is None:
        raise doc.error(("model",), "give a generator or a file")
    if generator == "file":
        raise doc.error(("model", "file"), "generator 'file' needs a file")
    if generator in generators.PARAMS:
        if (
            generator == "intermediation"
            and importlib.util.find_spec("treemarket.intermediation.generate") is None
        ):
            raise doc.error(("model", "generator"), "intermediation is not available")
        if model.kind is not None and model.kind != generators.KINDS[generator]:
            raise doc.error(("model", "kind"), f"generator {generator} makes {model.kind} models")
        return generators.KINDS[generator], generator, None, None, generators.PARAMS[generator]
    if ":" not in generator:
        known = ", ".join(k for k in generators.PARAMS if k != "file")
        raise doc.error(
            ("model", "generator"),
            f"unknown generator {generator!r}; choose {known} or 'package.module:function'",
        )
    try:
        generators.resolve_callable(generator)
    except (ImportError, AttributeError, TypeError, ValueError) as exc:
        raise doc.error(("model", "generator"), f"cannot load {generator}: {exc}") from None
    return model.kind or "ttp", generator, None, None, None


def _file_schema(kind: str) -> type[BaseModel]:
    if kind == "ttp":
        return generators.FileParams

    class NoParams(StrictModel):
        pass

    return NoParams


def _error_text(exc: ValidationError) -> tuple[tuple[Any, ...], str]:
    """The first error of a validation: its location and a lower-case message."""
    first = exc.errors()[0]
    kind = first["type"]
    if kind == "extra_forbidden":
        text = "unknown key"
    elif kind == "missing":
        text = "required key is missing"
    else:
        text = first["msg"]
        text = text.removeprefix("Value error, ")
        text = text[0].lower() + text[1:] if text else kind
    return tuple(first["loc"]), text


def _check_params(
    doc: Document, schema: type[BaseModel], params: dict[str, Any], place: Place, generator: str
) -> None:
    """Validate a generator's parameters: an unknown name or a bad value names its place."""
    known = schema.model_fields
    for name in params:
        if name not in known:
            raise doc.error((*place, name), _unknown(generator, schema))
    try:
        schema.model_validate(params)
    except ValidationError as exc:
        loc, text = _error_text(exc)
        where = (*place, loc[0]) if loc and loc[0] in params else place
        raise doc.error(where, text) from None


def _unknown(generator: str, schema: type[BaseModel]) -> str:
    names = ", ".join(schema.model_fields) or "none"
    return f"unknown parameter of generator {generator} (known: {names})"


def _compute(doc: Document, spec: Any, kind: str) -> dict[str, dict[str, Any]]:
    """The computations of the study, in the file's order, each validated against its
    registered options (defaults filled in)."""
    given = {name: getattr(spec, name) for name in COMPUTATIONS if getattr(spec, name) is not None}
    if not given:
        raise doc.error(("compute",), f"name at least one of {', '.join(COMPUTATIONS)}")
    # keep the file's order
    order = [k for k in doc.data.get("compute", {}) if k in given]
    out: dict[str, dict[str, Any]] = {}
    for name in order:
        computation = COMPUTATIONS[name]
        place = ("compute", name)
        if computation.kind != kind:
            raise doc.error(
                place, f"needs {_NEEDS[computation.kind]}; this study's model is {_IS[kind]}"
            )
        if not computation.available():
            raise doc.error(place, computation.missing)
        validated = validate(doc, computation.options, data=given[name], place=place)
        out[name] = validated.model_dump(mode="json")
    return out


def _seeds(doc: Document, seeds: int | list[int]) -> list[int]:
    if isinstance(seeds, int):
        return list(range(seeds))
    if not seeds:
        raise doc.error(("seeds",), "give a number of seeds or a non-empty list")
    for k, seed in enumerate(seeds):
        if seed < 0:
            raise doc.error(("seeds", k), "seeds must be non-negative")
        if seed in seeds[:k]:
            raise doc.error(("seeds", k), f"seed {seed} repeats")
    return list(seeds)


def _swept_check(
    doc: Document,
    name: str,
    place: Place,
    schema: type[BaseModel] | None,
    params: dict[str, Any],
    compute: dict[str, dict[str, Any]],
    generator: str,
    fixed: dict[str, Any],
) -> tuple[str, str]:
    """Check that ``name`` can be swept; returns (section, option) for a computation option."""
    section, _, option = name.partition(".")
    if option:
        if section not in COMPUTATIONS:
            raise doc.error(place, f"unknown computation {section!r}")
        if section not in compute:
            raise doc.error(place, f"compute.{section} is not part of this study")
        fields_of = COMPUTATIONS[section].options.model_fields
        if option not in fields_of:
            fields = ", ".join(fields_of)
            raise doc.error(place, f"unknown option of {section} (known: {fields})")
        if option in doc.data.get("compute", {}).get(section, {}):
            raise doc.error(place, f"also fixed in compute.{section}")
        return section, option
    if schema is not None and name not in schema.model_fields:
        raise doc.error(place, _unknown(generator, schema))
    if name in fixed:
        raise doc.error(place, "also fixed in model.params")
    return "", name


def _check_value(
    doc: Document,
    place: Place,
    section: str,
    option: str,
    value: Any,
    schema: type[BaseModel] | None,
    params: dict[str, Any],
    compute: dict[str, dict[str, Any]],
) -> None:
    """Validate one swept value in context (with the fixed parameters)."""
    try:
        if section:
            COMPUTATIONS[section].options.model_validate({**compute[section], option: value})
        elif schema is not None:
            schema.model_validate({**params, option: value})
        json.dumps(value, allow_nan=False)
    except ValidationError as exc:
        raise doc.error(place, _error_text(exc)[1]) from None
    except (TypeError, ValueError):
        raise doc.error(place, "values must be plain numbers, strings, booleans or lists") from None


def _grid(
    doc: Document,
    spec: StudySpec,
    schema: type[BaseModel] | None,
    params: dict[str, Any],
    compute: dict[str, dict[str, Any]],
    generator: str,
) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    fixed = spec.model.params
    for name, values in spec.sweep.grid.items():
        place: Place = ("sweep", "grid", name)
        section, option = _swept_check(doc, name, place, schema, params, compute, generator, fixed)
        if not values:
            raise doc.error(place, "give at least one value")
        for k, value in enumerate(values):
            _check_value(doc, (*place, k), section, option, value, schema, params, compute)
            if value in values[:k]:
                raise doc.error((*place, k), f"value {value!r} repeats")
        out[name] = list(values)
    return out


def _random(
    doc: Document,
    spec: StudySpec,
    schema: type[BaseModel] | None,
    params: dict[str, Any],
    compute: dict[str, dict[str, Any]],
    generator: str,
) -> dict[str, Any] | None:
    random = spec.sweep.random
    if random is None:
        return None
    fixed = spec.model.params
    dists: dict[str, dict[str, Any]] = {}
    for name, dist in random.params.items():
        place: Place = ("sweep", "random", "params", name)
        if name in spec.sweep.grid:
            raise doc.error(place, "also swept in sweep.grid")
        section, option = _swept_check(doc, name, place, schema, params, compute, generator, fixed)
        given = {k: v for k, v in dist.model_dump().items() if v is not None}
        if len(given) != 1:
            raise doc.error(place, "give exactly one of uniform, loguniform, integers, choice")
        kind, args = next(iter(given.items()))
        if kind != "choice" and args[0] > args[1]:
            raise doc.error((*place, kind), "give [low, high] with low <= high")
        if kind == "loguniform" and args[0] <= 0:
            raise doc.error((*place, kind), "loguniform bounds must be positive")
        candidates = args if kind == "choice" else [args[0], args[1]]
        for k, value in enumerate(candidates):
            checked = float(value) if kind in ("uniform", "loguniform") else value
            _check_value(doc, (*place, kind, k), section, option, checked, schema, params, compute)
        dists[name] = {kind: list(args)}
    return {"samples": random.samples, "seed": random.seed, "params": dists}


def _metrics(doc: Document, patterns: list[str] | None, available: list[str]) -> list[str]:
    if patterns is None:
        return available
    if not patterns:
        raise doc.error(("metrics",), "name at least one metric (or leave 'metrics' out)")
    keep: list[str] = []
    for k, pattern in enumerate(patterns):
        matched = [m for m in available if fnmatch.fnmatchcase(m, pattern)]
        if not matched:
            raise doc.error(
                ("metrics", k),
                f"{pattern!r} matches no metric of this study (available: {', '.join(available)})",
            )
        keep += [m for m in matched if m not in keep]
    return keep
