"""`treemarket ttp plot FILE`: the pictures of a TTP model (tree, price fan, policies)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from treemarket.cli._common import wrote
from treemarket.errors import ModelError
from treemarket.io.ttp_file import load_ttp
from treemarket.ttp import TTPSolution, solve
from treemarket.ttp.simulate import SimulationResult, simulate

FORMATS = ("png", "svg")


def plot_command(
    file: Annotated[
        Path, typer.Argument(help="TTP model file (YAML or JSON).", show_default=False)
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder for the pictures.")] = Path("out"),
    fmt: Annotated[str, typer.Option("--format", help="png | svg")] = "png",
    max_nodes: Annotated[
        int, typer.Option("--max-nodes", help="Collapse trees with more nodes than this.")
    ] = 60,
) -> None:
    """Draw the scenario tree, the price fan and (with the simulation) the policies compared.

    Writes ``<stem>-tree.<fmt>``, ``<stem>-prices.<fmt>`` and ``<stem>-policies.<fmt>`` to
    ``--out``.
    """
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ModelError(f"{fmt!r} is not one of png, svg", place="--format")
    model = load_ttp(file)
    solution = solve(model)
    write_pictures(solution, simulate(model, solution), out / Path(file).stem, fmt, max_nodes)


def write_pictures(
    solution: TTPSolution,
    simulation: SimulationResult,
    stem: Path,
    fmt: str = "png",
    max_nodes: int = 60,
) -> None:
    """The tree, the price fan and the policies of a solved model, as ``<stem>-<kind>.<fmt>``
    (the same solution and simulation as the tables and the JSON)."""
    from treemarket.viz.figure import save
    from treemarket.viz.policies import plot_policies
    from treemarket.viz.prices import plot_price_fan
    from treemarket.viz.tree import plot_tree

    figures = {
        "tree": plot_tree(solution, max_nodes=max_nodes),
        "prices": plot_price_fan(solution),
        "policies": plot_policies(simulation),
    }
    for kind, figure in figures.items():
        path = save(figure, stem.with_name(f"{stem.name}-{kind}.{fmt}"))
        wrote(path)
