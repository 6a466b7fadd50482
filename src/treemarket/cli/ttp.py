"""`treemarket ttp ...`: solve TTP models and print or write the results."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.table import Table

from treemarket.cli._common import console, emit_json, wrote
from treemarket.display import number
from treemarket.errors import ModelError
from treemarket.io.ttp_file import load_ttp
from treemarket.ttp import ExactOptions, MarketOptions, TTPModel, TTPSolution, solve
from treemarket.ttp.dispatch import METHODS
from treemarket.ttp.formulation import FORMULATIONS
from treemarket.ttp.result import Which
from treemarket.ttp.simulate import SimulationResult

app = typer.Typer(
    help="Tradable time-specific permits: optimal assignment and prices.",
    rich_markup_mode="markdown",
)

ROWS = 10  # rows of a long table shown by default (--full: all)
ALL_ROWS = 20  # a table up to this long is shown whole
SHORT_OF_TARGET = 3  # exit status: an answer, but a limit stopped the solver short of its target
RANGE_SECONDS = 10.0  # price ranges by default: given up (and said so) past this many seconds
FileArg = typer.Argument(..., help="TTP model file (YAML or JSON).", show_default=False)


@app.command("solve")
def solve_command(
    file: Path = FileArg,
    method: str = typer.Option("auto", help="exact | market | auto"),
    target_gap: float = typer.Option(1e-3, "--target-gap", help="market: stop at this gap."),
    time_limit: float = typer.Option(
        600.0, "--time-limit", help="Seconds for the solve (either method; then the best answer)."
    ),
    formulation: str = typer.Option("path", help="path | z (the exact solver's formulation)"),
    ranges: bool | None = typer.Option(
        None,
        "--ranges/--no-ranges",
        help=f"Price range per node (default: within {RANGE_SECONDS:g} s, else not shown).",
    ),
    option_values: bool = typer.Option(False, "--option-values", help="Add ψ to the JSON."),
    full: bool = typer.Option(
        False, "--full", help="Print every row, and list every event whole in the JSON."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the JSON object (docs/json.md)."),
    output: Path | None = typer.Option(None, "--output", help="Write the JSON here atomically."),
) -> None:
    """Optimal assignment of [P0], the LP bound of [P1], and the supporting prices."""
    if method not in METHODS:
        raise ModelError("must be exact, market or auto", place="--method")
    if formulation not in FORMULATIONS:
        raise ModelError("must be path or z", place="--formulation")
    model = load_ttp(file)
    exact = ExactOptions(
        formulation=formulation,
        price_ranges=ranges is not False,
        range_time_limit=RANGE_SECONDS if ranges is None else float("inf"),
        time_limit=time_limit,
    )
    market = MarketOptions(target_gap=target_gap, time_limit=time_limit)
    solution = _solve_with_progress(model, method, exact, market, quiet=as_json)
    if as_json or output is not None:
        emit_json(solution.to_json(option_values=option_values, full=full), output)
        if output is not None and not as_json:
            wrote(output)
    else:
        print_solution(solution, full)
    if not solution.reached:
        raise typer.Exit(SHORT_OF_TARGET)


@app.command("simulate")
def simulate_command(
    file: Path = FileArg,
    paths: int | None = typer.Option(None, "--paths", help="Sample N paths instead."),
    seed: int = typer.Option(0, "--seed", help="Seed of sampled paths and random orders."),
    draws: int = typer.Option(64, "--draws", help="Random orders per scenario (fcfs, lottery)."),
    prices: str = typer.Option("low", "--prices", help="low | high supporting prices."),
    posted_price: float = typer.Option(0.0, "--posted-price", help="fcfs/lottery price."),
    trades: Path | None = typer.Option(
        None, "--trades", help="Write the market's trades per path to this CSV."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the JSON object (docs/json.md)."),
    output: Path | None = typer.Option(None, "--output", help="Write the JSON here atomically."),
) -> None:
    """Run the sequential markets against myopic, FCFS (Fastpass) and lottery hand-outs."""
    from rich.progress import Progress

    from treemarket.ttp.simulate import POLICIES, simulate

    if prices not in ("low", "high"):
        raise ModelError("must be low or high", place="--prices")
    which: Which = "high" if prices == "high" else "low"
    model = load_ttp(file)
    solution = solve(model, price_ranges=False)
    runs = 2 + (2 * (1 if paths else draws))
    with Progress(transient=True, disable=as_json or runs < 50) as bar:
        task = bar.add_task("simulating", total=runs)
        result = simulate(
            model,
            solution,
            policies=POLICIES,
            paths=paths,
            seed=seed,
            draws=draws,
            prices=which,
            posted_price=posted_price,
            record_trades=trades is not None,
            progress=lambda k: bar.advance(task, k),
        )
    if trades is not None:
        write_trades(trades, result.trades)
        if not as_json:
            wrote(trades)
    if as_json or output is not None:
        emit_json(result.to_json(), output)
        if output is not None and not as_json:
            wrote(output)
        return
    print_simulation(model, result)


def write_trades(path: Path, rows: list[dict[str, Any]]) -> None:
    """The market's trades, one CSV row per path, time and buyer served."""
    import csv

    from treemarket.io.common import write_atomic

    columns = ["path", "scenario", "time", "buyer", "units", "price", "value"]

    def write(handle: Any) -> None:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)

    write_atomic(path, write)


