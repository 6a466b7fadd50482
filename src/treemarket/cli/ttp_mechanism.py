"""`treemarket ttp mechanism FILE --kind vcg|pivot`: truthful mechanisms and their revenue."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from treemarket.cli._common import console, emit_json, wrote
from treemarket.display import number
from treemarket.io.ttp_file import load_ttp
from treemarket.ttp.exact import solve_exact
from treemarket.ttp.mechanism import (
    MechanismComparison,
    PivotResult,
    VCGResult,
    compare_mechanisms,
    dynamic_pivot,
    vcg,
)

KINDS = ("vcg", "pivot")
PIVOT_COMPARE_LIMIT = 20_000  # buyers × nodes up to which --kind vcg also compares the pivot
MAX_PATH_ROWS = 16  # paths shown in the readable pivot report


def mechanism_command(
    file: Annotated[
        Path, typer.Argument(help="TTP model file (YAML or JSON).", show_default=False)
    ],
    kind: Annotated[
        str, typer.Option("--kind", help="vcg (static reports) | pivot (dynamic pivot)")
    ] = "vcg",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the JSON object (docs/json.md).")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", help="Write the JSON here atomically.")
    ] = None,
) -> None:
    """Truthful, individually rational mechanisms: VCG or the dynamic pivot, with payments and
    payoffs per buyer, revenue, and the comparison with the equilibrium prices."""
    kind = kind.lower()
    if kind not in KINDS:
        raise typer.BadParameter(f"{kind!r} is not one of vcg, pivot", param_hint="--kind")
    model = load_ttp(file)
    solution = solve_exact(model, price_ranges=False)
    vcg_result = vcg(model, solution)
    pivot_result = None
    if kind == "pivot" or model.n_buyers * model.tree.n_nodes <= PIVOT_COMPARE_LIMIT:
        pivot_result = dynamic_pivot(model, solution)
    comparison = compare_mechanisms(
        model, solution, vcg_result=vcg_result, pivot_result=pivot_result, pivot=False
    )
    if pivot_result is None:
        comparison.notes.append("the dynamic pivot was skipped: the model is large")
    result: VCGResult | PivotResult = vcg_result if kind == "vcg" else pivot_result  # type: ignore[assignment]
    if as_json or output is not None:
        data: dict[str, Any] = result.to_json()
        data["comparison"] = comparison.to_json()
        emit_json(data, output)
        if output is not None and not as_json:
            wrote(output)
        return
    print_mechanism(result, comparison)


def print_mechanism(result: VCGResult | PivotResult, comparison: MechanismComparison) -> None:
    """The readable report: payments and payoffs per buyer, revenue, IR, the comparison."""
    model = result.model
    name = f" of '{model.name}'" if model.name else ""
    title = "static VCG" if result.kind == "vcg" else "dynamic pivot (Bergemann–Välimäki)"
    console.rule(f"{title}{name}")
    console.print(model.summary(), markup=False)
    table = Table(title="expected payment and payoff per buyer (type: all its units)")
    for col in ("buyer", "count", "value", "payment", "payoff", "per unit paid", "per unit payoff"):
        table.add_column(col, justify="left" if col == "buyer" else "right")
    values = result.payments + result.payoffs
    for i, buyer in enumerate(model.buyers):
        table.add_row(
            buyer,
            str(int(model.counts[i])),
            number(values[i]),
            number(result.payments[i]),
            number(result.payoffs[i]),
            number(result.per_unit_payments[i]),
            number(result.per_unit_payoffs[i]),
        )
    console.print(table)
    console.print(f"expected welfare [P0]: {number(result.welfare, 10)}", markup=False)
    if isinstance(result, VCGResult):
        console.print(
            f"revenue: {number(result.revenue, 10)} (budget {result.balance}); each buyer pays "
            "W*_-i - (W* - w_i), the welfare she costs the others",
            markup=False,
        )
    else:
        _print_pivot(result)
    _print_comparison(model.buyers, comparison)


def _print_pivot(result: PivotResult) -> None:
    model = result.model
    tree = model.tree
    console.print(
        f"expected revenue: {number(result.revenue, 10)} "
        "(paid node by node as the externality arises)",
        markup=False,
    )
    verdict = "holds" if result.individually_rational() else "FAILS"
    console.print(
        f"periodic individual rationality (expected payoff from every node on ≥ 0): {verdict}, "
        f"smallest {result.min_continuation():.6g}",
        markup=False,
    )
    negative = result.negative_paths()
    if negative.max() > 0:
        shares = zip(model.buyers, negative.tolist(), strict=True)
        who = ", ".join(f"{b} ({number(p, 3)})" for b, p in shares if p > 0)
        console.print(
            f"realised payoffs below 0 on some paths (probability): {who}; they paid while "
            "waiting and did not buy",
            markup=False,
        )
    paths = Table(title="realised along each path: total paid → payoff (per time in --json)")
    paths.add_column("path")
    paths.add_column("prob", justify="right")
    for buyer in model.buyers:
        paths.add_column(buyer, justify="right")
    paid = result.path_payments.sum(axis=2)
    leaves = tree.leaves.tolist()
    for k, leaf in enumerate(leaves[:MAX_PATH_ROWS]):
        cells = [
            f"{number(paid[i, k], 4)} → {number(result.path_payoffs[i, k], 4)}"
            for i in range(model.n_buyers)
        ]
        paths.add_row(",".join(tree.event(leaf)), number(float(tree.prob[leaf]), 4), *cells)
    if len(leaves) > MAX_PATH_ROWS:
        paths.caption = f"first {MAX_PATH_ROWS} of {len(leaves)} paths (all in --json)"
    console.print(paths)


def _print_comparison(buyers: list[str], comparison: MechanismComparison) -> None:
    table = Table(title="comparison: revenue and expected payoffs")
    table.add_column("mechanism")
    table.add_column("revenue", justify="right")
    for buyer in buyers:
        table.add_column(buyer, justify="right")
    for name, row in comparison.rows.items():
        table.add_row(name, number(row["revenue"]), *(number(row["payoffs"][b]) for b in buyers))
    console.print(table)
    for note in comparison.notes:
        console.print(f"[bold yellow]note[/bold yellow]: {note}")
