"""`treemarket examples`: list the bundled model files, or write them to a folder.

``example_path`` and ``bundled_examples`` live in :mod:`treemarket.examples`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from treemarket.cli._common import console
from treemarket.examples import bundled_examples, example_path
from treemarket.io.common import write_text


def examples_command(
    out: Path | None = typer.Option(None, "--out", help="Write the example files to this folder."),
) -> None:
    """List the bundled examples; with --out, write them there."""
    files = bundled_examples()
    table = Table(title="bundled examples")
    table.add_column("file")
    table.add_column("model")
    table.add_column("name")
    for name, text in files.items():
        model = "study" if _top_level(text, "study") else (_top_level(text, "model") or "data")
        title = _top_level(text, "name") or _top_level(text, "study") or ""
        table.add_row(name, model, title)
        if out is not None:
            write_text(out / name, text)
    console.print(table)
    if out is not None:
        console.print(f"wrote {len(files)} files to {out}", markup=False, soft_wrap=True)


def _top_level(text: str, key: str) -> str | None:
    """The value of a top-level ``key: value`` line of a YAML file (None if absent or empty)."""
    for line in text.splitlines():
        if line.startswith(f"{key}:"):
            value = line.split(":", 1)[1].split("#", 1)[0].strip()
            return value or None
    return None


__all__ = ["bundled_examples", "example_path", "examples_command"]
