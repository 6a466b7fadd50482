"""Running studies: serial and Dask agree, failures are recorded, kill -9 then resume."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from treemarket.study import load_study, run_study, study_status
from treemarket.study.store import ResultStore

from . import failing
from .helpers import stored, write_study

MIXED = {
    "study": "mixed",
    "model": {"generator": "tests.study.failing:model"},
    "sweep": {"grid": {"fail": [False, True], "buyers": [2, 4]}},
    "seeds": 3,
    "compute": {"solve": {"method": "market"}, "simulate": {"draws": 4}},
}
FAILURE = f"ValueError: {failing.MESSAGE}"


def test_failing_tasks_are_recorded_and_the_rest_go_on(tmp_path: Path) -> None:
    study = load_study(write_study(tmp_path, MIXED))
    summary = run_study(study, serial=True)
    assert (summary.state.done, summary.state.failed, summary.state.pending) == (6, 6, 0)
    rows = stored(study.store)
    tasks = {t.key: t for t in study.tasks()}
    assert set(rows) == set(tasks)
    for key, (status, metrics, error) in rows.items():
        if tasks[key].point["fail"]:
            assert status == "failed" and metrics is None
            assert error.startswith(FAILURE)
        else:
            assert status == "done" and error is None
            assert metrics["simulate.market.welfare"] == pytest.approx(metrics["solve.welfare"])
    status = study_status(study)
    assert (status.done, status.failed, status.pending) == (6, 6, 0)
    assert all(err.startswith(FAILURE) for _, _, err in status.failures)
    # a second run computes nothing; --retry-failed computes the failures again
    assert run_study(study, serial=True).state.computed == 0
    assert run_study(study, serial=True, retry_failed=True).state.computed == 6
    assert stored(study.store) == rows


def test_serial_and_two_worker_cluster_store_identical_results(tmp_path: Path) -> None:
    study = load_study(write_study(tmp_path, MIXED))
    serial = replace(study, store=tmp_path / "serial.sqlite")
    dask = replace(study, store=tmp_path / "dask.sqlite")
    run_study(serial, serial=True)
    seen: list[tuple[str, int, str | None]] = []
    summary = run_study(dask, workers=2, window=4, on_start=lambda *a: seen.append(a))
    assert summary.mode == "local" and summary.workers == 2 and seen[0][:2] == ("local", 2)
    assert summary.state.computed == len(study.tasks())
    a, b = stored(serial.store), stored(dask.store)
    assert len(a) == len(study.tasks()) == 12
    assert a == b
    with ResultStore(dask.store, readonly=True) as store:
        workers = {r.worker for r in store.results()}
    assert len(workers) >= 1 and all(w.rsplit(":", 1)[1] != str(os.getpid()) for w in workers)


SLOW = {
    "study": "slow",
    "model": {"generator": "forecast", "params": {"horizon": 3, "supply": 1}},
    "sweep": {"grid": {"accuracy": [0.5, 0.7, 0.9, 1.0], "buyers": [4, 8]}},
    "seeds": 5,
    "compute": {"simulate": {"draws": 24}},
    "metrics": ["simulate.*.welfare", "simulate.*.revenue"],
}


def _count(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        with sqlite3.connect(f"{store.resolve().as_uri()}?mode=ro", uri=True) as db:
            return db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # the tables are not created yet


def _kill_mid_run(path: Path, args: list[str], at_least: int) -> int:
    """Start ``study run``, SIGKILL its process group once ``at_least`` rows are stored."""
    store = load_study(path).store
    process = subprocess.Popen(
        [sys.executable, "-m", "treemarket.cli.study", "run", str(path), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while _count(store) < at_least and process.poll() is None:
            assert time.monotonic() < deadline, "the study made no progress"
            time.sleep(0.02)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return process.returncode


def _resume_and_compare(tmp_path: Path, path: Path) -> None:
    study = load_study(path)
    before = _count(study.store)
    total = len(study.tasks())
    assert 0 < before < total, "the kill did not land mid-run"
    summary = run_study(study, serial=True)
    assert summary.state.computed == total - before  # only what was missing
    with ResultStore(study.store, readonly=True) as store:
        keys = [r.key for r in store.results()]
    assert sorted(keys) == sorted(t.key for t in study.tasks())  # each exactly once
    reference = replace(study, store=tmp_path / "uninterrupted.sqlite")
    run_study(reference, serial=True)
    assert stored(study.store) == stored(reference.store)


def test_sigkill_mid_run_then_resume_stores_each_task_once(tmp_path: Path) -> None:
    path = write_study(tmp_path, SLOW)
    code = _kill_mid_run(path, ["--serial"], at_least=6)
    assert code == -signal.SIGKILL
    status = study_status(load_study(path))
    assert status.pending > 0 and status.done + status.failed + status.pending == status.total
    _resume_and_compare(tmp_path, path)


@pytest.mark.slow
def test_sigkill_of_a_dask_run_then_resume(tmp_path: Path) -> None:
    path = write_study(tmp_path, SLOW)
    code = _kill_mid_run(path, ["--workers", "2"], at_least=6)
    assert code == -signal.SIGKILL
    _resume_and_compare(tmp_path, path)
