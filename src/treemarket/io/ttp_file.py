"""TTP model files (``model: ttp``): the filtration form, the tree form, sampled paths, and
observed paths fitted into a tree (the ``data`` form, with ``values`` rules).

Every mistake becomes a :class:`~treemarket.errors.ModelError` naming the file, the line and the
place, e.g. ``weather.yaml:9: information[1][0]: block [FC, CR] lies in two blocks of F(0)``.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BeforeValidator, Field

from treemarket.errors import ModelError
from treemarket.io.common import Document, Place, StrictModel, read_document, validate
from treemarket.io.formula import Formula, FormulaError
from treemarket.io.path_table import PathTable, read_path_table
from treemarket.scenario import ScenarioTree, check_refinement
from treemarket.scenario.fit import FittedTree, PathData, fit_tree
from treemarket.ttp.model import TTPModel

PROBABILITY_TOL = 1e-9


def _name(value: Any) -> Any:
    """YAML reads ``1:`` as a number; names are strings."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


Name = Annotated[str, BeforeValidator(_name), Field(min_length=1)]
Number = Annotated[float, Field(allow_inf_nan=False, strict=False)]
Count = Annotated[int, Field(ge=1, strict=True)]
Supply = Annotated[int, Field(ge=0, strict=True)]


class BuyerType(StrictModel):
    name: Name
    count: Count = 1
    window: list[Annotated[int, Field(ge=0, strict=True)]] | None = None
    early_benefit: list[Number] | None = None


class ScenarioSpec(StrictModel):
    probability: Number
    values: dict[Name, Number]


class TreeNodeSpec(StrictModel):
    probability: Number | None = None
    label: str | None = None
    scenario: Name | None = None
    values: dict[Name, Number] | None = None
    children: list[TreeNodeSpec] | None = None


class PathsSpec(StrictModel):
    file: str
    weight: str | None = None
    delimiter: str = ","


class DataSpec(StrictModel):
    paths: str
    layout: Literal["auto", "long", "wide"] = "auto"
    path: str | None = None
    time: str | None = None
    variables: list[str] | None = None
    weight: str | None = None
    delimiter: str = ","
    branching: list[Annotated[int, Field(ge=1, strict=True)]] = Field(min_length=1)
    method: Literal["cluster", "reduce"] = "cluster"
    scenarios: Annotated[int, Field(ge=1, strict=True)] | None = None
    tolerance: Annotated[float, Field(ge=0)] | None = None
    history: bool = False
    seed: int = 0
    words: dict[str, list[str]] | None = None


class TTPFileSpec(StrictModel):
    model: Literal["ttp"]
    name: str | None = None
    buyers: list[Name | BuyerType] = Field(min_length=1)
    supply: list[Supply] = Field(min_length=1)
    scenarios: dict[Name, ScenarioSpec] | None = None
    information: list[list[list[Name]]] | None = None
    tree: TreeNodeSpec | None = None
    paths: str | PathsSpec | None = None
    data: DataSpec | None = None
    values: dict[Name, str] | None = None
    carry_over: bool = False


