"""`treemarket tree ...`: scenario trees from data (paths -> tree) and back (tree -> paths)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.table import Table

from treemarket.cli._common import console, emit_json, wrote
from treemarket.display import number
from treemarket.errors import ModelError

app = typer.Typer(
    help="Scenario trees from data: build a tree from observed paths, evaluate it on others.",
    rich_markup_mode="markdown",
)

PathsArg = typer.Argument(..., help="CSV of paths (wide or long layout).", show_default=False)


def parse_branching(text: str, place: str = "--branching", least: int = 1) -> list[int]:
    """``"3,3,2"`` -> ``[3, 3, 2]``; anything else is a one-line error naming the option."""
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise ModelError(f"expected numbers like 3,3,2, got {text!r}", place=place) from None
    for k, v in enumerate(values):
        if v < least:
            raise ModelError(f"must be ≥ {least}, got {v}", place=f"{place}[{k}]")
    return values


def _names(text: str | None) -> list[str] | None:
    return None if text is None else [p.strip() for p in text.split(",") if p.strip()]


def _words(items: list[str] | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in items or []:
        var, sep, rest = item.partition("=")
        if not sep or not var.strip() or not rest.strip():
            raise ModelError(f"expected VAR=word,word,..., got {item!r}", place="--words")
        out[var.strip()] = [w.strip() for w in rest.split(",")]
    return out


@app.command("windows")
def windows_command(
    series: Path = typer.Argument(..., help="CSV time series, one row per period."),
    length: int = typer.Option(..., "--length", help="Periods per path (T + 1)."),
    out: Path = typer.Option(..., "--out", help="The paths CSV to write (wide layout)."),
    time: str = typer.Option("date", "--time", help="The time column."),
    start: str | None = typer.Option(None, "--start", help="First time kept (e.g. 2012-01-01)."),
    end: str | None = typer.Option(None, "--end", help="Last time kept (e.g. 2014-12-31)."),
    columns: str | None = typer.Option(None, "--columns", help="Columns kept (default: all)."),
) -> None:
    """Cut a history into paths: every run of `--length` consecutive periods is one path."""
    from treemarket.io.path_table import write_windows

    count = write_windows(
        series, out, length, time=time, start=start, end=end, columns=_names(columns)
    )
    console.print(f"{count} paths of {length} periods", markup=False)
    wrote(out)


@app.command("build")
def build_command(
    paths: Path = PathsArg,
    branching: str = typer.Option(..., "--branching", help="Children per node and time: 3,3,2."),
    method: str = typer.Option("cluster", "--method", help="cluster | reduce"),
    scenarios: int | None = typer.Option(None, "--scenarios", help="reduce: paths kept."),
    tolerance: float | None = typer.Option(
        None, "--tolerance", help="reduce: keep as few paths as keep this Kantorovich distance."
    ),
    variables: str | None = typer.Option(None, "--variables", help="Variables (default: all)."),
    history: bool = typer.Option(False, "--history", help="Cluster on the whole history."),
    seed: int = typer.Option(0, "--seed", help="The k-means seed."),
    words: list[str] | None = typer.Option(
        None, "--words", help="Label words by quantile, e.g. precipitation=dry,wet."
    ),
    layout: str = typer.Option("auto", "--layout", help="auto | wide | long"),
    path_column: str | None = typer.Option(None, "--path-column", help="long: path ids."),
    time_column: str | None = typer.Option(None, "--time-column", help="long: the times."),
    nested: bool = typer.Option(True, "--nested/--no-nested", help="The nested distance."),
    out: Path | None = typer.Option(
        None, "--out", help="Write the tree here: FILE.json, or a model FILE.yaml (--value)."
    ),
    values: list[str] | None = typer.Option(
        None, "--value", help="A buyer and her rule, e.g. 'picnic=clip(10 - 2*rain, 0, 10)'."
    ),
    supply: str | None = typer.Option(None, "--supply", help="μ(0..T) of the model: 1,1,1,1."),
    as_json: bool = typer.Option(False, "--json", help="Print the JSON object."),
) -> None:
    """Fit a scenario tree to observed paths; print its size and its distances to the data.

    With `--out FILE.yaml`, `--supply` and a `--value` per buyer, write the fitted tree as a TTP
    model of the tree form (each leaf's values the mean of the rules over its paths): a file
    every `ttp` command reads without the paths.
    """
    from treemarket.io.path_table import read_path_table
    from treemarket.scenario.fit import METHODS, fit_tree

    as_model = out is not None and out.suffix.lower() in (".yaml", ".yml")
    if as_model and (not values or supply is None):
        raise ModelError("a model file needs --supply and a --value per buyer", place="--out")
    if not as_model and (values or supply is not None):
        raise ModelError("--value and --supply go with --out FILE.yaml", place="--value")
    if method not in METHODS:
        raise ModelError("must be cluster or reduce", place="--method")
    if layout not in ("auto", "wide", "long"):
        raise ModelError("must be auto, wide or long", place="--layout")
    ks = parse_branching(branching)
    table = read_path_table(
        paths,
        variables=_names(variables),
        layout=layout,  # type: ignore[arg-type]
        path_column=path_column,
        time_column=time_column,
    )
    try:
        fitted = fit_tree(
            table.data,
            ks,
            method=method,  # type: ignore[arg-type]
            scenarios=scenarios,
            tolerance=tolerance,
            history=history,
            seed=seed,
            words=_words(words),
        )
    except ModelError as exc:
        place = exc.place.replace("branching", "--branching").replace("words", "--words")
        raise ModelError(exc.message, file=str(paths), place=place) from None
    dist = fitted.distances(table.data, nested=nested)
    result = {**fitted.to_json(), "paths": table.data.n_paths, "distances": dist.to_json()}
    if as_model and out is not None:
        write_model(
            out, fitted, table, values or [], parse_branching(supply or "", "--supply", least=0)
        )
    elif out is not None:
        from treemarket.io.common import write_json

        write_json(out, result)
    if as_json:
        emit_json(result, None)
        return
    print_build(fitted, dist, table.data.n_paths)
    if out is not None:
        wrote(out)


def write_model(out: Path, fitted: Any, table: Any, values: list[str], supply: list[int]) -> None:
    """The fitted tree as a TTP model of the tree form, values from the ``--value`` rules."""
    import yaml

    from treemarket.io.common import write_text
    from treemarket.io.formula import Formula, FormulaError
    from treemarket.io.ttp_file import rule_values, to_tree_dict
    from treemarket.scenario import ScenarioTree
    from treemarket.ttp.model import TTPModel
    from treemarket.ttp.outofsample import model_on

    rules: dict[str, Formula] = {}
    for item in values:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise ModelError(f"expected NAME=FORMULA, got {item!r}", place="--value")
        try:
            rules[name.strip()] = Formula.parse(text)
        except FormulaError as exc:
            raise ModelError(str(exc), place=f"--value {name.strip()}") from None
    horizon = fitted.tree.horizon
    if len(supply) != horizon + 1:
        raise ModelError(
            f"needs {horizon + 1} numbers (times 0..{horizon}), got {len(supply)}", place="--supply"
        )
    buyers = list(rules)
    path_values = rule_values(rules, buyers, table)
    base = TTPModel.from_arrays(
        ScenarioTree.from_paths([[0] * (horizon + 1)])[0],
        buyers,
        supply,
        np.zeros((len(buyers), 1)),
        name=out.stem,
    )
    model = model_on(base, fitted, path_values)
    text = yaml.safe_dump(to_tree_dict(model), sort_keys=False, allow_unicode=True)
    write_text(out, f"# fitted by treemarket tree build from {table.file}\n{text}")


def print_build(fitted: Any, dist: Any, n_paths: int) -> None:
    """The tree's size per time and its distances to the data."""
    tree = fitted.tree
    console.rule(f"tree fitted by {fitted.method} to {n_paths} paths")
    table = Table(title=f"nodes and distances to the data per time (branching {fitted.branching})")
    table.add_column("time", justify="right")
    table.add_column("nodes", justify="right")
    for name in fitted.variables:
        table.add_column(f"W1 {name}", justify="right")
    table.add_column("W1 joint (std)", justify="right")
    for t in range(tree.horizon + 1):
        level = tree.level(t)
        table.add_row(
            str(t),
            str(level.stop - level.start),
            *(number(dist.w1[t][v], 4) for v in fitted.variables),
            number(dist.joint[t], 4),
        )
    console.print(table)
    leaves = tree.leaves
    top = leaves[np.argsort(-tree.prob[leaves], kind="stable")][:5]
    names = tree.node_names()
    most = Table(title=f"the most probable of {tree.n_leaves} scenarios")
    most.add_column("scenario")
    most.add_column("probability", justify="right")
    for leaf in top.tolist():
        most.add_row(names[leaf], f"{tree.prob[leaf]:.1%}")
    console.print(most)
    nested = "not computed" if dist.nested is None else number(dist.nested, 4)
    console.print(
        f"{tree.n_nodes} nodes, {tree.n_leaves} scenarios; nested distance to the data "
        f"(std units): {nested}",
        markup=False,
    )
    for note in [*fitted.notes, *dist.notes]:
        console.print(f"note: {note}", markup=False)


@app.command("evaluate")
def evaluate_command(
    model_file: Path = typer.Argument(..., help="TTP model file of the data form."),
    paths: Path = PathsArg,
    sizes: list[str] | None = typer.Option(
        None, "--sizes", help="Also fit trees of these branchings (repeat: --sizes 2,2,2)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the random orders and lotteries."),
    plot: Path | None = typer.Option(None, "--plot", help="Draw welfare against tree size."),
    as_json: bool = typer.Option(False, "--json", help="Print the JSON object."),
) -> None:
    """Run the tree's policy and the simpler designs on held-out paths (out of sample)."""
    from treemarket.io.ttp_file import load_data_model
    from treemarket.ttp.outofsample import size_curve

    dm = load_data_model(model_file)
    held_out = dm.read_paths(paths)
    spec = dm.spec
    branchings = [list(spec.branching)] + [parse_branching(s, "--sizes") for s in (sizes or [])]
    seen: list[list[int]] = []
    for b in branchings:
        if b not in seen:
            seen.append(b)
    try:
        points = size_curve(
            dm.model,
            dm.table.data,
            dm.path_values(dm.table),
            held_out.data,
            dm.path_values(held_out),
            seen,
            seed=seed,
            fit_seed=spec.seed,
            method=spec.method,
            scenarios=spec.scenarios,
            tolerance=spec.tolerance,
            history=spec.history,
        )
    except ModelError as exc:
        raise ModelError(exc.message, file=str(model_file), place="--sizes") from None
    if plot is not None:
        from treemarket.viz.figure import save
        from treemarket.viz.outofsample import plot_size_curve

        save(plot_size_curve(points), plot)
    if as_json:
        emit_json(
            {
                "model": dm.model.name,
                "training_paths": dm.table.data.n_paths,
                "held_out_paths": held_out.data.n_paths,
                "sizes": [p.to_json() for p in points],
            },
            None,
        )
        return
    print_evaluation(dm.model.name, points, dm.table.data.n_paths, held_out.data.n_paths)
    if plot is not None:
        wrote(plot)


def print_evaluation(name: str, points: list[Any], n_train: int, n_test: int) -> None:
    """The model's own tree in full, then one line per tree size."""
    first = points[0]
    console.rule(
        f"'{name}': tree {'×'.join(map(str, first.branching))} ({first.nodes} nodes), "
        f"{n_train} training paths, {n_test} held-out paths"
    )
    table = Table(title="mean welfare per path: in sample (training) and out of sample (held out)")
    columns = ("policy", "in sample", "out of sample", "± s.e.", "− tree (± s.e.)", "of optimum")
    for col in (*columns, "revenue", "unsold"):
        table.add_column(col, justify="left" if col == "policy" else "right")
    versus = first.out_of_sample.versus_tree
    for policy, out in first.out_of_sample.policies.items():
        inside = first.in_sample.policies[policy]
        diff = versus.get(policy)
        table.add_row(
            policy,
            number(inside.welfare, 5),
            number(out.welfare, 5),
            number(out.welfare_se, 2),
            "" if diff is None else f"{number(diff['difference'], 3)} ({number(diff['se'], 2)})",
            f"{out.efficiency:.1%}",
            number(out.revenue, 5),
            number(out.unsold, 3),
        )
    console.print(table)
    promise = (
        "the optimum [P0] on the tree"
        if first.gap == 0
        else f"the best assignment found on the tree, within {first.gap:.2g} of [P0]"
    )
    console.print(
        f"the tree promises {number(first.optimum, 6)} ({promise}); its policy "
        f"gives {number(first.in_sample.policies['tree'].welfare, 6)} on the training paths and "
        f"{number(first.out_of_sample.policies['tree'].welfare, 6)} on the held-out ones",
        markup=False,
    )
    if len(points) > 1:
        sizes = Table(title="by tree size: the optimum and the held-out welfare of the policies")
        sizes.add_column("branching")
        sizes.add_column("nodes", justify="right")
        sizes.add_column("optimum", justify="right")
        policies = list(first.out_of_sample.policies)
        for policy in policies:
            sizes.add_column(policy, justify="right")
        for p in sorted(points, key=lambda p: p.nodes):
            sizes.add_row(
                "×".join(map(str, p.branching)),
                str(p.nodes),
                number(p.optimum, 5),
                *(number(p.out_of_sample.policies[k].welfare, 5) for k in policies),
            )
        console.print(sizes)
