"""What the explore page asks of the library, as plain JSON-ready dicts: a model from its YAML
text (validated exactly like a file), the tree as arrays, a solution's certificate and tables,
and edits that rewrite one number of the YAML text in place (comments and layout kept)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import yaml

from treemarket.display import number
from treemarket.errors import ModelError, format_place
from treemarket.intermediation.tree import IntermediationTree, format_products
from treemarket.io.common import Document, parse_document
from treemarket.ttp.model import TTPModel
from treemarket.ttp.result import TTPSolution

Kind = Literal["ttp", "intermediation"]
MAX_EDITS = 2000  # editable numbers listed in the form (a big tree file: the first ones)
MAX_MATRIX = 2_000_000  # buyers × nodes sent per matrix (values, option values)


@dataclass
class Loaded:
    """A model read from text: its kind, the model and the parsed document."""

    kind: Kind
    model: TTPModel | IntermediationTree
    doc: Document


def load_text(text: str, file: str | None) -> Loaded:
    """Read a model from YAML (or JSON) ``text`` as if it were the file ``file``: the same
    validation and the same one-line errors (a :class:`ModelError`) as the command line."""
    from treemarket.io.intermediation_file import tree_from_document
    from treemarket.io.ttp_file import ttp_from_document

    try:
        doc = parse_document(text, file)
        if isinstance(doc.data, dict) and doc.data.get("model") == "intermediation":
            return Loaded("intermediation", tree_from_document(doc), doc)
        return Loaded("ttp", ttp_from_document(doc), doc)
    except RecursionError:
        raise ModelError("the file nests deeper than the parser can follow", file=file) from None


def error_json(exc: ModelError) -> dict[str, Any]:
    """A model error for the page: the CLI's line (``error: ...``) and the line to mark."""
    return {"message": f"error: {exc}", "line": exc.line}


def _finite(values: np.ndarray) -> list[float | None]:
    """A float array as a JSON list (None where not finite)."""
    out = values.astype(np.float64).tolist()
    return [x if math.isfinite(x) else None for x in out]


def model_json(loaded: Loaded) -> dict[str, Any]:
    """The model for the page: its tree as arrays (parent, time, probability, names) and, for
    TTP, the buyers, the supply and each node's values E[V_i | n] (nodes × buyers)."""
    if loaded.kind == "intermediation":
        assert isinstance(loaded.model, IntermediationTree)
        return _intermediation_json(loaded.model) | {"edits": edit_places(loaded)}
    model = loaded.model
    assert isinstance(model, TTPModel)
    tree = model.tree
    values = model.values_by_node
    return {
        "kind": "ttp",
        "name": model.name,
        "summary": model.summary(),
        "buyers": list(model.buyers),
        "counts": model.counts.astype(int).tolist(),
        "supply": model.supply.astype(int).tolist(),
        "tree": {
            "parent": tree.parent.astype(int).tolist(),
            "time": tree.time.astype(int).tolist(),
            "prob": tree.prob.astype(float).tolist(),
            "cond": tree.cond_prob.astype(float).tolist(),
            "names": tree.node_names(),
            "event_size": (tree.event_stop - tree.event_start).astype(int).tolist(),
        },
        "node_supply": model.node_supply.astype(int).tolist(),
        "values": np.round(values, 10).tolist() if values.size <= MAX_MATRIX else None,
        "edits": edit_places(loaded),
        "colours": colours_json(),
    }


def colours_json() -> dict[str, Any]:
    """The pictures' colours (:mod:`treemarket.viz.tree`): a face and an edge per buyer, for no
    sale, and for a sale when there are too many buyers to colour each."""
    from treemarket.viz import tree as picture

    return {
        "buyers": [list(pair) for pair in picture.BUYER_COLOURS],
        "idle": [picture.IDLE_FACE, picture.IDLE_EDGE],
        "sale": [picture.SALE_FACE, picture.SALE_EDGE],
        "max_coloured": picture.MAX_COLOURED,
    }


