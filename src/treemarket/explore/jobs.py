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


def run_solve(conn: Connection, text: str, file: str | None, method: str) -> None:
    """The body of a solve process: load the model, solve it, send ``("done", json)`` or
    ``("error", {message, line})``; ``("progress", {...})`` on the way."""
    from treemarket.errors import ModelError, TreemarketError
    from treemarket.explore.api import error_json, load_text, solution_json
    from treemarket.ttp import ExactOptions, TTPModel, solve

    last = [0.0]

    def report(step: int, bound: float, welfare: float, gap: float) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY:
            last[0] = now
            conn.send(("progress", {"step": step, "bound": bound, "welfare": welfare, "gap": gap}))

    try:
        loaded = load_text(text, file)
        if not isinstance(loaded.model, TTPModel):
            raise ModelError("only TTP models are solved here", file=file)
        exact = ExactOptions(range_time_limit=RANGE_SECONDS)
        solution = solve(loaded.model, method, exact=exact, progress=report)
        conn.send(("done", solution_json(solution)))
    except ModelError as exc:
        conn.send(("error", error_json(exc)))
    except TreemarketError as exc:
        conn.send(("error", {"message": f"solver error: {exc}", "line": None}))
    finally:
        conn.close()


def run_compare(conn: Connection, text: str, file: str | None, method: str) -> None:
    """The body of a comparison process (:func:`treemarket.explore.api.compare_json`); sends
    ``("done", json)`` or ``("error", {message, line})``. ``method`` is not used."""
    from treemarket.errors import ModelError, TreemarketError
    from treemarket.explore.api import compare_json, error_json, load_text
    from treemarket.ttp import TTPModel

    try:
        loaded = load_text(text, file)
        if not isinstance(loaded.model, TTPModel):
            raise ModelError("only TTP models are compared here", file=file)
        conn.send(("done", compare_json(loaded.model)))
    except ModelError as exc:
        conn.send(("error", error_json(exc)))
    except TreemarketError as exc:
        conn.send(("error", {"message": f"solver error: {exc}", "line": None}))
    finally:
        conn.close()


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
