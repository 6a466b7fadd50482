"""How numbers, shares and events are shown to people: one voice for the terminal and pictures."""

from __future__ import annotations

import math
from collections.abc import Sequence


def number(x: float | None, digits: int = 6) -> str:
    """A number for a table or a label: ``digits`` significant digits, ``-`` for None, ``any``
    for +inf, never ``-0``.

    Examples
    --------
    >>> number(12.0), number(1 / 3, 4), number(None), number(float("inf")), number(-0.0)
    ('12', '0.3333', '-', 'any', '0')
    """
    if x is None:
        return "-"
    value = float(x)
    if math.isinf(value) and value > 0:
        return "any"
    return f"{value + 0.0:.{digits}g}"


def percent(x: float | None, digits: int = 1) -> str:
    """A share as a percentage: ``percent(0.9704)`` is ``'97.0%'``; ``-`` for None or NaN.

    Examples
    --------
    >>> percent(0.9704), percent(None)
    ('97.0%', '-')
    """
    if x is None or math.isnan(x):
        return "-"
    return f"{x:.{digits}%}"


def event(names: Sequence[str], limit: int = 6, total: int | None = None) -> str:
    """An event (a set of scenario names) in braces, cut after ``limit`` names; ``Ω`` when it
    holds all ``total`` scenarios and is too long to list.

    Examples
    --------
    >>> event(["CF", "FC"])
    '{CF, FC}'
    >>> event([f"s{k}" for k in range(9)], limit=2)
    '{s0, s1, … (9)}'
    >>> event([f"s{k}" for k in range(9)], limit=2, total=9)
    'Ω (9 scenarios)'
    """
    names = list(names)
    if len(names) <= limit:
        return "{" + ", ".join(names) + "}"
    if total is not None and len(names) == total:
        return f"Ω ({total} scenarios)"
    return "{" + ", ".join(names[:limit]) + f", … ({len(names)})" + "}"
