"""`treemarket study run|status|report`: parameter sweeps and Monte Carlo on Dask.

Parsing and printing only; the work is in :mod:`treemarket.study`.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from treemarket.cli._common import console, run_guarded, wrote
from treemarket.display import number, percent
from treemarket.errors import ModelError

if TYPE_CHECKING:
    import pandas as pd

    from treemarket.study.schema import Study

app = typer.Typer(
    rich_markup_mode="markdown",
    name="study",
    help="Studies at scale: sweeps and Monte Carlo over generated instances, on Dask.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

STUDY = typer.Argument(..., help="The study file (YAML or JSON).", show_default=False)
STORE = typer.Option(
    None, "--store", help="The result store (default: the study's, beside the study file)."
)


def _load(path: Path, store: Path | None) -> Study:
    from treemarket.study.schema import load_study

    study = load_study(path)
    return replace(study, store=store) if store is not None else study


@app.command("run")
def run_command(
    study_file: Path = STUDY,
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Address of a running Dask scheduler (tcp://host:8786)."
    ),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Worker processes of the embedded cluster (default: cores)."
    ),
    serial: bool = typer.Option(False, "--serial", help="Run in this process, without Dask."),
    retry_failed: bool = typer.Option(
        False, "--retry-failed", help="Compute the tasks that failed before again too."
    ),
    durable: bool = typer.Option(
        False, "--durable", help="Make every commit survive a power cut too (fsync per commit)."
    ),
    store: Path | None = STORE,
) -> None:
    """Compute every task of the study that is not stored yet (resumes after any stop)."""
    from treemarket.study.runner import RunState, run_study

    if serial and (scheduler or workers):
        raise ModelError("--serial runs without Dask: drop --scheduler/--workers", place="options")
    if scheduler and workers:
        raise ModelError(
            "--workers sizes the embedded cluster: drop it with --scheduler", place="options"
        )
    study = _load(study_file, store)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("failed: {task.fields[failed]}"),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        handle = bar.add_task(study.name, total=None, failed=0)

        def progress(state: RunState) -> None:
            bar.update(
                handle, total=state.total, completed=state.done + state.failed, failed=state.failed
            )

        def started(mode: str, n: int, dashboard: str | None) -> None:
            where = {
                "serial": "in this process",
                "local": f"on a local Dask cluster of {n} workers",
                "scheduler": f"on the Dask cluster at {scheduler} ({n} workers)",
            }
            bar.console.print(f"{study.name}: running {where[mode]}; store {study.store}")
            if mode != "serial":
                text = dashboard or "not running (it needs bokeh: pip install bokeh)"
                bar.console.print(f"Dask dashboard: {text}")

        summary = run_study(
            study,
            scheduler=scheduler,
            workers=workers,
            serial=serial,
            retry_failed=retry_failed,
            progress=progress,
            on_start=started,
            durable=durable,
        )
    state = summary.state
    console.print(
        f"done {state.done}, failed {state.failed}, pending {state.pending} of {state.total}; "
        f"computed {state.computed} in this run"
    )
    if state.failed:
        _print_failures(study)


@app.command("status")
def status_command(study_file: Path = STUDY, store: Path | None = STORE) -> None:
    """Done, failed and pending counts of the study's tasks."""
    from treemarket.study.runner import study_status

    study = _load(study_file, store)
    status = study_status(study)
    table = Table(title=f"study {study.name}")
    for column in ("tasks", "done", "failed", "pending"):
        table.add_column(column, justify="right")
    table.add_row(str(status.total), str(status.done), str(status.failed), str(status.pending))
    console.print(table)
    console.print(f"store: {study.store}" + ("" if study.store.exists() else " (not created yet)"))
    if status.stale:
        console.print(
            f"{status.stale} stored results belong to another version of the study "
            "or of treemarket (kept, not counted)"
        )
    if status.failures:
        _print_failures(study)


def _print_failures(study: Study, limit: int = 5) -> None:
    from treemarket.study.runner import study_status

    status = study_status(study, failures=limit)
    console.print(f"[yellow]{status.failed} failed tasks[/yellow]; the first ones:")
    for point, seed, error in status.failures:
        where = ", ".join(
            f"{k}={number(v) if isinstance(v, float) else v}" for k, v in point.items()
        )
        console.print(f"  {where or 'task'} seed={seed}: {error}", markup=False)


@app.command("report")
def report_command(
    study_file: Path = STUDY,
    out: Path = typer.Option(Path("out"), "--out", help="Folder for the tables and pictures."),
    format: str = typer.Option("csv", "--format", help="Tables as csv or md."),
    pictures: bool = typer.Option(True, "--pictures/--no-pictures", help="Draw the pictures."),
    store: Path | None = STORE,
) -> None:
    """Tables (per task and per point: mean and 95% CI over seeds) and pictures."""
    from treemarket.study.report import families, results_frame, summary_frame, write_report

    if format not in ("csv", "md"):
        raise ModelError(f"unknown format {format!r}; choose csv or md", place="--format")
    study = _load(study_file, store)
    frame = results_frame(study)
    if not len(frame):
        raise ModelError("nothing stored yet: run the study first", file=str(study_file))
    summary = summary_frame(study, frame)
    for family, members in families(study.metrics).items():
        _print_family(study, summary, family, members)
    for path in write_report(study, out, format, pictures=pictures):
        wrote(path)


def _print_family(
    study: Study, summary: pd.DataFrame, family: str, members: list[tuple[str, str]]
) -> None:
    """One table per metric family: a row per point, a column per member (mean ± CI half);
    shares as percentages."""
    from treemarket.study.report import is_share, metric_title

    share = is_share(family)
    show = percent if share else (lambda x, digits=4: number(x, digits))
    table = Table(title=f"{study.name}: {metric_title(family)}, mean ± 95% CI over seeds")
    for param in study.swept:
        table.add_column(param, justify="right")
    table.add_column("n", justify="right")
    for label, _ in members:
        table.add_column(label, justify="right")
    if len(summary):
        keys = study.swept
        grouped = summary.groupby(keys, sort=False, dropna=False) if keys else [((), summary)]
        for values, group in grouped:
            values = values if isinstance(values, tuple) else (values,)
            cells = [number(v, 4) if isinstance(v, float) else str(v) for v in values]
            cells.append(str(int(group["n"].max())))
            by_metric = {row.metric: row for row in group.itertuples()}
            for _, metric in members:
                row = by_metric[metric]
                half = (row.ci_high - row.ci_low) / 2
                if half == half and half <= 1e-12 * max(1.0, abs(row.mean)):
                    half = 0.0  # rounding noise of identical values
                spread = "" if half != half else f" ± {show(half, 1 if share else 2)}"
                cells.append(show(row.mean, 1 if share else 4) + spread)
            table.add_row(*cells)
    console.print(table)


def main() -> None:
    """``python -m treemarket.cli.study``: the sub-app on its own."""
    sys.exit(run_guarded(app))


if __name__ == "__main__":
    main()
