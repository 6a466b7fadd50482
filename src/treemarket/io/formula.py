"""Small value formulas over a path's columns, parsed without ``eval``.

A formula is a Python-syntax arithmetic expression: numbers, column names, ``+ - * /``, unary
minus, parentheses and the functions ``min(a, b, ...)``, ``max(a, b, ...)``, ``clip(x, lo, hi)``
and ``abs(x)``. It is parsed with :mod:`ast` and every node is checked against that whitelist;
anything else (attributes, calls of other names, subscripts, comparisons, ``**``, strings,
lambdas, ...) is refused with the offending piece named. Evaluation is vectorized: a column is a
numpy array over the paths.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

_BINARY: dict[type, Callable[[FloatArray, FloatArray], FloatArray]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.divide,
}
_FUNCTIONS: dict[str, tuple[int, int | None]] = {  # name: (least, most) arguments
    "min": (2, None),
    "max": (2, None),
    "clip": (3, 3),
    "abs": (1, 1),
}


class FormulaError(ValueError):
    """A formula outside the grammar, or naming an unknown column."""


@dataclass(frozen=True)
class Formula:
    """A parsed formula: its text, its syntax tree and the columns it reads.

    Examples
    --------
    >>> f = Formula.parse("clip(10 - 2*precipitation, 0, 10)")
    >>> f.columns
    ('precipitation',)
    >>> f.evaluate({"precipitation": np.array([0.0, 1.5, 8.0])}).tolist()
    [10.0, 7.0, 0.0]
    >>> Formula.parse("__import__('os')")
    Traceback (most recent call last):
    ...
    treemarket.io.formula.FormulaError: unknown function '__import__' (allowed: min, max, clip, abs)
    """

    text: str
    tree: ast.expr
    columns: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Formula:
        if not isinstance(text, str) or not text.strip():
            raise FormulaError("a formula must be a non-empty text")
        try:
            module = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            raise FormulaError(f"not a formula: {exc.msg}") from None
        names: list[str] = []
        _check(module.body, names)
        return cls(text, module.body, tuple(dict.fromkeys(names)))

    def evaluate(self, columns: Mapping[str, FloatArray]) -> FloatArray:
        """The formula's value on every path: ``columns[name]`` is a (P,) array."""
        missing = [c for c in self.columns if c not in columns]
        if missing:
            raise FormulaError(f"unknown column {missing[0]!r}")
        size = len(next(iter(columns.values()))) if columns else 1
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.broadcast_to(_eval(self.tree, columns), (size,)).astype(np.float64)
        if not np.isfinite(out).all():
            raise FormulaError("the formula is not finite on every path (a division by 0?)")
        return out


def _check(node: ast.AST, names: list[str]) -> None:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise FormulaError(f"only numbers are allowed, not {node.value!r}")
    elif isinstance(node, ast.Name):
        names.append(node.id)
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            raise FormulaError(f"operator {_piece(node)!r} is not one of + - * /")
        _check(node.left, names)
        _check(node.right, names)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.USub | ast.UAdd):
            raise FormulaError(f"{_piece(node)!r}: only unary minus and plus are allowed")
        _check(node.operand, names)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
            raise FormulaError(
                f"unknown function {_piece(node.func)!r} (allowed: min, max, clip, abs)"
            )
        if node.keywords:
            raise FormulaError(f"{node.func.id}() takes no keyword arguments")
        least, most = _FUNCTIONS[node.func.id]
        count = len(node.args)
        if count < least or (most is not None and count > most):
            want = f"{least}" if least == most else f"at least {least}"
            raise FormulaError(f"{node.func.id}() takes {want} arguments, got {count}")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise FormulaError("no * arguments")
            _check(arg, names)
    else:
        raise FormulaError(f"{_piece(node)!r} is not allowed in a formula")


def _piece(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # pragma: no cover - unparse handles every expression node
        return type(node).__name__


def _eval(node: ast.expr, columns: Mapping[str, FloatArray]) -> FloatArray:
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, int | float)  # checked by _check
        return np.asarray(float(node.value))
    if isinstance(node, ast.Name):
        return np.asarray(columns[node.id], dtype=np.float64)
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_eval(node.left, columns), _eval(node.right, columns))
    if isinstance(node, ast.UnaryOp):
        x = _eval(node.operand, columns)
        return -x if isinstance(node.op, ast.USub) else x
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    args = [_eval(a, columns) for a in node.args]
    name = node.func.id
    if name == "abs":
        return np.abs(args[0])
    if name == "clip":
        return np.minimum(np.maximum(args[0], args[1]), args[2])
    if name == "min":
        return np.minimum.reduce(np.broadcast_arrays(*args))
    return np.maximum.reduce(np.broadcast_arrays(*args))
