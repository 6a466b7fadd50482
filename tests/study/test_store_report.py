"""The store's guarantees and the report's numbers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from treemarket.errors import ModelError
from treemarket.study import load_study, results_frame, run_study, summary_frame
from treemarket.study.report import families, write_report
from treemarket.study.store import ResultStore
from treemarket.study.tasks import Outcome

from .helpers import write_study


def _outcome(key: str, status: str = "done", value: float = 1.0) -> Outcome:
    metrics = {"m": value} if status == "done" else None
    return Outcome(key, status, metrics, None if status == "done" else "boom", 0.1, "w:1")


def test_a_commit_is_all_or_nothing(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with ResultStore(path, "s") as store:
        store.commit([(_outcome("a"), {}, 0, {})])
        bad = [(_outcome("b"), {}, 0, {}), (_outcome("c", value=math.nan), {}, 0, {})]
        with pytest.raises(ValueError):
            store.commit(bad)  # NaN is not JSON: the whole batch is rolled back
        assert sorted(store.statuses()) == ["a"]
    with ResultStore(path, readonly=True) as store:
        assert store.meta()["study"] == "s"


def test_done_is_never_replaced_and_failed_only_on_retry(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "s.sqlite", "s") as store:
        store.commit([(_outcome("a", value=1.0), {}, 0, {}), (_outcome("f", "failed"), {}, 0, {})])
        assert store.commit([(_outcome("a", value=2.0), {}, 0, {})]) == 0
        assert store.commit([(_outcome("f", value=3.0), {}, 0, {})], replace_failed=False) == 0
        assert store.commit([(_outcome("f", value=3.0), {}, 0, {})]) == 1
        rows = {r.key: r for r in store.results()}
    assert rows["a"].metrics == {"m": 1.0}
    assert rows["f"].status == "done" and rows["f"].metrics == {"m": 3.0}


def test_a_store_belongs_to_one_study(tmp_path: Path) -> None:
    ResultStore(tmp_path / "s.sqlite", "one").close()
    with pytest.raises(ModelError, match="belongs to study 'one'"):
        ResultStore(tmp_path / "s.sqlite", "two")


def test_summary_is_the_mean_and_t_interval_over_seeds(tmp_path: Path, small_study) -> None:
    study = load_study(write_study(tmp_path, small_study))
    run_study(study, serial=True)
    frame = results_frame(study)
    assert len(frame) == 12 and set(frame["status"]) == {"done"}
    summary = summary_frame(study, frame)
    assert len(summary) == 4 * 2  # points × metrics
    row = summary[
        (summary.accuracy == 1.0)
        & (summary.buyers == 4)
        & (summary.metric == "simulate.market.welfare")
    ].iloc[0]
    x = frame[(frame.accuracy == 1.0) & (frame.buyers == 4)]["simulate.market.welfare"]
    x = x.to_numpy(dtype=float)
    half = stats.t.ppf(0.975, 2) * x.std(ddof=1) / np.sqrt(3)
    assert row["n"] == 3 and row["mean"] == pytest.approx(x.mean())
    assert row["ci_low"] == pytest.approx(x.mean() - half)
    assert row["ci_high"] == pytest.approx(x.mean() + half)
    # the market is never worse than myopic selling, seed by seed
    assert (frame["simulate.market.welfare"] >= frame["simulate.myopic.welfare"] - 1e-9).all()


def test_report_writes_csv_tables_and_one_picture_per_family_and_parameter(
    tmp_path: Path, small_study
) -> None:
    small_study["metrics"] = ["simulate.*.welfare", "simulate.optimum"]
    study = load_study(write_study(tmp_path, small_study))
    run_study(study, serial=True)
    written = write_report(study, tmp_path / "out", "csv")
    names = sorted(p.name for p in written)
    assert names == sorted(
        [
            "small-tasks.csv",
            "small-summary.csv",
            "small-simulate.welfare-vs-accuracy.png",
            "small-simulate.welfare-vs-buyers.png",
            "small-simulate.optimum-vs-accuracy.png",
            "small-simulate.optimum-vs-buyers.png",
        ]
    )
    assert all(p.stat().st_size > 0 for p in written)
    assert list(families(study.metrics)) == ["simulate.welfare", "simulate.optimum"]
    tasks = (tmp_path / "out" / "small-tasks.csv").read_text().splitlines()
    assert len(tasks) == 1 + 12 and tasks[0].startswith("key,accuracy,buyers,seed,status")