@dataclass(frozen=True, eq=False)
class DataModel:
    """A model of the ``data`` form with what it was built from: the fitted tree, the paths
    table and the value rules (to evaluate the tree on other paths)."""

    model: TTPModel
    fitted: FittedTree
    table: PathTable
    rules: dict[str, Formula]
    spec: DataSpec

    def read_paths(self, path: str | os.PathLike[str]) -> PathTable:
        """Another table of paths in the same layout, with the same variables."""
        spec = self.spec
        table = read_path_table(
            path,
            variables=list(self.fitted.variables),
            layout=spec.layout,
            path_column=spec.path,
            time_column=spec.time,
            weight=spec.weight,
            delimiter=spec.delimiter,
        )
        if table.data.horizon != self.model.horizon:
            raise ModelError(
                f"the paths have times 0..{table.data.horizon}, the model 0..{self.model.horizon}",
                file=table.file,
                line=1,
            )
        states = table.data.states.copy()
        for name, cats in self.fitted.scaler.categories.items():
            new = tuple(table.data.categories.get(name, ()))
            v = table.data.variables.index(name)
            known = {c: k for k, c in enumerate(cats)}
            unknown = [c for c in new if c not in known]
            if unknown:
                code = new.index(unknown[0])
                row, t = (int(i[0]) for i in np.nonzero(states[:, :, v] == code))
                wide = table.layout == "wide"
                where = f"column {name}_{t}" if wide else f"time {t}, column {name}"
                raise ModelError(
                    f"category {unknown[0]!r} is not one the model was fitted on ({list(cats)})",
                    file=table.file,
                    line=table.first_line[row] if wide else None,
                    place=f"path {table.ids[row]!r}, {where}",
                )
            remap = np.array([known[c] for c in new], dtype=np.float64)
            states[:, :, v] = remap[states[:, :, v].astype(np.int64)]
        categories = {**table.data.categories, **self.fitted.scaler.categories}
        data = PathData(states, table.data.variables, categories, table.data.weights)
        return replace(table, data=data)

    def path_values(self, table: PathTable) -> np.ndarray:
        """V_i on every path of ``table``: each buyer's rule on the columns at T -> (P, I)."""
        return rule_values(self.rules, self.model.buyers, table)


def load_ttp(path: str | os.PathLike[str]) -> TTPModel:
    """Read and validate a TTP model file (YAML or JSON)."""
    return ttp_from_document(read_document(path))


def ttp_from_dict(data: dict[str, Any], file: str | None = None) -> TTPModel:
    """Validate a TTP model given as a dict with the file's structure."""
    return ttp_from_document(Document(data, file))


def load_data_model(path: str | os.PathLike[str]) -> DataModel:
    """Read a TTP model file of the ``data`` form, keeping the fitted tree and the rules."""
    doc = read_document(path)
    model, extra = _build(doc)
    if extra is None:
        raise doc.error((), "not a model of the data form (no 'data:' key)")
    return extra


def ttp_from_document(doc: Document) -> TTPModel:
    return _build(doc)[0]


def _build(doc: Document) -> tuple[TTPModel, DataModel | None]:
    if not isinstance(doc.data, dict):
        raise doc.error((), "a model file must be a mapping with 'model: ttp'")
    if doc.data.get("model") != "ttp":
        raise doc.error(("model",), f"expected 'model: ttp', got {doc.data.get('model')!r}")
    spec: TTPFileSpec = validate(doc, TTPFileSpec)
    buyers, counts = _buyers(doc, spec)
    supply = np.asarray(spec.supply, dtype=np.int64)
    window, early_benefit = _extensions(doc, spec, len(supply) - 1)
    forms = [
        key
        for key, present in (
            ("scenarios/information", spec.scenarios is not None or spec.information is not None),
            ("tree", spec.tree is not None),
            ("paths", spec.paths is not None),
            ("data", spec.data is not None),
        )
        if present
    ]
    if len(forms) != 1:
        which = " and ".join(forms) if forms else "none"
        raise doc.error(
            (), f"give exactly one of scenarios+information, tree, paths or data (found: {which})"
        )
    if spec.values is not None and spec.data is None:
        raise doc.error(("values",), "value rules go with the data form (a 'data:' key)")
    extra: DataModel | None = None
    if spec.data is not None:
        fitted, table, rules, values = _data_form(doc, spec, buyers, len(supply) - 1)
        tree = fitted.tree
    elif spec.tree is not None:
        tree, values = _tree_form(doc, spec.tree, buyers, len(supply) - 1)
    elif spec.paths is not None:
        tree, values = _paths_form(doc, spec.paths, buyers, len(supply) - 1)
    else:
        tree, values = _filtration_form(doc, spec, buyers, len(supply) - 1)
    model = TTPModel.from_arrays(
        tree,
        buyers,
        supply,
        values,
        counts,
        name=spec.name or _stem(doc.file),
        window=window,
        early_benefit=early_benefit,
        carry_over=spec.carry_over,
    )
    if spec.data is not None:
        extra = DataModel(model, fitted, table, rules, spec.data)
    return model, extra


