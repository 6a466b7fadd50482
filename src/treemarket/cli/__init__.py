"""The command-line tool: parsing and printing only; the model logic lives in the packages."""

from __future__ import annotations

import sys

import typer

from treemarket.cli._common import console, run_guarded
from treemarket.cli.examples import examples_command
from treemarket.cli.explore import explore_command
from treemarket.cli.intermediation import app as intermediation_app
from treemarket.cli.study import app as study_app
from treemarket.cli.tree import app as tree_app
from treemarket.cli.ttp import app as ttp_app
from treemarket.cli.ttp import demo_command

app = typer.Typer(
    rich_markup_mode="markdown",
    name="treemarket",
    help="Market design on trees: tradable time-specific permits and intermediation trees.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(ttp_app, name="ttp")
app.add_typer(intermediation_app, name="intermediation")
app.add_typer(study_app, name="study")
app.add_typer(tree_app, name="tree")
app.command("examples")(examples_command)
app.command("demo")(demo_command)
app.command("explore")(explore_command)

__all__ = ["app", "console", "main"]


def main() -> None:
    """Entry point of the ``treemarket`` console script."""
    sys.exit(run_guarded(app))