def print_simulation(model: TTPModel, result: SimulationResult) -> None:
    """The readable simulation report: policies side by side, payoffs, the equilibrium verdict."""
    console.rule(
        f"simulation of '{model.name}' ({result.mode}"
        + (f", {result.paths} paths" if result.paths else "")
        + ")"
    )
    table = Table(title=f"policies under the same supply μ = {model.supply.tolist()}")
    for col in result.SHOWN_COLUMNS:
        table.add_column(col, justify="left" if col == "policy" else "right")
    for row in result.shown_rows():
        table.add_row(*row)
    console.print(table)
    buyers = list(model.buyers)
    if len(buyers) > ALL_ROWS:  # the buyers with the largest payoff in the markets
        market = next(iter(result.policies.values())).payoffs
        buyers = sorted(buyers, key=lambda b: -market[b])[:ROWS]
    payoffs = Table(
        title="expected payoff per buyer (per type: all its units)"
        + ("" if len(buyers) == model.n_buyers else f": the {ROWS} largest of {model.n_buyers}")
    )
    payoffs.add_column("buyer")
    for name in result.policies:
        payoffs.add_column(name, justify="right")
    for buyer in buyers:
        payoffs.add_row(buyer, *(number(o.payoffs[buyer]) for o in result.policies.values()))
    console.print(payoffs)
    if len(buyers) < model.n_buyers:
        console.print(f"… {model.n_buyers - len(buyers)} more buyers (--json has them all)")
    console.print(f"optimum [P0]: {result.optimum:.10g}")
    console.print(
        f"the optimum is an equilibrium at the markets' prices ({result.prices}): "
        f"{result.supported}"
    )
    for note in result.notes:
        console.print(f"[bold yellow]note[/bold yellow]: {note}")


@app.command("schedule")
def schedule_command(
    file: Path = FileArg,
    capacity: int = typer.Option(..., "--capacity", help="Total permits M = Σ_t μ(t)."),
    lower: str | None = typer.Option(None, "--min", help="Lower bounds per time, e.g. 0,0,1"),
    upper: str | None = typer.Option(None, "--max", help="Upper bounds per time, e.g. 2,2,9"),
    as_json: bool = typer.Option(False, "--json", help="Print the JSON object (docs/json.md)."),
    output: Path | None = typer.Option(None, "--output", help="Write the JSON here atomically."),
) -> None:
    """The supply schedule μ(0..T) with Σ μ ≤ M that maximizes expected welfare, exactly."""
    from treemarket.ttp.schedule import schedule

    model = load_ttp(file)
    if capacity < 0:
        raise ModelError("must be a non-negative integer", place="--capacity")
    lo = _bounds(lower, model.horizon, "--min")
    hi = _bounds(upper, model.horizon, "--max")
    try:
        result = schedule(model, capacity, lo, hi)
    except ValueError as exc:
        raise ModelError(str(exc), place="--min/--max") from None
    if as_json or output is not None:
        emit_json(result.to_json(), output)
        if output is not None and not as_json:
            wrote(output)
        return
    console.rule(f"supply schedule for '{model.name}' (M = {capacity})")
    console.print(f"optimal schedule μ = {result.supply}, expected welfare {result.welfare:.10g}")
    if result.all_at_exercise is not None:
        same = abs(result.all_at_exercise - result.welfare) <= 1e-9 * max(1, abs(result.welfare))
        console.print(
            f"everything at T gives {result.all_at_exercise:.10g}"
            + (" (also optimal)" if same else " (worse: early sales pay here)")
        )
    if result.revenue:
        console.print(
            "revenue at the supporting prices: "
            + ", ".join(f"{k} {v:.6g}" for k, v in result.revenue.items())
        )
    table = Table(title="welfare against capacity (marginal value of one more permit)")
    for col in ("M", "welfare", "marginal"):
        table.add_column(col, justify="right")
    for point in result.curve:
        table.add_row(
            str(point["capacity"]), number(point["welfare"]), number(point.get("marginal"))
        )
    console.print(table)


