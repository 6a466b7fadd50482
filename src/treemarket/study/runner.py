"""Running a study: the tasks not yet stored, on Dask (or serially), committed as they finish.

By default the tasks run on an embedded Dask ``LocalCluster`` (one single-threaded worker
process per core); ``scheduler`` attaches to an existing cluster instead (``dask scheduler`` /
``dask worker``, or any Dask deployment). Only the task specs travel: the workers generate the
models. Results come back to this process, which alone writes the store; a sliding window of
submitted tasks bounds the memory of the scheduler and what an interruption can lose (nothing
that was committed).
"""

from __future__ import annotations

import importlib.util
import itertools
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from treemarket.errors import TreemarketError
from treemarket.study.schema import Study, Task
from treemarket.study.store import ResultStore
from treemarket.study.tasks import Outcome, describe_error, execute, execute_many


@dataclass(frozen=True)
class RunState:
    """Where a run stands: counts over the study's tasks.

    ``done`` and ``failed`` include what was stored before this run; ``computed`` counts
    the tasks finished by this run.
    """

    total: int
    done: int
    failed: int
    computed: int
    to_compute: int

    @property
    def pending(self) -> int:
        """Tasks with no stored result."""
        return self.total - self.done - self.failed


@dataclass(frozen=True)
class RunSummary:
    """The end of a run: the final counts, where it ran and the dashboard it had."""

    state: RunState
    mode: str  # "serial", "local" or "scheduler"
    workers: int
    dashboard: str | None = None


ProgressCallback = Callable[[RunState], None]

CHUNK_SECONDS = 0.2  # work per Dask task when study tasks are small
MAX_CHUNK = 64


@dataclass(frozen=True)
class StudyStatus:
    """Done, failed and pending counts of a study, and stored results that are not part of
    it any more (another version of the package or of the study file)."""

    total: int
    done: int
    failed: int
    pending: int
    stale: int
    failures: list[tuple[dict[str, Any], int, str]]


def study_status(study: Study, failures: int = 5) -> StudyStatus:
    """Count the study's tasks by state (no store yet: everything pending).

    ``failures`` is how many failed tasks to return with their point, seed and message.
    """
    tasks = study.tasks()
    keys = {t.key for t in tasks}
    if not study.store.exists():
        return StudyStatus(len(tasks), 0, 0, len(tasks), 0, [])
    with ResultStore(study.store, readonly=True) as store:
        statuses = store.statuses()
        failed_keys = [t.key for t in tasks if statuses.get(t.key) == "failed"][:failures]
        failed_rows = store.results(failed_keys)
    done = sum(1 for t in tasks if statuses.get(t.key) == "done")
    failed = sum(1 for t in tasks if statuses.get(t.key) == "failed")
    stale = sum(1 for k in statuses if k not in keys)
    listed = [(row.point, row.seed, row.error or "") for row in failed_rows]
    return StudyStatus(len(tasks), done, failed, len(tasks) - done - failed, stale, listed)


def pending_tasks(
    study: Study, store: ResultStore, retry_failed: bool = False
) -> tuple[list[Task], RunState]:
    """The tasks to compute (no stored result; failed ones too with ``retry_failed``)."""
    tasks = study.tasks()
    statuses = store.statuses()
    done = sum(1 for t in tasks if statuses.get(t.key) == "done")
    failed = sum(1 for t in tasks if statuses.get(t.key) == "failed")
    wanted = {None, "failed"} if retry_failed else {None}
    todo = [t for t in tasks if statuses.get(t.key) in wanted]
    return todo, RunState(len(tasks), done, failed, 0, len(todo))


def local_cluster(workers: int | None = None) -> Any:
    """An embedded Dask ``LocalCluster``: ``workers`` single-threaded processes (default one
    per core), quiet logs, a dashboard on a free port when bokeh is installed.

    Dask's nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` in its workers, which makes glibc
    return every large numpy temporary to the system and slows the solvers 3-4x; the workers
    started here keep the C library's default (the thread limits stay). Without a dashboard
    (no bokeh) the workers' statistical profiler is off too.
    """
    import dask
    from distributed import LocalCluster

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    settings: dict[str, Any] = {"distributed.nanny.pre-spawn-environ": environ}
    if not has_bokeh():
        settings["distributed.worker.profile.enabled"] = False  # no dashboard to show it
    with dask.config.set(settings):
        return LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        )


def has_bokeh() -> bool:
    """Is the Dask dashboard available (it needs bokeh)?"""
    return importlib.util.find_spec("bokeh") is not None


