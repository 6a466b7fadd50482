"""Study reports: the stored results as pandas tables, and pictures of every metric against every
swept parameter with confidence intervals over the seeds.

The per-task table has one row per stored task (its swept values, seed, status and metrics);
the summary has one row per point of the sweep and metric, with the mean over the seeds, the
standard deviation and a Student-t 95 % confidence interval of the mean. The pictures' numbers
are computed here and drawn by :mod:`treemarket.viz.study` (matplotlib is imported only then).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from treemarket.io.common import write_text
from treemarket.study.schema import Study
from treemarket.study.store import ResultStore
from treemarket.viz.study import Line, Panel, axis_values, label

LEVEL = 0.95
MAX_PANELS = 6


def results_frame(study: Study) -> pd.DataFrame:
    """One row per stored task of ``study`` (in task order): ``key``, the swept parameters,
    ``seed``, ``status``, every kept metric, ``error``, ``seconds`` and ``worker``.

    Tasks without a stored result are left out; so are stored results that are not part of
    the study any more.
    """
    tasks = study.tasks()
    columns = ["key", *study.swept, "seed", "status", *study.metrics, "error", "seconds", "worker"]
    if not study.store.exists():
        return pd.DataFrame(columns=columns)
    with ResultStore(study.store, readonly=True) as store:
        rows = {r.key: r for r in store.results([t.key for t in tasks])}
    records: list[dict[str, Any]] = []
    for task in tasks:
        row = rows.get(task.key)
        if row is None:
            continue
        point = {k: _hashable(v) for k, v in task.point.items()}
        record: dict[str, Any] = {"key": task.key, **point, "seed": task.seed}
        record["status"] = row.status
        metrics = row.metrics or {}
        for name in study.metrics:
            value = metrics.get(name)
            record[name] = np.nan if value is None else value
        record.update(error=row.error, seconds=row.seconds, worker=row.worker)
        records.append(record)
    return pd.DataFrame.from_records(records, columns=columns)


def _hashable(value: Any) -> Any:
    """Swept lists (a supply schedule) become their JSON text, to group and plot by."""
    return json.dumps(value) if isinstance(value, list | dict) else value


def summary_frame(study: Study, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per point of the sweep and metric: ``n`` (finished seeds), ``mean``, ``std`` and the
    confidence interval ``ci_low``, ``ci_high`` of the mean (Student t, 95 %)."""
    frame = results_frame(study) if frame is None else frame
    params = study.swept
    columns = [*params, "metric", "n", "mean", "std", "ci_low", "ci_high"]
    done = frame[frame["status"] == "done"] if len(frame) else frame
    if not len(done):
        return pd.DataFrame(columns=columns)
    records: list[dict[str, Any]] = []
    groups = done.groupby(params, sort=False, dropna=False) if params else [((), done)]
    for values, group in groups:
        point = dict(zip(params, values if isinstance(values, tuple) else (values,), strict=True))
        for metric in study.metrics:
            n, mean, std, low, high = mean_ci(group[metric].to_numpy(dtype=float))
            records.append(
                {
                    **point,
                    "metric": metric,
                    "n": n,
                    "mean": mean,
                    "std": std,
                    "ci_low": low,
                    "ci_high": high,
                }
            )
    return pd.DataFrame.from_records(records, columns=columns)


def mean_ci(values: np.ndarray, level: float = LEVEL) -> tuple[int, float, float, float, float]:
    """(n, mean, std, low, high) of the finite ``values``: the Student-t interval of the mean
    (NaN bounds with fewer than two values).

    >>> n, mean, std, low, high = mean_ci(np.array([1.0, 2.0, 3.0]))
    >>> n, mean, round(low, 4), round(high, 4)
    (3, 2.0, -0.4841, 4.4841)
    """
    from scipy import stats

    x = values[np.isfinite(values)]
    n = int(x.size)
    if n == 0:
        return 0, math.nan, math.nan, math.nan, math.nan
    mean = float(x.mean())
    if n < 2:
        return n, mean, math.nan, math.nan, math.nan
    std = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * std / math.sqrt(n)
    return n, mean, std, mean - half, mean + half


