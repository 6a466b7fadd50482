"""Tables of observed paths (CSV), wide or long, read into :class:`PathData`.

* **wide**: one row per path; a column ``VAR_t`` per variable and time t = 0..T (e.g.
  ``precipitation_0, precipitation_1, ...``); other columns (a path id, a weight) are allowed.
* **long**: one row per path and time; a path column (default ``path``), a time column (default
  ``time``; the rows of a path are ordered by it, numerically when every time is a number, else
  as text, so ISO dates work) and one column per variable. Every path has the same number of
  times.

A numeric column holds finite numbers; a column with other text is categorical (its distinct
texts are the categories, sorted). Every mistake names the file, the line, the row and the column.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from treemarket.errors import ModelError
from treemarket.scenario.fit import PathData

Layout = Literal["auto", "long", "wide"]
WIDE = re.compile(r"^(?P<var>.+)_(?P<t>\d+)$")


@dataclass(frozen=True, eq=False)
class PathTable:
    """A table of paths: the chosen variables as :class:`PathData`, every numeric column at
    every time (for value formulas), and the paths' ids.

    Attributes
    ----------
    data : PathData
    columns : dict
        ``{column: (P, T + 1) float}`` for every numeric column (variables or not).
    ids : list of str
        The paths' ids (the path column; wide tables without one: ``row k``).
    file : str
    """

    data: PathData
    columns: dict[str, NDArray[np.float64]]
    ids: list[str]
    file: str
    layout: str = "wide"
    first_line: list[int] = field(default_factory=list)  # the line of each path's first row

    def at(self, t: int) -> dict[str, NDArray[np.float64]]:
        """The numeric columns at time t (negative t counts from T): ``{column: (P,)}``."""
        return {name: x[:, t] for name, x in self.columns.items()}


def read_path_table(
    path: str | os.PathLike[str],
    *,
    variables: Sequence[str] | None = None,
    layout: Layout = "auto",
    path_column: str | None = None,
    time_column: str | None = None,
    weight: str | None = None,
    delimiter: str = ",",
    source: str | None = None,
) -> PathTable:
    """Read a CSV of paths (see the module docstring for the layouts).

    ``layout="auto"`` is long when the table has the path and time columns, else wide.
    ``variables`` default: every numeric variable (not the path, time or weight column).
    """
    where = source or str(path)
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            header = next(reader, None)
            rows = list(reader)
    except OSError as exc:
        raise ModelError(f"cannot read the paths table: {exc.strerror}", file=where) from None
    if header is None:
        raise ModelError("the paths table is empty", file=where)
    header = [h.strip() for h in header]
    dupes = [h for h in header if header.count(h) > 1]
    if dupes:
        raise ModelError(f"column {dupes[0]!r} appears twice", file=where, line=1, place="header")
    if not rows:
        raise ModelError("the paths table has no rows", file=where, line=2)
    _check_ragged(rows, header, where)
    path_col = path_column or "path"
    time_col = time_column or "time"
    if layout == "auto":
        layout = "long" if path_col in header and time_col in header else "wide"
    cells = {h: [row[k].strip() for row in rows] for k, h in enumerate(header)}
    if weight is not None and weight not in header:
        raise _unknown(where, weight, header)
    if layout == "long":
        for name in (path_col, time_col):
            if name not in header:
                raise _unknown(where, name, header)
        return _long(where, cells, header, variables, path_col, time_col, weight)
    if path_column is not None and path_column not in header:
        raise _unknown(where, path_column, header)
    ids = path_column or ("path" if "path" in header else None)
    return _wide(where, cells, header, variables, ids, weight)


def _check_ragged(rows: list[list[str]], header: list[str], where: str) -> None:
    """Every row has as many fields as the header (else the error names the first that has
    not, by its line and row)."""
    for r, row in enumerate(rows):
        if len(row) != len(header):
            raise ModelError(
                f"has {len(row)} fields, the header has {len(header)}",
                file=where,
                line=r + 2,
                place=f"row {r + 1}",
            )


def _unknown(where: str, name: str, header: list[str]) -> ModelError:
    shown = ", ".join(header[:12]) + (", ..." if len(header) > 12 else "")
    return ModelError(
        f"no column {name!r} (the columns: {shown})", file=where, line=1, place=f"column {name!r}"
    )


def _numbers(where: str, column: str, texts: list[str], lines: NDArray[np.int64]) -> NDArray:
    """A column as floats; the first bad cell is named by its line, row and column."""
    try:
        x = np.asarray(texts, dtype=np.float64)
    except ValueError:
        x = None
    if x is not None and np.isfinite(x).all():
        return x
    for k, text in enumerate(texts):
        try:
            value = float(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value):
            what = "a missing value" if text == "" or text.lower() == "nan" else f"{text!r}"
            raise ModelError(
                f"{what}, not a finite number",
                file=where,
                line=int(lines[k]),
                place=f"row {int(lines[k]) - 1}, column {column!r}",
            )
    raise AssertionError("unreachable")  # pragma: no cover


def _is_numeric(texts: list[str]) -> bool:
    """A column is numeric when no cell is text other than a number (empty and 'nan' cells
    are errors later, named by their row)."""
    for text in texts:
        if text == "" or text.lower() == "nan":
            continue
        try:
            float(text)
        except ValueError:
            return False
    return True


def _codes(where: str, column: str, texts: list[str], lines: NDArray[np.int64]):
    for k, text in enumerate(texts):
        if text == "":
            raise ModelError(
                "a missing value",
                file=where,
                line=int(lines[k]),
                place=f"row {int(lines[k]) - 1}, column {column!r}",
            )
    cats, codes = np.unique(np.asarray(texts, dtype=object).astype(str), return_inverse=True)
    return tuple(str(c) for c in cats), codes.astype(np.float64)


def _choose(
    where: str,
    available: list[str],
    numeric: dict[str, bool],
    variables: Sequence[str] | None,
    header: list[str],
) -> list[str]:
    if variables is None:
        chosen = [v for v in available if numeric[v]]
        if not chosen:
            raise ModelError("no numeric variable in the paths table", file=where, line=1)
        return chosen
    for v in variables:
        if v not in available:
            raise _unknown(where, v, header)
    return list(variables)


def _wide(
    where: str,
    cells: dict[str, list[str]],
    header: list[str],
    variables: Sequence[str] | None,
    path_column: str | None,
    weight: str | None,
) -> PathTable:
    n_rows = len(next(iter(cells.values())))
    lines = np.arange(2, n_rows + 2, dtype=np.int64)
    times: dict[str, list[int]] = {}
    for h in header:
        m = WIDE.match(h)
        if m and h not in (path_column, weight):
            times.setdefault(m.group("var"), []).append(int(m.group("t")))
    if not times:
        raise ModelError(
            "no columns VAR_t (wide layout) and no path and time columns (long layout)",
            file=where,
            line=1,
            place="header",
        )
    horizon = max(max(ts) for ts in times.values())
    for var, ts in times.items():
        missing = sorted(set(range(horizon + 1)) - set(ts))
        if missing:
            name = f"{var}_{missing[0]}"
            raise ModelError(
                f"variable {var!r} has no column for time {missing[0]} (times 0..{horizon})",
                file=where,
                line=1,
                place=f"column {name!r}",
            )
    numeric = {v: all(_is_numeric(cells[f"{v}_{t}"]) for t in range(horizon + 1)) for v in times}
    chosen = _choose(where, list(times), numeric, variables, header)
    columns: dict[str, NDArray[np.float64]] = {}
    categories: dict[str, tuple[str, ...]] = {}
    stacks: list[NDArray[np.float64]] = []
    for var in times:
        if numeric[var]:
            columns[var] = np.stack(
                [
                    _numbers(where, f"{var}_{t}", cells[f"{var}_{t}"], lines)
                    for t in range(horizon + 1)
                ],
                axis=1,
            )
    for var in chosen:
        if numeric[var]:
            stacks.append(columns[var])
        else:
            texts = [x for t in range(horizon + 1) for x in cells[f"{var}_{t}"]]
            cats, codes = _codes(where, f"{var}_*", texts, np.tile(lines, horizon + 1))
            categories[var] = cats
            stacks.append(codes.reshape(horizon + 1, n_rows).T)
    w = None
    if weight is not None:
        w = _numbers(where, weight, cells[weight], lines)
        _positive(where, weight, w, lines)
    ids = cells[path_column] if path_column else [f"row {k + 1}" for k in range(n_rows)]
    _two_times(where, horizon)
    data = PathData(np.stack(stacks, axis=2), tuple(chosen), categories, w)
    return PathTable(data, columns, list(ids), where, "wide", lines.tolist())


def _two_times(where: str, horizon: int) -> None:
    if horizon < 1:
        raise ModelError("paths need at least two times (t = 0..T with T ≥ 1)", file=where, line=1)


def _positive(where: str, column: str, w: NDArray[np.float64], lines: NDArray[np.int64]) -> None:
    bad = np.nonzero(w <= 0)[0]
    if bad.size:
        line = int(lines[bad[0]])
        raise ModelError(
            "a weight must be positive",
            file=where,
            line=line,
            place=f"row {line - 1}, column {column!r}",
        )


def _long(
    where: str,
    cells: dict[str, list[str]],
    header: list[str],
    variables: Sequence[str] | None,
    path_col: str,
    time_col: str,
    weight: str | None,
) -> PathTable:
    ids_raw = np.asarray(cells[path_col], dtype=object).astype(str)
    times_raw = cells[time_col]
    n_rows = ids_raw.shape[0]
    lines = np.arange(2, n_rows + 2, dtype=np.int64)
    if _is_numeric(times_raw):
        time_key: NDArray = _numbers(where, time_col, times_raw, lines)
    else:
        time_key = np.asarray(times_raw, dtype=object).astype(str)
    uniq, first, inverse = np.unique(ids_raw, return_index=True, return_inverse=True)
    path_order = np.argsort(first, kind="stable")  # paths in the order they first appear
    rank = np.empty_like(path_order)
    rank[path_order] = np.arange(path_order.size)
    path_of_row = rank[inverse.ravel()]
    counts = np.bincount(path_of_row)
    width = int(counts.max())
    short = np.nonzero(counts != width)[0]
    if short.size:
        p = int(short[0])
        row = int(np.nonzero(path_of_row == p)[0][0])
        raise ModelError(
            f"path {str(uniq[path_order[p]])!r} has {int(counts[p])} times, others have {width} "
            "(ragged paths)",
            file=where,
            line=row + 2,
            place=f"row {row + 1}, column {time_col!r}",
        )
    order = np.lexsort((time_key, path_of_row))
    sorted_time = time_key[order].reshape(-1, width)
    dup = np.nonzero(sorted_time[:, 1:] == sorted_time[:, :-1])
    if dup[0].size:
        row = int(order[dup[0][0] * width + dup[1][0] + 1])
        raise ModelError(
            "a path has this time twice",
            file=where,
            line=row + 2,
            place=f"row {row + 1}, column {time_col!r}",
        )
    others = [h for h in header if h not in (path_col, time_col, weight)]
    numeric = {h: _is_numeric(cells[h]) for h in others}
    chosen = _choose(where, others, numeric, variables, header)
    n_paths = counts.size
    columns: dict[str, NDArray[np.float64]] = {}
    for h in others:
        if numeric[h]:
            columns[h] = _numbers(where, h, cells[h], lines)[order].reshape(n_paths, width)
    categories: dict[str, tuple[str, ...]] = {}
    stacks = []
    for var in chosen:
        if numeric[var]:
            stacks.append(columns[var])
        else:
            cats, codes = _codes(where, var, cells[var], lines)
            categories[var] = cats
            stacks.append(codes[order].reshape(n_paths, width))
    w = None
    if weight is not None:
        w_rows = _numbers(where, weight, cells[weight], lines)
        _positive(where, weight, w_rows, lines)
        w = w_rows[order].reshape(n_paths, width)[:, 0]
    ids = [str(uniq[k]) for k in path_order.tolist()]
    _two_times(where, width - 1)
    data = PathData(np.stack(stacks, axis=2), tuple(chosen), categories, w)
    first_lines = (order.reshape(n_paths, width)[:, 0] + 2).tolist()
    return PathTable(data, columns, ids, where, "long", first_lines)


def write_windows(
    series: str | os.PathLike[str],
    out: str | os.PathLike[str],
    length: int,
    *,
    time: str = "date",
    start: str | None = None,
    end: str | None = None,
    columns: Sequence[str] | None = None,
    delimiter: str = ",",
) -> int:
    """Cut a time series (one row per period) into paths: every run of ``length`` consecutive
    rows whose times lie in [start, end] becomes one path, written in the wide layout
    (``path`` = the time of its last row, then ``VAR_0 .. VAR_{length−1}``). Times compare as
    text with ``/`` read as ``-`` (ISO dates). Returns the number of paths written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> text = "date,rain\\n2015-01-01,0\\n2015-01-02,3\\n2015-01-03,1\\n"
    >>> _ = (folder / "s.csv").write_text(text)
    >>> write_windows(folder / "s.csv", folder / "w.csv", 2)
    2
    >>> print((folder / "w.csv").read_text().strip())
    path,rain_0,rain_1
    2015-01-02,0,3
    2015-01-03,3,1
    """
    from treemarket.io.common import write_text

    where = str(series)
    try:
        with open(series, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            header = [h.strip() for h in next(reader, [])]
            rows = list(reader)
    except OSError as exc:
        raise ModelError(f"cannot read the series: {exc.strerror}", file=where) from None
    if time not in header:
        raise _unknown(where, time, header)
    _check_ragged(rows, header, where)
    keep = [h for h in header if h != time] if columns is None else list(columns)
    for name in keep:
        if name not in header:
            raise _unknown(where, name, header)
    if length < 2:
        raise ModelError(f"must be at least 2, got {length}", place="--length")
    k_time = header.index(time)

    def norm(text: str) -> str:
        return text.strip().replace("/", "-")

    lo = norm(start) if start else None
    hi = norm(end) if end else None
    chosen = [
        row
        for row in sorted(rows, key=lambda row: norm(row[k_time]))
        if (lo is None or norm(row[k_time]) >= lo) and (hi is None or norm(row[k_time]) <= hi)
    ]
    index = [header.index(name) for name in keep]
    lines = [",".join(["path", *[f"{name}_{t}" for name in keep for t in range(length)]])]
    for last in range(length - 1, len(chosen)):
        window = chosen[last - length + 1 : last + 1]
        cells = [row[k].strip() for k in index for row in window]
        lines.append(",".join([norm(window[-1][k_time]), *cells]))
    count = len(lines) - 1
    if count == 0:
        raise ModelError(
            f"no run of {length} rows between {start or 'the start'} and {end or 'the end'}",
            file=where,
        )
    write_text(out, "\n".join(lines) + "\n")
    return count