def _bounds(text: str | None, horizon: int, option: str) -> list[int] | None:
    if text is None:
        return None
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise ModelError("takes integers separated by commas", place=option) from None
    if len(values) != horizon + 1 or min(values) < 0:
        raise ModelError(f"needs {horizon + 1} non-negative integers", place=option)
    return values


def _solve_with_progress(
    model: TTPModel, method: str, exact: ExactOptions, market: MarketOptions, quiet: bool
) -> TTPSolution:
    """Solve; a progress line with the elapsed time and, while the market solver or branch
    and bound runs, its bound, welfare and gap."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, transient=True, disable=quiet) as bar:
        task = bar.add_task("solving", total=None)

        def report(iteration: int, upper: float, lower: float, gap: float) -> None:
            bar.update(
                task,
                description=f"it {iteration}: bound {upper:.6g}, welfare "
                f"{lower:.6g}, gap {gap:.2e}",
            )

        return solve(model, method, exact=exact, market=market, progress=report)


def print_solution(solution: TTPSolution, full: bool = False) -> None:
    """The readable report: who buys when and where, prices, welfare, bound, integrality. Tables
    longer than :data:`ALL_ROWS` show their :data:`ROWS` most probable rows (most expected
    value for purchases) and say how many are left out, unless ``full``."""
    model = solution.model
    title = f"TTP '{model.name}'" if model.name else "TTP"
    console.rule(title)
    console.print(model.summary())
    rows = solution.assignment_rows()
    table = Table(title=_title("assignment (who buys when and where)", len(rows), full))
    for col in ("buyer", "time", "node", "probability", "value"):
        table.add_column(col, justify="left" if col in ("buyer", "node") else "right")
    for row in _shown(rows, full, key=lambda r: r["probability"] * abs(r["value"])):
        buyer = row["buyer"] + (f" ×{row['count']}" if "count" in row else "")
        table.add_row(
            buyer,
            str(row["time"]),
            row["node"],
            number(row["probability"]),
            number(row["value"]),
        )
    console.print(table)
    _more(len(rows), full)
    price_rows = solution.price_rows()
    if len(price_rows) > ALL_ROWS and not full:
        console.print(_price_summary(price_rows))
    prices = Table(title=_title(_price_title(solution), len(price_rows), full))
    for col in ("time", "node", "supply", "sold", "min", "max"):
        prices.add_column(col, justify="left" if col == "node" else "right")
    for row in _shown(price_rows, full, key=lambda r: r["probability"]):
        high = "any" if row["max"] is None else number(row["max"])
        prices.add_row(
            str(row["time"]),
            row["node"],
            str(row["supply"]),
            number(row["sold"]),
            number(row["min"]),
            high,
        )
    console.print(prices)
    _more(len(price_rows), full)
    for label, text in solution.certificate_lines():
        if label.startswith("expected welfare"):
            console.print(f"{label} [bold]{text}[/bold]")
        else:
            console.print(f"{label:<22} {text}", markup=False)
    for note in solution.report_notes():
        console.print(f"[bold yellow]note[/bold yellow]: {note}")
    if solution.y_lp is not None:
        rows = solution.lottery_rows()
        lotteries = Table(
            title=_title("the LP optimum read as lotteries (chance of a permit)", len(rows), full)
        )
        for col in ("buyer", "time", "node", "chance", "value"):
            lotteries.add_column(col, justify="left" if col in ("buyer", "node") else "right")
        for row in _shown(rows, full, key=lambda r: r["chance"] * abs(r["value"])):
            lotteries.add_row(
                row["buyer"],
                str(row["time"]),
                row["node"],
                number(row["chance"], 4),
                number(row["value"]),
            )
        console.print(lotteries)
        _more(len(rows), full)
    report = solution.optimality
    if report is not None:
        verdict = "holds" if report.holds() else "FAILS"
        console.print(
            f"optimality system at the lowest-revenue prices: {verdict} "
            f"(largest violation {report.worst:.2g}); expected revenue "
            f"{solution.revenue():.6g}"
        )


def _price_title(solution: TTPSolution) -> str:
    """The price table's title, as far as the prices are certified."""
    if solution.method != "exact":
        return f"prices per node (the {solution.method} solver's best prices: not certified)"
    if not solution.prices_certified:
        return "prices per node (not certified: see the notes)"
    optimum = "the optimum" if solution.priced_y is solution.y else "the LP optimum"
    if solution.ranges is None:
        return (
            f"market-clearing prices per node (one system supporting {optimum}: ranges not known)"
        )
    return f"market-clearing prices per node (range that supports {optimum})"