def rule_values(rules: dict[str, Formula], buyers: list[str], table: PathTable) -> np.ndarray:
    """Each buyer's rule on every path's numeric columns at T -> (P, I)."""
    at_end = table.at(-1)
    out = np.empty((table.data.n_paths, len(buyers)))
    for i, b in enumerate(buyers):
        try:
            out[:, i] = rules[b].evaluate(at_end)
        except FormulaError as exc:
            raise ModelError(str(exc), file=table.file, place=f"values.{b}") from None
    return out


def _data_form(
    doc: Document, spec: TTPFileSpec, buyers: list[str], horizon: int
) -> tuple[FittedTree, PathTable, dict[str, Formula], np.ndarray]:
    """Paths from a CSV, fitted into a tree; each buyer's value V_i(ω) the mean of her rule
    over the paths of the leaf ω."""
    data = spec.data
    assert data is not None
    if spec.values is None:
        raise doc.error(("data",), "the data form needs 'values:' (a rule per buyer)")
    rules: dict[str, Formula] = {}
    for b, text in spec.values.items():
        if b not in buyers:
            raise doc.error(("values", b), f"unknown buyer {b!r}")
        try:
            rules[b] = Formula.parse(text)
        except FormulaError as exc:
            raise doc.error(("values", b), str(exc)) from None
    missing = [b for b in buyers if b not in rules]
    if missing:
        raise doc.error(("values",), f"missing a rule for buyer {missing[0]!r}")
    csv_path = doc.directory / data.paths
    table = read_path_table(
        csv_path,
        variables=data.variables,
        layout=data.layout,
        path_column=data.path,
        time_column=data.time,
        weight=data.weight,
        delimiter=data.delimiter,
        source=str(csv_path),
    )
    if table.data.horizon != horizon:
        raise doc.error(
            ("data", "paths"),
            f"the paths have times 0..{table.data.horizon} but supply has {horizon + 1} "
            f"entries (times 0..{horizon})",
        )
    for b, rule in rules.items():
        unknown = [c for c in rule.columns if c not in table.columns]
        if unknown:
            raise doc.error(
                ("values", b),
                f"no numeric column {unknown[0]!r} in {data.paths} "
                f"(numeric columns: {', '.join(table.columns)})",
            )
    try:
        fitted = fit_tree(
            table.data,
            data.branching,
            method=data.method,
            scenarios=data.scenarios,
            tolerance=data.tolerance,
            history=data.history,
            seed=data.seed,
            words=data.words,
        )
    except ModelError as exc:
        raise doc.error(("data", *exc.place.split(".")), exc.message) from None
    values = fitted.leaf_values(rule_values(rules, buyers, table))
    return fitted, table, rules, values


