"""`treemarket intermediation ...` (placeholder until the intermediation commands land)."""

import typer

app = typer.Typer(help="Intermediation trees: profitability and welfare-optimal prices.")