def _intermediation_json(tree: IntermediationTree) -> dict[str, Any]:
    n = len(tree.parent)
    return {
        "kind": "intermediation",
        "name": tree.name or "",
        "summary": f"{n} nodes, {int(tree.is_leaf.sum())} customers, "
        f"{tree.transactions} transactions",
        "tree": {
            "parent": tree.parent.astype(int).tolist(),
            "names": list(tree.names),
            "products": [format_products(tree.products_of(k)) for k in range(n)],
            "limit": _finite(tree.limit),
            "leaf": tree.is_leaf.tolist(),
        },
        "colours": colours_json(),
    }


def solution_json(solution: TTPSolution) -> dict[str, Any]:
    """A solution for the page: the certificate in the CLI's words, and per node the buyer who
    buys most there (−1: no sale), units sold, the price range and the reported price; the
    purchases as (buyer, node, units) and the option values ψ and E[ψ(t+1) | n] per buyer."""
    model = solution.model
    tree = model.tree
    y = solution.y
    bought = y > 0.5
    main = np.where(bought.any(axis=0), np.argmax(np.where(bought, y, -1.0), axis=0), -1)
    b, n = np.nonzero(bought)
    bounds = solution.price_bounds()
    low = high = None
    if bounds is not None:
        low, high = bounds
    ranges = (
        [f"[{number(lo, 4)}, {number(hi, 4)}]" for lo, hi in zip(low, high, strict=True)]
        if low is not None and high is not None
        else None
    )
    out: dict[str, Any] = {
        "certificate": solution.certificate_lines(),
        "notes": solution.report_notes(),
        "method": solution.method,
        "welfare": solution.welfare,
        "reached": solution.reached,
        "lp_integral": solution.lp_integral.to_json(),
        "supported": solution.supported.to_json(),
        "main_buyer": main.astype(int).tolist(),
        "sold": np.round(solution.priced_y.sum(axis=0), 10).tolist(),
        "purchases": [
            [int(i), int(k), round(float(y[i, k]), 10)]
            for i, k in zip(b.tolist(), n.tolist(), strict=True)
        ],
        "price_low": None if low is None else _finite(low),
        "price_high": None if high is None else _finite(high),
        "range_text": ranges,
        "price": None if solution.prices is None else _finite(solution.prices.price),
        "revenue": solution.revenue(),
        "lotteries": len(solution.lottery_rows()),
        "option_values": None,
    }
    if solution.prices is not None and y.size <= MAX_MATRIX:
        psi = solution.prices.option_value
        wait = np.zeros_like(psi)
        inner = int(tree.level_offsets[-2])
        wait[:, :inner] = tree.expectation_of_children(psi)
        out["option_values"] = {
            "psi": np.round(psi, 10).tolist(),
            "wait": np.round(wait, 10).tolist(),
        }
    return out


# ------------------------------------------------------------------ edits of the YAML text
def edit_places(loaded: Loaded) -> list[dict[str, Any]]:
    """The numbers the page's form can change: supply per time, buyer counts, probabilities
    and values (scenarios or tree nodes), intermediation limits; each with its place, a label
    and its value (at most :data:`MAX_EDITS`)."""
    data = loaded.doc.data
    out: list[dict[str, Any]] = []

    def add(place: tuple[str | int, ...], label: str, value: Any) -> None:
        if len(out) < MAX_EDITS and isinstance(value, int | float) and not isinstance(value, bool):
            out.append({"place": list(place), "label": label, "value": value})

    if loaded.kind == "intermediation":
        _limit_places(data.get("tree"), ("tree",), add)
        return out
    for t, mu in enumerate(data.get("supply") or []):
        add(("supply", t), f"supply μ({t})", mu)
    for k, entry in enumerate(data.get("buyers") or []):
        name, count = (
            (entry.get("name"), entry.get("count", 1))
            if isinstance(entry, dict)
            else (
                entry,
                1,
            )
        )
        add(("buyers", k, "count"), f"buyer {name}: count", count)
    for s, spec in (data.get("scenarios") or {}).items():
        if not isinstance(spec, dict):
            continue
        add(("scenarios", s, "probability"), f"scenario {s}: probability", spec.get("probability"))
        for buyer, v in (spec.get("values") or {}).items():
            add(("scenarios", s, "values", buyer), f"scenario {s}: value of {buyer}", v)
    if isinstance(data.get("tree"), dict):
        _tree_places(data["tree"], ("tree",), "root", add)
    return out