# --------------------------------------------------------------------------------- writing
def markdown_table(frame: pd.DataFrame, digits: int = 6) -> str:
    """A GitHub-flavoured Markdown table (numbers with ``digits`` significant digits).

    >>> print(markdown_table(pd.DataFrame({"a": [1.5, None], "b": ["x", "y"]})))
    | a | b |
    | ---: | --- |
    | 1.5 | x |
    |  | y |
    """
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    head = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "| " + " | ".join("---:" if num else "---" for num in numeric) + " |"
    lines = [head, rule]
    for row in frame.itertuples(index=False):
        cells = [_cell(v, digits) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(value: Any, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    # not display.number: that writes -0 as 0 and inf as "any", which would change the tables
    if isinstance(value, float | np.floating):
        return f"{float(value):.{digits}g}"
    return str(value).replace("|", "\\|")


def write_tables(study: Study, out: Path, fmt: str = "csv") -> list[Path]:
    """Write ``<study>-tasks`` and ``<study>-summary`` as CSV or Markdown, atomically."""
    if fmt not in ("csv", "md"):
        raise ValueError("format must be csv or md")
    tasks = results_frame(study)
    summary = summary_frame(study, tasks)
    written = []
    for name, frame in (("tasks", tasks), ("summary", summary)):
        path = out / f"{study.name}-{name}.{fmt}"
        if fmt == "csv":
            text = frame.to_csv(index=False)
        else:
            text = f"# {study.name}: {name}\n\n{markdown_table(frame)}\n"
        write_text(path, text)
        written.append(path)
    return written


# -------------------------------------------------------------------------------- names
METRIC_WORDS = {
    "welfare": "expected welfare",
    "welfare_se": "standard error of the welfare",
    "efficiency": "efficiency",
    "revenue": "expected revenue",
    "revenue_low": "lowest supporting revenue",
    "revenue_high": "highest supporting revenue",
    "unsold": "expected unsold permits",
    "lp_bound": "LP bound [P1]",
    "upper_bound": "proven upper bound",
    "dual_bound": "dual bound",
    "gap": "certified gap",
    "optimum": "optimum [P0]",
    "early_supply": "permits sold before T",
    "all_at_exercise": "welfare with all supply at T",
    "surplus": "surplus",
}
SOURCE_WORDS = {"simulate": "simulated markets", "solve": "solver", "model": "model"}


def metric_title(family: str) -> str:
    """A metric family as people read it: ``simulate.welfare`` is "expected welfare
    (simulated markets)"; unknown names keep their words.

    >>> metric_title("simulate.efficiency"), metric_title("solve.gap"), metric_title("x.y_z")
    ('efficiency (simulated markets)', 'certified gap (solver)', 'y z (x)')
    """
    source, _, leaf = family.rpartition(".")
    words = METRIC_WORDS.get(leaf, leaf.replace("_", " "))
    if not source:
        return words
    return f"{words} ({SOURCE_WORDS.get(source.split('.')[0], source.replace('.', ' '))})"


def metric_axis(family: str) -> str:
    """The metric's words alone, for an axis (the title names the source)."""
    leaf = family.rpartition(".")[2]
    words = METRIC_WORDS.get(leaf, leaf.replace("_", " "))
    return "efficiency (share of the optimum)" if leaf == "efficiency" else words


def is_share(family: str) -> bool:
    """Is the metric a share (shown as a percentage)?"""
    return family.rpartition(".")[2] == "efficiency"


# -------------------------------------------------------------------------------- pictures
def families(metrics: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """Metrics drawn together: ``simulate.<policy>.<m>`` share the picture ``simulate.<m>``
    (one line per policy); every other metric has its own.

    >>> families(["simulate.market.welfare", "simulate.fcfs.welfare", "solve.gap"])
    {'simulate.welfare': [('market', 'simulate.market.welfare'), ('fcfs', \
'simulate.fcfs.welfare')], 'solve.gap': [('solve.gap', 'solve.gap')]}
    """
    out: dict[str, list[tuple[str, str]]] = {}
    for metric in metrics:
        parts = metric.split(".")
        if len(parts) == 3 and parts[0] == "simulate":
            out.setdefault(f"{parts[0]}.{parts[2]}", []).append((parts[1], metric))
        else:
            out.setdefault(metric, []).append((metric, metric))
    return out


def picture_plan(study: Study) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(family, swept parameter, members) of every picture the report draws."""
    return [
        (family, param, members)
        for family, members in families(study.metrics).items()
        for param in study.swept
    ]


def write_pictures(
    study: Study, out: Path, frame: pd.DataFrame | None = None, image: str = "png"
) -> list[Path]:
    """One picture per metric family and swept parameter: the mean over seeds against the
    parameter with its 95 % confidence interval, one panel per value of the other swept
    parameters (pooled when they have more than six combinations); ``image`` is png or svg.
    Drawn by :func:`treemarket.viz.study.plot_study`."""
    from treemarket.viz.figure import save
    from treemarket.viz.study import plot_study

    frame = results_frame(study) if frame is None else frame
    done = frame[frame["status"] == "done"] if len(frame) else frame
    written: list[Path] = []
    if not len(done):
        return written
    for family, param, members in picture_plan(study):
        words = metric_title(family)
        title = f"{study.name}: {words}, mean and {int(LEVEL * 100)}% CI over seeds"
        fig = plot_study(
            study_panels(study, done, param, members),
            xlabel=param,
            ylabel=metric_axis(family),
            title=title,
            percent=is_share(family),
        )
        path = out / f"{study.name}-{_slug(family)}-vs-{_slug(param)}.{image}"
        written.append(save(fig, path, dpi=110, tight=False))
    return written


def study_panels(
    study: Study, done: pd.DataFrame, param: str, members: list[tuple[str, str]]
) -> list[Panel]:
    """The panels of one picture: per value of the other swept parameters (all pooled in one
    panel when they have more than six combinations), each member's mean and confidence
    interval over seeds at every value of ``param``."""
    others = [p for p in study.swept if p != param]
    combos = done[others].drop_duplicates() if others else pd.DataFrame()
    pooled = bool(others) and len(combos) > MAX_PANELS
    if not others or pooled:
        note = f"pooled over {', '.join(others)}" if pooled else ""
        return [_panel(note, done, param, members)]
    panels = []
    for combo in combos.itertuples(index=False):
        mask = np.ones(len(done), dtype=bool)
        for name, value in zip(others, combo, strict=True):
            mask &= (done[name] == value).to_numpy()
        title = ", ".join(f"{n} = {label(v)}" for n, v in zip(others, combo, strict=True))
        panels.append(_panel(title, done[mask], param, members))
    return panels


def _panel(title: str, part: pd.DataFrame, param: str, members: list[tuple[str, str]]) -> Panel:
    xs, _ = axis_values(part[param].tolist())
    lines = []
    for name, metric in members:
        stats = [mean_ci(part.loc[part[param] == x, metric].to_numpy(dtype=float)) for x in xs]
        lines.append(
            Line(
                name,
                mean=[s[1] for s in stats],
                low=[s[3] for s in stats],
                high=[s[4] for s in stats],
            )
        )
    return Panel(title, xs, lines)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def write_report(
    study: Study, out: str | Path, fmt: str = "csv", pictures: bool = True
) -> list[Path]:
    """Write the tables and (unless ``pictures`` is False) the pictures into ``out``."""
    folder = Path(out)
    written = write_tables(study, folder, fmt)
    if pictures:
        written += write_pictures(study, folder)
    return written
