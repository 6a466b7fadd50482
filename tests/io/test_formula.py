"""The value formulas: the whitelist holds, evaluation is vectorized and exact."""

from __future__ import annotations

import re

import numpy as np
import pytest

from treemarket.io.formula import Formula, FormulaError

COLUMNS = {"rain": np.array([0.0, 2.5, 9.0]), "temp": np.array([20.0, 14.0, 8.0])}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("10 - 2*rain", [10.0, 5.0, -8.0]),
        ("clip(10 - 2*rain, 0, 10)", [10.0, 5.0, 0.0]),
        ("max(10 - 2*rain, 0)", [10.0, 5.0, 0.0]),
        ("min(temp, 15, 30 - rain)", [15.0, 14.0, 8.0]),
        ("abs(rain - 3) / 2", [1.5, 0.25, 3.0]),
        ("-rain + +temp", [20.0, 11.5, -1.0]),
        ("rain", [0.0, 2.5, 9.0]),
        ("7", [7.0, 7.0, 7.0]),
    ],
)
def test_formulas_evaluate_on_every_path(text: str, expected: list[float]) -> None:
    assert Formula.parse(text).evaluate(COLUMNS).tolist() == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("__import__('os').system('true')", "unknown function"),
        ("__import__('os')", "unknown function '__import__'"),
        ("rain.real", "'rain.real' is not allowed"),
        ("open('x')", "unknown function 'open'"),
        ("rain[0]", "'rain[0]' is not allowed"),
        ("rain ** 2", "operator 'rain ** 2' is not one of"),
        ("rain // 2", "is not one of"),
        ("rain % 2", "is not one of"),
        ("rain > 2", "'rain > 2' is not allowed"),
        ("'text'", "only numbers"),
        ("True", "only numbers"),
        ("lambda: 1", "is not allowed"),
        ("not rain", "only unary minus and plus"),
        ("rain if temp else 0", "is not allowed"),
        ("[rain]", "is not allowed"),
        ("clip(rain, 0)", "clip() takes 3 arguments, got 2"),
        ("min(rain)", "min() takes at least 2 arguments"),
        ("max(rain, x=1)", "no keyword arguments"),
        ("max(rain, *temp)", "no * arguments"),
        ("(rain := 3)", "is not allowed"),
        ("", "non-empty"),
        ("rain +", "not a formula"),
    ],
)
def test_anything_outside_the_whitelist_is_refused(text: str, message: str) -> None:
    with pytest.raises(FormulaError, match=re.escape(message)):
        Formula.parse(text)


def test_unknown_columns_and_non_finite_values_are_errors() -> None:
    with pytest.raises(FormulaError, match="unknown column 'wind'"):
        Formula.parse("wind * 2").evaluate(COLUMNS)
    with pytest.raises(FormulaError, match="not finite"):
        Formula.parse("1 / rain").evaluate(COLUMNS)
    assert Formula.parse("max(rain, temp) - rain").columns == ("rain", "temp")