def _tree_places(node: Any, place: tuple[str | int, ...], name: str, add: Any) -> None:
    stack = [(node, place, name)]
    while stack:
        spec, at, label = stack.pop()
        if not isinstance(spec, dict):
            continue
        if "probability" in spec:
            add((*at, "probability"), f"{label}: probability", spec["probability"])
        for buyer, v in (spec.get("values") or {}).items():
            add((*at, "values", buyer), f"{label}: value of {buyer}", v)
        kids = spec.get("children") or []
        for k in range(len(kids) - 1, -1, -1):
            kid = kids[k]
            own = kid.get("scenario") or kid.get("label") if isinstance(kid, dict) else None
            stack.append((kid, (*at, "children", k), f"{label} → {own or f'#{k + 1}'}"))


def _limit_places(node: Any, place: tuple[str | int, ...], add: Any) -> None:
    stack = [(node, place)]
    while stack:
        spec, at = stack.pop()
        if not isinstance(spec, dict):
            continue
        if "limit" in spec:
            who = "seller" if at == place else "customer"
            add((*at, "limit"), f"{who} {spec.get('name')}: limit price", spec["limit"])
        kids = spec.get("children") or []
        for k in range(len(kids) - 1, -1, -1):
            stack.append((kids[k], (*at, "children", k)))


