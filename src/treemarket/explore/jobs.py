"""Solves for the explore page, each in its own process: progress comes back through a pipe,
and cancelling stops the process (the honest way to stop HiGHS in the middle of a solve)."""

from __future__ import annotations

import itertools
import multiprocessing as mp
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing import forkserver
from multiprocessing.connection import Connection
from typing import Any

PROGRESS_EVERY = 0.2  # seconds between two progress messages from a solve
RANGE_SECONDS = 10.0  # price ranges: given up (and said so) past this many seconds, as the CLI


def _context() -> Any:
    """Processes forked from a server process that has the library imported once (fast starts,
    and no fork of the web server's threads)."""
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["treemarket.explore.jobs", "treemarket.ttp"])
    return ctx


def _answer(conn: Connection, work: Callable[[], dict[str, Any]]) -> None:
    """Send ``("done", work())``, or ``("error", {message, line})`` when the model is wrong or
    the solver fails; then close the pipe."""
    from treemarket.errors import ModelError, TreemarketError
    from treemarket.explore.api import error_json

    try:
        conn.send(("done", work()))
    except ModelError as exc:
        conn.send(("error", error_json(exc)))
    except TreemarketError as exc:
        conn.send(("error", {"message": f"solver error: {exc}", "line": None}))
    finally:
        conn.close()


def _ttp_model(text: str, file: str | None, doing: str) -> Any:
    """The TTP model of ``text`` (a :class:`ModelError` for anything else)."""
    from treemarket.errors import ModelError
    from treemarket.explore.api import load_text
    from treemarket.ttp import TTPModel

    model = load_text(text, file).model
    if not isinstance(model, TTPModel):
        raise ModelError(f"only TTP models are {doing} here", file=file)
    return model


def run_solve(conn: Connection, text: str, file: str | None, method: str) -> None:
    """The body of a solve process: load the model, solve it, send ``("done", json)`` or
    ``("error", {message, line})``; ``("progress", {...})`` on the way."""
    from treemarket.explore.api import solution_json
    from treemarket.ttp import ExactOptions, solve

    last = [0.0]

    def report(step: int, bound: float, welfare: float, gap: float) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY:
            last[0] = now
            conn.send(("progress", {"step": step, "bound": bound, "welfare": welfare, "gap": gap}))

    def work() -> dict[str, Any]:
        exact = ExactOptions(range_time_limit=RANGE_SECONDS)
        model = _ttp_model(text, file, "solved")
        return solution_json(solve(model, method, exact=exact, progress=report))

    _answer(conn, work)


def run_compare(conn: Connection, text: str, file: str | None, method: str) -> None:
    """The body of a comparison process (:func:`treemarket.explore.api.compare_json`); sends
    ``("done", json)`` or ``("error", {message, line})``. ``method`` is not used."""
    from treemarket.explore.api import compare_json

    _answer(conn, lambda: compare_json(_ttp_model(text, file, "compared")))


TASKS = {"solve": run_solve, "compare": run_compare}


@dataclass
class Job:
    """One solve: its process, the pipe's end and what is known so far."""

    id: str
    task: str
    process: Any
    conn: Connection
    started: float = field(default_factory=time.monotonic)
    state: str = "running"  # running | done | error | cancelled
    progress: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "state": self.state,
            "seconds": round(time.monotonic() - self.started, 1),
            "progress": self.progress,
        }
        if self.result is not None:
            out["result"] = self.result
        if self.error is not None:
            out["error"] = self.error
        return out


class Jobs:
    """The page's solves and comparisons: at most one of each runs (a new one cancels the
    last); polled by id."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def warm(self) -> threading.Thread:
        """Start the process server (it imports the library, a few seconds) in a background
        thread, so that the page's first solve does not wait for it; the thread."""

        def start() -> None:
            _context()
            forkserver.ensure_running()

        thread = threading.Thread(target=start, daemon=True)
        thread.start()
        return thread

    def start(self, text: str, file: str | None, method: str, task: str = "solve") -> str:
        """Start ``task`` (solve, compare) on ``text`` with ``method`` in a new process; its
        job id."""
        with self._lock:
            for job in self._jobs.values():
                if job.state == "running" and job.task == task:
                    self._stop(job)
            ctx = _context()
            mine, theirs = ctx.Pipe(duplex=False)
            process = ctx.Process(
                target=TASKS[task], args=(theirs, text, file, method), daemon=True
            )
            process.start()
            theirs.close()
            job = Job(str(next(self._ids)), task, process, mine)
            self._jobs = {k: v for k, v in self._jobs.items() if v.state == "running"}
            self._jobs[job.id] = job
            return job.id

    def status(self, job_id: str) -> dict[str, Any] | None:
        """What the job has sent so far (None: no such job)."""
        return self._running(job_id, self._read)

    def cancel(self, job_id: str) -> dict[str, Any] | None:
        """Stop the job's process (None: no such job)."""
        return self._running(job_id, self._stop)

    def _running(self, job_id: str, act: Callable[[Job], None]) -> dict[str, Any] | None:
        """``act`` on the job while it runs, then its status (None: no such job)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            if job.state == "running":
                act(job)
            return job.status()

    def close(self) -> None:
        """Stop every running solve (the server is stopping)."""
        with self._lock:
            for job in self._jobs.values():
                if job.state == "running":
                    self._stop(job)

    def _read(self, job: Job) -> None:
        try:
            while job.conn.poll():
                kind, payload = job.conn.recv()
                if kind == "progress":
                    job.progress = payload
                elif kind == "done":
                    job.state, job.result = "done", payload
                else:
                    job.state, job.error = "error", payload
        except (EOFError, OSError):
            pass
        if job.state == "running" and not job.process.is_alive():
            job.process.join()
            job.state = "error"
            job.error = {
                "message": "solver error: the solve process ended without an answer "
                f"(exit status {job.process.exitcode})",
                "line": None,
            }
        if job.state != "running":
            job.conn.close()
            job.process.join(timeout=5)

    def _stop(self, job: Job) -> None:
        job.process.terminate()
        job.process.join(timeout=2)
        if job.process.is_alive():
            job.process.kill()
            job.process.join()
        job.conn.close()
        job.state = "cancelled"
