"""What every command shares: the consoles, error handling and JSON output."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from treemarket.errors import ModelError, SolverError, TreemarketError
from treemarket.io.common import write_json

console = Console()
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def run_guarded(app: typer.Typer, args: list[str] | None = None) -> int:
    """Run the typer app; bad input -> one line and exit 2, solver trouble -> one line and 1.

    Usage errors are typer's own (also exit status 2).
    """
    try:
        app(args=args, prog_name="treemarket")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except ModelError as exc:
        err_console.print(f"error: {exc}", markup=False)
        return 2
    except SolverError as exc:
        err_console.print(f"solver error: {exc}", markup=False)
        return 1
    except TreemarketError as exc:
        err_console.print(f"error: {exc}", markup=False)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


def wrote(path: Path | str) -> None:
    """Say that a file was written: ``wrote PATH`` on one line, the path never wrapped or read
    as markup."""
    console.print(f"wrote {path}", markup=False, soft_wrap=True)


def emit_json(obj: Any, output: Path | None) -> None:
    """Print ``obj`` as JSON on stdout, or write it atomically to ``output``."""
    if output is not None:
        write_json(output, obj)
    else:
        sys.stdout.write(json.dumps(obj, indent=2) + "\n")