def _extensions(
    doc: Document, spec: TTPFileSpec, horizon: int
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Presence windows [arrival, departure] and early benefits b_i(0..T), where given."""
    entries = [b for b in spec.buyers]
    has_window = any(isinstance(b, BuyerType) and b.window is not None for b in entries)
    has_benefit = any(isinstance(b, BuyerType) and b.early_benefit is not None for b in entries)
    window = np.tile([0, horizon], (len(entries), 1)) if has_window else None
    benefit = np.zeros((len(entries), horizon + 1)) if has_benefit else None
    for k, entry in enumerate(entries):
        if not isinstance(entry, BuyerType):
            continue
        if entry.window is not None and window is not None:
            if len(entry.window) != 2 or not entry.window[0] <= entry.window[1] <= horizon:
                raise doc.error(
                    ("buyers", k, "window"),
                    f"window must be [arrival, departure] with 0 ≤ arrival ≤ departure ≤ T = "
                    f"{horizon}, got {entry.window}",
                )
            window[k] = entry.window
        if entry.early_benefit is not None and benefit is not None:
            if len(entry.early_benefit) != horizon + 1:
                raise doc.error(
                    ("buyers", k, "early_benefit"),
                    f"needs one number per trading time 0..T ({horizon + 1}), got "
                    f"{len(entry.early_benefit)}",
                )
            benefit[k] = entry.early_benefit
    return window, benefit


def _stem(file: str | None) -> str:
    return os.path.splitext(os.path.basename(file))[0] if file else ""


def _buyers(doc: Document, spec: TTPFileSpec) -> tuple[list[str], list[int]]:
    names: list[str] = []
    counts: list[int] = []
    seen: set[str] = set()
    for k, entry in enumerate(spec.buyers):
        name, count = (entry, 1) if isinstance(entry, str) else (entry.name, entry.count)
        if name in seen:
            raise doc.error(("buyers", k), f"buyer {name!r} appears twice")
        seen.add(name)
        names.append(name)
        counts.append(count)
    return names, counts


def _check_probability(doc: Document, place: Place, p: float) -> None:
    if not p > 0 or p > 1 + PROBABILITY_TOL:
        raise doc.error(place, f"probability must be in (0, 1], got {p}")


def _values_row(
    doc: Document, place: Place, values: dict[str, float] | None, buyers: list[str]
) -> list[float]:
    if values is None:
        raise doc.error(place, "missing values")
    unknown = [b for b in values if b not in set(buyers)]
    if unknown:
        raise doc.error((*place, unknown[0]), f"unknown buyer {unknown[0]!r}")
    missing = [b for b in buyers if b not in values]
    if missing:
        raise doc.error(place, f"missing value for buyer {missing[0]!r}")
    return [float(values[b]) for b in buyers]


def _filtration_form(
    doc: Document, spec: TTPFileSpec, buyers: list[str], horizon: int
) -> tuple[ScenarioTree, np.ndarray]:
    if spec.scenarios is None:
        raise doc.error(("scenarios",), "required key is missing (information needs scenarios)")
    if spec.information is None:
        raise doc.error(("information",), "required key is missing (scenarios need information)")
    if not spec.scenarios:
        raise doc.error(("scenarios",), "there must be at least one scenario")
    names = list(spec.scenarios)
    probs = []
    rows = []
    for name, scen in spec.scenarios.items():
        _check_probability(doc, ("scenarios", name, "probability"), scen.probability)
        probs.append(scen.probability)
        rows.append(_values_row(doc, ("scenarios", name, "values"), scen.values, buyers))
    total = math.fsum(probs)
    if abs(total - 1.0) > PROBABILITY_TOL:
        raise doc.error(("scenarios",), f"probabilities sum to {total:.12g}, not 1")
    info = spec.information
    if len(info) != horizon + 1:
        raise doc.error(
            ("information",),
            f"has {len(info)} partitions but supply has {horizon + 1} entries (times 0..T)",
        )
    index = {name: k for k, name in enumerate(names)}
    states = np.full((len(names), len(info)), -1, dtype=np.int64)
    for t, partition in enumerate(info):
        for b, block in enumerate(partition):
            if not block:
                raise doc.error(("information", t, b), "empty block")
            for k, name in enumerate(block):
                if name not in index:
                    raise doc.error(("information", t, b, k), f"unknown scenario {name!r}")
                if states[index[name], t] >= 0:
                    raise doc.error(
                        ("information", t, b, k), f"scenario {name!r} is in two blocks of F({t})"
                    )
                states[index[name], t] = b
        uncovered = [names[s] for s in np.nonzero(states[:, t] < 0)[0].tolist()]
        if uncovered:
            raise doc.error(("information", t), f"F({t}) does not cover scenario {uncovered[0]!r}")
    bad = check_refinement(states)
    if bad is not None:
        t, b = bad
        block = sorted(info[t][b])
        raise doc.error(
            ("information", t, b),
            f"block {block} lies in two blocks of F({t - 1}): F({t}) does not refine F({t - 1})",
        )
    tree, order = ScenarioTree.from_paths(states, np.asarray(probs), names=names)
    values = np.asarray(rows, dtype=np.float64)[order].T.reshape(len(buyers), -1)
    return tree, values


def _tree_form(
    doc: Document, root: TreeNodeSpec, buyers: list[str], horizon: int
) -> tuple[ScenarioTree, np.ndarray]:
    # Walk the nested nodes once (a model file, not a hot path) and hand the leaf histories to
    # the vectorized builder: each leaf is a path whose state at time t is its ancestor's id.
    histories: list[list[int]] = []
    weights: list[float] = []
    names: list[str] = []
    rows: list[list[float]] = []
    labels: dict[tuple[int, object], str] = {}
    seen: dict[str, Place] = {}
    counter = 0
    if root.probability is not None and abs(root.probability - 1.0) > PROBABILITY_TOL:
        raise doc.error(("tree", "probability"), "the root's probability must be 1 (or omitted)")
    stack: list[tuple[TreeNodeSpec, Place, list[int], float]] = [(root, ("tree",), [], 1.0)]
    while stack:
        node, place, history, prob = stack.pop()
        node_id = counter
        counter += 1
        path = [*history, node_id]
        depth = len(path) - 1
        if node.label is not None:
            labels[(depth, node_id)] = node.label
        if node.children:
            if node.scenario is not None or node.values is not None:
                raise doc.error(place, "only leaves carry a scenario and values")
            if depth >= horizon:
                raise doc.error(
                    place, f"node at time {depth} has children but T = {horizon} (from supply)"
                )
            probs = []
            for k, child in enumerate(node.children):
                cplace = (*place, "children", k)
                if child.probability is None:
                    raise doc.error(cplace, "probability is missing")
                _check_probability(doc, (*cplace, "probability"), child.probability)
                probs.append(child.probability)
            total = math.fsum(probs)
            if abs(total - 1.0) > PROBABILITY_TOL:
                raise doc.error(
                    (*place, "children"), f"children's probabilities sum to {total:.12g}, not 1"
                )
            for k in range(len(node.children) - 1, -1, -1):
                child = node.children[k]
                stack.append((child, (*place, "children", k), path, prob * probs[k]))
            continue
        if node.children is not None:
            raise doc.error((*place, "children"), "an empty list of children")
        if depth != horizon:
            raise doc.error(place, f"leaf at time {depth}, but every leaf must be at T = {horizon}")
        if node.scenario is None:
            raise doc.error(place, "a leaf needs a scenario name")
        if node.scenario in seen:
            raise doc.error((*place, "scenario"), f"scenario {node.scenario!r} appears twice")
        seen[node.scenario] = place
        rows.append(_values_row(doc, (*place, "values"), node.values, buyers))
        histories.append(path)
        weights.append(prob)
        names.append(node.scenario)
    tree, order = ScenarioTree.from_paths(
        np.asarray(histories, dtype=np.int64), np.asarray(weights), names=names, labels=labels
    )
    values = np.asarray(rows, dtype=np.float64)[order].T.reshape(len(buyers), -1)
    return tree, values


def read_paths_csv(
    path: str | os.PathLike[str],
    buyers: list[str],
    horizon: int,
    weight: str | None = None,
    delimiter: str = ",",
    source: str | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Read a table of sampled paths: columns ``t0..tT`` (states), one per buyer, optional weight.

    Returns (states (P, T+1) str, values (P, I) float, weights (P,) or None).
    """
    file = str(path)
    where = source or file
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            header = next(reader, None)
            if header is None:
                raise ModelError("the paths table is empty", file=where)
            table = list(reader)
    except OSError as exc:
        raise ModelError(f"cannot read paths table: {exc.strerror}", file=where) from None
    header = [h.strip() for h in header]
    col = {h: k for k, h in enumerate(header)}
    needed = [f"t{t}" for t in range(horizon + 1)] + list(buyers)
    if weight is not None:
        needed.append(weight)
    for name in needed:
        if name not in col:
            raise ModelError(f"missing column {name!r}", file=where, place="header", line=1)
    if not table:
        raise ModelError("the paths table has no rows", file=where)
    states = np.empty((len(table), horizon + 1), dtype=object)
    values = np.empty((len(table), len(buyers)), dtype=np.float64)
    weights = np.empty(len(table), dtype=np.float64) if weight is not None else None
    for r, row in enumerate(table):
        line = r + 2
        if len(row) != len(header):
            raise ModelError(
                f"has {len(row)} fields, the header has {len(header)}",
                file=where,
                line=line,
                place=f"row {r + 1}",
            )
        for t in range(horizon + 1):
            states[r, t] = row[col[f"t{t}"]].strip()
        for i, b in enumerate(buyers):
            values[r, i] = _csv_number(row[col[b]], where, line, b)
        if weights is not None and weight is not None:
            w = _csv_number(row[col[weight]], where, line, weight)
            if w <= 0:
                raise ModelError("weight must be positive", file=where, line=line, place=weight)
            weights[r] = w
    return states.astype(str), values, weights


def _csv_number(text: str, file: str, line: int, column: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise ModelError(f"not a number: {text!r}", file=file, line=line, place=column) from None
    if not math.isfinite(x):
        raise ModelError(f"not a finite number: {text!r}", file=file, line=line, place=column)
    return x


def _paths_form(
    doc: Document, paths: str | PathsSpec, buyers: list[str], horizon: int
) -> tuple[ScenarioTree, np.ndarray]:
    spec = PathsSpec(file=paths) if isinstance(paths, str) else paths
    csv_path = doc.directory / spec.file
    states, values, weights = read_paths_csv(
        csv_path, buyers, horizon, spec.weight, spec.delimiter, source=str(csv_path)
    )
    tree, order = ScenarioTree.from_paths(states, weights, label_states=True)
    return tree, values[order].T.copy()


def to_filtration_dict(model: TTPModel) -> dict[str, Any]:
    """The model in the filtration form of the model files (``scenarios`` + ``information``)."""
    tree = model.tree
    names = tree.scenario_names.tolist()
    scenarios = {
        name: {
            "probability": float(tree.scenario_prob[s]),
            "values": {b: float(model.scenario_values[i, s]) for i, b in enumerate(model.buyers)},
        }
        for s, name in enumerate(names)
    }
    information = [
        [names[tree.event_start[n] : tree.event_stop[n]] for n in range(lv.start, lv.stop)]
        for lv in (tree.level(t) for t in range(tree.horizon + 1))
    ]
    return {
        "model": "ttp",
        "name": model.name,
        "buyers": _buyer_entries(model),
        "supply": model.supply.tolist(),
        "scenarios": scenarios,
        "information": information,
        **({"carry_over": True} if model.carry_over else {}),
    }


def to_tree_dict(model: TTPModel) -> dict[str, Any]:
    """The model in the tree form (one leaf per scenario; needs a single root at time 0)."""
    tree = model.tree
    if tree.level(0).stop != 1 or tree.n_scenarios != tree.n_leaves:
        raise ValueError("the tree form needs one root and one scenario per leaf")
    nodes: list[dict[str, Any]] = [{} for _ in range(tree.n_nodes)]
    for n in range(tree.n_nodes - 1, -1, -1):
        node = nodes[n]
        if n > 0:
            node["probability"] = float(tree.cond_prob[n])
        if tree.labels is not None and tree.labels[n] is not None:
            node["label"] = str(tree.labels[n])
        if tree.time[n] == tree.horizon:
            s = int(tree.event_start[n])
            node["scenario"] = str(tree.scenario_names[s])
            node["values"] = {
                b: float(model.scenario_values[i, s]) for i, b in enumerate(model.buyers)
            }
        else:
            start = int(tree.child_start[n])
            node["children"] = nodes[start : start + int(tree.n_children[n])]
    return {
        "model": "ttp",
        "name": model.name,
        "buyers": _buyer_entries(model),
        "supply": model.supply.tolist(),
        "tree": nodes[0],
        **({"carry_over": True} if model.carry_over else {}),
    }


def _buyer_entries(model: TTPModel) -> list[Any]:
    entries: list[Any] = []
    for i, (b, c) in enumerate(zip(model.buyers, model.counts.tolist(), strict=True)):
        entry: dict[str, Any] = {"name": b, "count": int(c)}
        if model.window is not None:
            entry["window"] = model.window[i].tolist()
        if model.early_benefit is not None:
            entry["early_benefit"] = model.early_benefit[i].tolist()
        entries.append(b if len(entry) == 2 and c == 1 else entry)
    return entries
