"""The bundled model files (package data): the paper's examples and a few larger ones.

Examples
--------
>>> sorted(bundled_examples())[:2]
['fractional.yaml', 'intermediation-fig1a.yaml']
>>> example_path("weather.yaml").name
'weather.yaml'
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def bundled_examples() -> dict[str, str]:
    """Name -> text of every bundled example file."""
    folder = resources.files("treemarket") / "examples"
    out = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".yaml", ".csv", ".txt")):  # .txt: a data file's licence
            out[entry.name] = entry.read_text(encoding="utf-8")
    return out


def example_path(name: str) -> Path:
    """A filesystem path of a bundled example (the package is installed as files)."""
    return Path(str(resources.files("treemarket") / "examples" / name))
