"""`treemarket intermediation ...`: profitability and welfare pricing of intermediation trees."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from treemarket.cli._common import console, emit_json, wrote
from treemarket.display import number
from treemarket.intermediation import (
    Analysis,
    IntermediationTree,
    NashUndefinedError,
    analyze,
    format_products,
)
from treemarket.io.intermediation_file import load_intermediation

if TYPE_CHECKING:
    from matplotlib.figure import Figure

app = typer.Typer(
    rich_markup_mode="markdown",
    help="Intermediation trees: profitability and welfare-optimal prices.",
    no_args_is_help=True,
)

FileArg = typer.Argument(..., help="Intermediation model file (YAML or JSON).", show_default=False)

#: Rows of the per-node table and chains printed before "… and N more".
SHOW_MAX = 40


class RuleChoice(StrEnum):
    leximin = "leximin"
    egalitarian = "egalitarian"
    nash = "nash"


class MethodChoice(StrEnum):
    auto = "auto"
    waterfill = "waterfill"
    heap = "heap"
    lp = "lp"
    cvxpy = "cvxpy"


class FormatChoice(StrEnum):
    png = "png"
    svg = "svg"


RuleOpt = typer.Option(
    RuleChoice.leximin,
    "--rule",
    help="leximin (lexicographic max-min utilities), egalitarian (max min u), nash (max Σ log u).",
)


def _analyze(file: Path, rule: str, method: str = "auto") -> Analysis:
    tree = load_intermediation(file)
    try:
        return analyze(tree, rule=rule, method=method)
    except NashUndefinedError as exc:
        raise exc.located(str(file)) from None
    except ValueError as exc:  # a rule/method combination that does not exist
        raise typer.BadParameter(str(exc), param_hint="'--method'") from None


@app.command("solve")
def solve_command(
    file: Path = FileArg,
    rule: RuleChoice = RuleOpt,
    method: MethodChoice = typer.Option(
        MethodChoice.auto,
        "--method",
        help="auto (equal-utility prices when ≥ 0, else water-filling); lp or cvxpy: the "
        "general solvers, as a check.",
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the result as JSON (keys in docs/json.md)."
    ),
    output: Path | None = typer.Option(None, "--output", help="Write the JSON here atomically."),
) -> None:
    """Chains, collective profitability, equal-utility prices and the optimal prices."""
    result = _analyze(file, rule.value, method.value)
    if as_json or output is not None:
        emit_json(result.to_json(), output)
        if output is not None and not as_json:
            wrote(output)
        return
    print_report(result, source=str(file))


@app.command("plot")
def plot_command(
    file: Path = FileArg,
    out: Path = typer.Option(Path("out"), "--out", help="Folder for the picture."),
    format: FormatChoice = typer.Option(FormatChoice.png, "--format", help="png or svg."),
    rule: RuleChoice = RuleOpt,
) -> None:
    """Draw the tree like the paper's Fig. 1a: products and limits on the nodes, prices on the
    edges, utilities on the nodes (edges priced 0 dashed)."""
    result = _analyze(file, rule.value)
    path = out / f"{file.stem}.{format.value}"
    write_picture(result, path, format.value)
    wrote(path)


def write_picture(result: Analysis, path: Path, fmt: str = "png") -> Figure:
    """Draw ``result`` (:func:`treemarket.viz.intermediation.draw_tree`) and write the picture
    atomically: complete or absent. Returns the figure written."""
    from treemarket.viz.figure import save
    from treemarket.viz.intermediation import draw_tree

    figure = draw_tree(result)
    save(figure, path.with_suffix(f".{fmt}"), dpi=150, tight=False)
    return figure


def _chain_text(tree: IntermediationTree, chain: list[str]) -> str:
    leaf = tree.index[chain[-1]]
    return " → ".join(chain) + f"   {format_products(tree.products_of(leaf))}"


def print_report(result: Analysis, source: str | None = None) -> None:
    """The readable report of ``solve``."""
    tree, pr, eq, pc = result.tree, result.profitability, result.equal_utility, result.pricing
    names = tree.names
    title = tree.name or (Path(source).stem if source else "intermediation tree")
    console.rule(f"[bold]{title}[/bold]" + (f"  ({source})" if source else ""))
    console.print(
        f"{tree.n} nodes: the seller {names[0]!r}, x = {tree.intermediaries} intermediaries, "
        f"r = {tree.customers} customers; t = r + x = {tree.transactions} transactions (Prop. 1)"
    )
    chains = tree.chains()
    console.print(f"[bold]Chains[/bold] ({len(chains)}, one per customer):")
    for chain in chains[:SHOW_MAX]:
        console.print("  " + _chain_text(tree, chain), markup=False)
    if len(chains) > SHOW_MAX:
        console.print(f"  … and {len(chains) - SHOW_MAX} more (see --json)")

    mark = "[green]✓[/green]" if pr.profitable else "[red]✗[/red]"
    console.print(
        f"[bold]Profitability[/bold] {mark} Σb = {number(tree.total_limit)}, "
        f"s = {number(tree.seller_limit)}: {pr.verdict()}"
    )
    console.print(
        "[bold]Equal utility[/bold] (system (14)): h = (Σb − s)/(t + 1) = "
        f"{number(eq.h)} for everyone"
    )
    if not pr.profitable:
        console.print(
            "  h < 0: everyone bears the same share of the shortfall, and the prices are all "
            "> 0; no prices do better for the worst-off (leximin, egalitarian); Nash welfare is "
            "undefined."
        )
    elif eq.nonnegative:
        console.print(
            "  all prices ≥ 0: Prop. 3 applies, they maximize egalitarian, Nash and every "
            "symmetric concave welfare."
        )
    else:
        neg = [names[i] for i in eq.negative.tolist()]
        shown = ", ".join(neg[:10]) + (f", … ({len(neg)})" if len(neg) > 10 else "")
        console.print(
            f"  negative price for {shown}: Prop. 3 does not apply (the case the paper leaves "
            "open); the optimal prices under p ≥ 0 follow."
        )

    console.print(f"[bold]Pricing[/bold]: rule [cyan]{pc.rule}[/cyan], method {pc.method}")
    if pr.profitable and (pc.rule != "egalitarian" or pc.unique):
        console.print(
            "  one point is optimal for leximin, Nash and every symmetric concave welfare: "
            "utilities never rise down the tree and drop only below an edge priced 0"
        )
    if not pc.unique and pc.low is not None and pc.high is not None:
        spread = [i for i in range(tree.n) if pc.high[i] - pc.low[i] > 1e-9 * tree.unit]
        console.print(
            "  the egalitarian optimum is [bold]not unique[/bold]: min u = "
            f"{number(pc.min_utility)} "
            f"is also reached with other prices, under which {len(spread)} utilities vary as "
            "below (shown: the leximin representative)"
        )
        for i in spread[:10]:
            console.print(f"    {names[i]}: u in [{number(pc.low[i])}, {number(pc.high[i])}]")
        if len(spread) > 10:
            console.print(f"    … and {len(spread) - 10} more (see --json)")

    table = Table(title="prices and utilities per node (the tree in preorder)")
    table.add_column("node")
    table.add_column("products")
    table.add_column("limit")
    table.add_column("pays p", justify="right")
    table.add_column("utility u", justify="right")
    table.add_column("(14): p", justify="right")
    for i in range(min(tree.n, SHOW_MAX)):
        limit = ""
        if i == 0:
            limit = f"s = {number(float(tree.limit[0]))}"
        elif tree.is_leaf[i]:
            limit = f"b = {number(float(tree.limit[i]))}"
        paid = "" if i == 0 else number(float(pc.prices[i]))
        u = float(pc.utilities[i])
        util = f"[red]{number(u)}[/red]" if u < 0 else number(u)
        eqp = "" if i == 0 else number(float(eq.prices[i]))
        if i and eq.prices[i] < 0:
            eqp = f"[red]{eqp}[/red]"
        node = "  " * int(tree.depth[i]) + names[i]
        table.add_row(node, format_products(tree.products_of(i)), limit, paid, util, eqp)
    console.print(table)
    if tree.n > SHOW_MAX:
        console.print(f"… and {tree.n - SHOW_MAX} more nodes (see --json)")
    nash = pc.nash_log_welfare
    nash_text = number(nash) if nash is not None else "undefined"
    console.print(
        f"Welfare: utilitarian Σu = {number(pc.total_utility)}, egalitarian min u = "
        f"{number(pc.min_utility)}, Nash Σ log u = {nash_text}"
        f"; KKT certificate {'[green]ok[/green]' if pc.certificate.ok else '[red]failed[/red]'}"
    )


def demo(out: Path) -> None:
    """Report on every bundled intermediation example and write its picture into ``out``."""
    from treemarket.examples import bundled_examples, example_path

    for name in bundled_examples():
        if not (name.startswith("intermediation-") and name.endswith(".yaml")):
            continue
        path = example_path(name)
        result = _analyze(path, "leximin")
        print_report(result, source=name)
        picture = out / f"{path.stem}.png"
        write_picture(result, picture, "png")
        wrote(picture)