def _scalar(value: float) -> str:
    """A number as YAML writes it: integers without a decimal point."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def edit_text(text: str, place: Sequence[str | int], value: float) -> str:
    """``text`` with the number at ``place`` replaced by ``value``; everything else (comments,
    layout, other numbers) unchanged. A buyer's count on a bare name ``A`` turns the name into
    ``{name: A, count: N}``.

    Examples
    --------
    >>> edit_text("supply: [1, 1]  # mu\\n", ("supply", 1), 3)
    'supply: [1, 3]  # mu\\n'
    >>> edit_text("buyers: [A, B]\\n", ("buyers", 0, "count"), 2)
    'buyers: [{name: A, count: 2}, B]\\n'
    """
    if not math.isfinite(value):
        raise ModelError("must be a finite number", place=format_place(place))
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        raise ModelError("fix the YAML first: it does not parse") from None
    node: yaml.Node | None = root
    parent: yaml.Node | None = None
    for part in place:
        parent = node
        node = _child(node, part)
        if node is None:
            break
    bare_buyer = len(place) == 3 and place[0] == "buyers" and place[2] == "count"
    if node is None and bare_buyer and isinstance(parent, yaml.ScalarNode):
        # a bare buyer name: write it as a mapping with its count
        return _splice(text, parent, f"{{name: {parent.value}, count: {_scalar(value)}}}")
    if node is None or not isinstance(node, yaml.ScalarNode):
        raise ModelError("no number at this place to change", place=format_place(place))
    return _splice(text, node, _scalar(value))


def _child(node: yaml.Node | None, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, item in node.value:
            if key.value == str(part):
                return item
    if (
        isinstance(node, yaml.SequenceNode)
        and isinstance(part, int)
        and 0 <= part < len(node.value)
    ):
        return node.value[part]
    return None


def _splice(text: str, node: yaml.Node, new: str) -> str:
    start, stop = node.start_mark.index, node.end_mark.index
    return text[:start] + new + text[stop:]


# ------------------------------------------------------------------ compare
COMPARE_PAIRS = 20_000  # buyers × nodes up to which the schedule and the pivot are compared too


def svg_image(figure: Any) -> str:
    """A matplotlib figure as an ``<img>`` holding its SVG as a data URI (self-contained, and
    its styles kept out of the page)."""
    import base64
    import io

    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue().encode()).decode()
    return f'<img alt="" src="data:image/svg+xml;base64,{data}">'


def _table(title: str, columns: list[str], rows: list[list[str]]) -> dict[str, Any]:
    return {"title": title, "columns": columns, "rows": rows}


def compare_json(model: TTPModel) -> dict[str, Any]:
    """The comparisons of the page's Compare tab, each a section with tables and pictures: the
    simulation of market / myopic / fcfs / lottery, the price fan, the supply schedule's welfare
    curve, and the mechanisms' revenue and payoffs beside the supporting prices."""
    from treemarket.ttp import solve
    from treemarket.ttp.mechanism import compare_mechanisms, dynamic_pivot, vcg
    from treemarket.ttp.schedule import schedule
    from treemarket.ttp.simulate import simulate
    from treemarket.viz.policies import plot_policies
    from treemarket.viz.prices import plot_price_fan

    solution = solve(model, range_time_limit=10.0)
    small = model.values.size <= COMPARE_PAIRS
    sections: list[dict[str, Any]] = []

    sim = simulate(model, solution)
    rows = sim.shown_rows()
    sections.append(
        {
            "title": f"simulation ({sim.mode}"
            + (f", {sim.paths} paths" if sim.paths else "")
            + ")",
            "tables": [
                _table(
                    f"policies under the same supply μ = {model.supply.tolist()}",
                    list(sim.SHOWN_COLUMNS),
                    rows,
                )
            ],
            "lines": [
                f"optimum [P0]: {sim.optimum:.10g}",
                f"the optimum is an equilibrium at the markets' prices ({sim.prices}): "
                f"{sim.supported}",
                *(f"note: {note}" for note in sim.notes),
            ],
            "images": [svg_image(plot_policies(sim))],
        }
    )
    sections.append(
        {
            "title": "price fan",
            "tables": [],
            "lines": [],
            "images": [svg_image(plot_price_fan(solution))],
        }
    )
    capacity = int(model.supply.sum())
    if small and capacity > 0 and not model.carry_over:
        result = schedule(model, capacity)
        curve = [
            [str(p["capacity"]), number(p["welfare"]), number(p.get("marginal"))]
            for p in result.curve
        ]
        sections.append(
            {
                "title": f"supply schedule (M = {capacity})",
                "tables": [
                    _table(
                        "welfare against capacity (marginal value of one more permit)",
                        ["M", "welfare", "marginal"],
                        curve,
                    )
                ],
                "lines": [
                    f"optimal schedule μ = {result.supply}, expected welfare {result.welfare:.10g}"
                ],
                "images": [svg_image(_curve_figure(result.curve))],
            }
        )
    if not small:
        sections.append(
            {
                "title": "schedule and mechanisms",
                "tables": [],
                "lines": [
                    f"note: the supply schedule and the mechanisms are compared up to "
                    f"{COMPARE_PAIRS:,} buyer × node pairs (treemarket ttp schedule and ttp "
                    "mechanism run at any size)"
                ],
                "images": [],
            }
        )
        return {"sections": sections}
    exact = solution if solution.method == "exact" else solve(model, "exact", price_ranges=False)
    vcg_result = vcg(model, exact)
    comparison = compare_mechanisms(
        model, exact, vcg_result=vcg_result, pivot_result=dynamic_pivot(model, exact), pivot=False
    )
    buyers = list(model.buyers)
    sections.append(
        {
            "title": "mechanisms beside the market's prices",
            "tables": [
                _table(
                    "comparison: revenue and expected payoffs",
                    ["mechanism", "revenue", *buyers],
                    [
                        [name, number(row["revenue"]), *(number(row["payoffs"][b]) for b in buyers)]
                        for name, row in comparison.rows.items()
                    ],
                )
            ],
            "lines": [f"note: {note}" for note in comparison.notes],
            "images": [],
        }
    )
    return {"sections": sections}


def _curve_figure(curve: list[dict[str, float]]) -> Any:
    from treemarket.viz.figure import new_axes

    figure, ax = new_axes(None, (5.0, 3.0))
    ax.plot([p["capacity"] for p in curve], [p["welfare"] for p in curve], marker="o")
    ax.set_xlabel("capacity M (permits in all)")
    ax.set_ylabel("expected welfare")
    ax.set_title("welfare of the optimal schedule")
    ax.grid(alpha=0.3)
    return figure


# ------------------------------------------------------------------ intermediation
RULES = ("leximin", "egalitarian", "nash")