def run_study(
    study: Study,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    serial: bool = False,
    retry_failed: bool = False,
    progress: ProgressCallback | None = None,
    on_start: Callable[[str, int, str | None], None] | None = None,
    window: int | None = None,
    durable: bool = False,
) -> RunSummary:
    """Compute every task of ``study`` that has no stored result and commit each as it ends.

    Parameters
    ----------
    study : Study
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:8786``); default: an embedded
        ``LocalCluster``.
    workers : int, optional
        Worker processes of the embedded cluster (default: one per core).
    serial : bool
        Run in this process, one task after another (no Dask).
    retry_failed : bool
        Compute the failed tasks again too.
    progress : callable, optional
        Called with a :class:`RunState` at the start and after every commit.
    on_start : callable, optional
        Called once with the mode, the number of workers and the dashboard address (or None).
    window : int, optional
        How many Dask tasks may be submitted and unfinished at once (default 4 per worker
        thread, at least 8); small study tasks are grouped into Dask tasks of about 0.2 s.
    durable : bool
        Make every commit survive a power cut too (``synchronous=FULL``: an fsync per commit);
        by default commits survive the death of the process, ``kill -9`` included.
    """
    if workers is not None and workers < 1:
        raise ValueError("workers must be at least 1")
    with ResultStore(study.store, study.name, durable=durable) as store:
        todo, state = pending_tasks(study, store, retry_failed)
        if progress is not None:
            progress(state)
        if serial:
            if on_start is not None:
                on_start("serial", 1, None)
            state = _run_serial(todo, store, state, progress)
            return RunSummary(state, "serial", 1)
        return _run_dask(todo, store, state, progress, on_start, scheduler, workers, window)


def _account(
    state: RunState, outcomes: list[Outcome], before: Mapping[str, str | None]
) -> RunState:
    done, failed = state.done, state.failed
    for outcome in outcomes:
        previous = before.get(outcome.key)
        if previous == "failed":
            failed -= 1
        if outcome.status == "done":
            done += 1
        else:
            failed += 1
    return replace(state, done=done, failed=failed, computed=state.computed + len(outcomes))


def _run_serial(
    todo: list[Task], store: ResultStore, state: RunState, progress: ProgressCallback | None
) -> RunState:
    statuses = store.statuses()
    for task in todo:
        outcome = execute(task.key, task.spec)
        store.commit([(outcome, task.point, task.seed, task.spec)])
        state = _account(state, [outcome], statuses)
        if progress is not None:
            progress(state)
    return state


def _run_dask(
    todo: list[Task],
    store: ResultStore,
    state: RunState,
    progress: ProgressCallback | None,
    on_start: Callable[[str, int, str | None], None] | None,
    scheduler: str | None,
    workers: int | None,
    window: int | None,
) -> RunSummary:
    from distributed import Client

    cluster = None
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="30s")
        except OSError as exc:
            raise TreemarketError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
        mode = "scheduler"
    else:
        cluster = local_cluster(workers)
        client = Client(cluster)
        mode = "local"
    try:
        info = client.scheduler_info()
        threads = sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()) or 1
        services = info.get("services", {})
        dashboard = client.dashboard_link if has_bokeh() and "dashboard" in services else None
        if on_start is not None:
            on_start(mode, len(info.get("workers", {})), dashboard)
        state = _drain(client, todo, store, state, progress, window or max(8, 4 * threads))
        return RunSummary(state, mode, len(info.get("workers", {})), dashboard)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _drain(
    client: Any,
    todo: list[Task],
    store: ResultStore,
    state: RunState,
    progress: ProgressCallback | None,
    window: int,
    chunk_seconds: float = CHUNK_SECONDS,
) -> RunState:
    """Keep ``window`` Dask tasks submitted; commit every batch of finished ones at once.

    Small study tasks travel in chunks: once a few tasks have finished, each Dask task carries
    as many study tasks as take about ``chunk_seconds`` (at most :data:`MAX_CHUNK`), so that
    Dask's own overhead per task (a few milliseconds) stays small against the work.
    """
    from concurrent.futures import CancelledError

    from distributed import as_completed

    statuses: dict[str, str | None] = dict(store.statuses())
    by_key: dict[str, list[Task]] = {}
    queue: Iterator[Task] = iter(todo)
    durations: list[float] = []
    size = 1

    def submit() -> Any | None:
        items = list(itertools.islice(queue, size))
        if not items:
            return None
        name = f"treemarket-study-{items[0].key}-{len(items)}"
        by_key[name] = items
        payload = [(t.key, t.spec) for t in items]
        return client.submit(execute_many, payload, key=name, pure=False)

    first = [f for f in (submit() for _ in range(window)) if f is not None]
    if not first:
        return state
    completed = as_completed(first)
    for batch in completed.batches():
        records = []
        outcomes: list[Outcome] = []
        for future in batch:
            items = by_key.pop(future.key)
            try:
                results = future.result()
            except CancelledError:
                raise TreemarketError(
                    "the Dask cluster cancelled the study's tasks; run it again to resume"
                ) from None
            except Exception as exc:  # a worker died running it, or the task could not run
                message = describe_error(exc)
                results = [Outcome(t.key, "failed", None, message, 0.0, "-") for t in items]
            future.release()
            for task, outcome in zip(items, results, strict=True):
                outcomes.append(outcome)
                records.append((outcome, task.point, task.seed, task.spec))
                durations.append(outcome.seconds)
        if len(durations) >= 4:
            mean = sum(durations[-64:]) / len(durations[-64:])
            size = max(1, min(MAX_CHUNK, int(chunk_seconds / max(mean, 1e-6))))
        for _ in batch:
            following = submit()
            if following is not None:
                completed.add(following)
        store.commit(records)
        state = _account(state, outcomes, statuses)
        for outcome in outcomes:
            statuses[outcome.key] = outcome.status
        if progress is not None:
            progress(state)
    return state