def _title(title: str, n_rows: int, full: bool) -> str:
    if full or n_rows <= ALL_ROWS:
        return title
    return f"{title}: the {ROWS} most probable of {n_rows}"


def _shown(
    rows: list[dict[str, Any]], full: bool, key: Callable[[dict[str, Any]], float]
) -> list[dict[str, Any]]:
    """All rows with ``full`` or when few; else the :data:`ROWS` with the largest ``key``, in
    their table order."""
    if full or len(rows) <= ALL_ROWS:
        return rows
    weight = np.array([key(row) for row in rows])
    top = np.sort(np.argsort(-weight, kind="stable")[:ROWS])
    return [rows[k] for k in top.tolist()]


def _more(n_rows: int, full: bool) -> None:
    if not full and n_rows > ALL_ROWS:
        console.print(f"… {n_rows - ROWS} more rows (--full shows them all, --json has them)")


def _price_summary(rows: list[dict[str, Any]]) -> Table:
    """Per time: nodes, open markets, supply and units sold in expectation, and the spread of
    the reported prices (weighted by probability for the mean)."""
    table = Table(title="prices per time (over all nodes)")
    for col in ("time", "nodes", "expected supply", "expected sold", "lowest", "mean", "highest"):
        table.add_column(col, justify="right")
    times = sorted({row["time"] for row in rows})
    for t in times:
        at = [row for row in rows if row["time"] == t]
        prob = np.array([row["probability"] for row in at])
        price = np.array([row.get("price", row["min"]) or 0.0 for row in at])
        supply = np.array([row["supply"] for row in at], dtype=float)
        sold = np.array([row["sold"] for row in at])
        total = prob.sum()
        table.add_row(
            str(t),
            str(len(at)),
            number(prob @ supply, 4),
            number(prob @ sold, 4),
            number(price.min()),
            number(prob @ price / total if total > 0 else 0.0),
            number(price.max()),
        )
    return table


def demo_command(
    out: Path = typer.Option(Path("out"), "--out", help="Folder for the pictures and results."),
) -> None:
    """Run the bundled examples end to end (what `make demo` shows)."""
    from treemarket.cli.ttp_plot import write_pictures
    from treemarket.examples import example_path
    from treemarket.io.common import write_json
    from treemarket.ttp.simulate import simulate

    out.mkdir(parents=True, exist_ok=True)
    names = (
        "weather.yaml",
        "weather-tree.yaml",
        "fractional.yaml",
        "theme-park.yaml",
        "sampled-paths.yaml",
    )
    for name in names:
        path = example_path(name)
        model = load_ttp(path)
        # the same solution (ranges as `ttp solve` shows them) for the tables, JSON, pictures
        solution = solve(model, range_time_limit=RANGE_SECONDS)
        print_solution(solution)
        write_json(out / f"{path.stem}.json", solution.to_json())
        wrote(out / f"{path.stem}.json")
        if name in ("weather.yaml", "fractional.yaml", "theme-park.yaml", "sampled-paths.yaml"):
            result = simulate(model, solution)
            print_simulation(model, result)
            write_json(out / f"{path.stem}-simulation.json", result.to_json())
            wrote(out / f"{path.stem}-simulation.json")
            if name != "fractional.yaml":
                write_pictures(solution, result, out / path.stem)
    from treemarket.cli import intermediation as inter

    inter.demo(out)
    console.print(f"results and pictures written to {out}/")


def _register() -> None:
    from treemarket.cli.ttp_mechanism import mechanism_command
    from treemarket.cli.ttp_plot import plot_command

    app.command("plot")(plot_command)
    app.command("mechanism")(mechanism_command)


_register()