def intermediation_json(tree: IntermediationTree, rule: str, file: str | None) -> dict[str, Any]:
    """The analysis of an intermediation tree under ``rule`` for the page: per node the price
    p_j it pays its parent (the edge's label), its utility u_j, whether it is squeezed (u < 0)
    and whether its price is 0 (p ≥ 0 binds); and the report's lines in the words of
    ``treemarket intermediation solve``."""
    from treemarket.intermediation import analyze
    from treemarket.intermediation.pricing import NashUndefinedError

    if rule not in RULES:
        raise ModelError("must be leximin, egalitarian or nash", place="rule")
    try:
        result = analyze(tree, rule=rule)
    except NashUndefinedError as exc:
        raise exc.located(file) from None
    pr, eq, pc = result.profitability, result.equal_utility, result.pricing
    nash = pc.nash_log_welfare
    lines = [
        f"{tree.n} nodes: the seller {tree.names[0]!r}, x = {tree.intermediaries} "
        f"intermediaries, r = {tree.customers} customers; t = r + x = {tree.transactions} "
        "transactions (Prop. 1)",
        f"Profitability {'✓' if pr.profitable else '✗'} Σb = {number(tree.total_limit)}, "
        f"s = {number(tree.seller_limit)}: {pr.verdict()}",
        f"Equal utility (system (14)): h = (Σb − s)/(t + 1) = {number(eq.h)} for everyone",
        f"Pricing: rule {pc.rule}, method {pc.method}",
        f"Welfare: utilitarian Σu = {number(pc.total_utility)}, egalitarian min u = "
        f"{number(pc.min_utility)}, Nash Σ log u = "
        f"{number(nash) if nash is not None else 'undefined'}; KKT certificate "
        f"{'ok' if pc.certificate.ok else 'failed'}",
    ]
    prices = pc.prices.astype(float)
    return {
        "lines": lines,
        "rule": pc.rule,
        "price": [None if j == 0 else float(prices[j]) for j in range(tree.n)],
        "utility": pc.utilities.astype(float).tolist(),
        "squeezed": (pc.utilities < 0).tolist(),
        "zero": [bool(j > 0 and prices[j] == 0.0) for j in range(tree.n)],
    }


# ------------------------------------------------------------------ studies
def study_json(path: str) -> dict[str, Any]:
    """A study's result store for the page: per metric family a table (a row per point of the
    sweep and metric: finished seeds n, mean and its 95% confidence interval) and the pictures
    of ``treemarket study report`` (mean and interval against each swept parameter)."""
    import pandas as pd

    from treemarket.study.report import (
        LEVEL,
        families,
        is_share,
        metric_axis,
        metric_title,
        picture_plan,
        results_frame,
        study_panels,
        summary_frame,
    )
    from treemarket.study.schema import load_study
    from treemarket.viz.study import plot_study

    study = load_study(path)
    frame = results_frame(study)
    if not len(frame):
        raise ModelError("nothing stored yet: run the study first", file=path)
    summary = summary_frame(study, frame)
    failed = int((frame["status"] != "done").sum())
    tables = []
    for family, members in families(study.metrics).items():
        part = summary[summary["metric"].isin([metric for _, metric in members])]
        columns = [*study.swept, "metric", "n", "mean", "ci_low", "ci_high"]

        def cell(value: Any) -> str:
            if isinstance(value, float):
                return "-" if math.isnan(value) else number(value, 4)
            return "-" if value is None or (value is pd.NA) else str(value)

        rows = [[cell(v) for v in row] for row in part[columns].itertuples(index=False)]
        title = f"{study.name}: {metric_title(family)}, mean and {int(LEVEL * 100)}% CI over seeds"
        tables.append(_table(title, columns, rows))
    done = frame[frame["status"] == "done"]
    images = []
    if len(done):
        for family, param, members in picture_plan(study):
            figure = plot_study(
                study_panels(study, done, param, members),
                xlabel=param,
                ylabel=metric_axis(family),
                title=f"{study.name}: {metric_title(family)}, mean and "
                f"{int(LEVEL * 100)}% CI over seeds",
                percent=is_share(family),
            )
            images.append(svg_image(figure))
    return {
        "name": study.name,
        "lines": [
            f"{len(frame)} of {len(study.tasks())} tasks stored, {failed} failed; store "
            f"{study.store}"
        ],
        "tables": tables,
        "images": images,
    }
