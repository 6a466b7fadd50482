"""The result store: one SQLite database in WAL mode per study.

Every finished task is one row, keyed by the task's key (a hash of its parameters and the
package version), committed in its own transaction (or with the others that finished at the
same moment): a study killed at any moment, ``kill -9`` included, leaves every committed row
intact and no partial one, and the primary key makes "stored exactly once" a constraint of the
database rather than a convention. Readers (``status``, ``report``) never block the writer.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import treemarket
from treemarket.errors import ModelError
from treemarket.study.tasks import Outcome

SCHEMA_VERSION = "1"

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    key      TEXT PRIMARY KEY,
    status   TEXT NOT NULL CHECK (status IN ('done', 'failed')),
    point    TEXT NOT NULL,
    seed     INTEGER NOT NULL,
    spec     TEXT NOT NULL,
    metrics  TEXT,
    error    TEXT,
    seconds  REAL NOT NULL,
    worker   TEXT NOT NULL,
    version  TEXT NOT NULL,
    finished REAL NOT NULL
) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class StoredResult:
    """One row of the store."""

    key: str
    status: str
    point: dict[str, Any]
    seed: int
    metrics: dict[str, float | None] | None
    error: str | None
    seconds: float
    worker: str
    version: str


class ResultStore:
    """A study's results in SQLite (WAL journal, one writer).

    Parameters
    ----------
    path : path
        The database file (created with its folder when missing).
    study : str, optional
        The study's name: recorded on creation and checked afterwards, so that two studies
        never share a store by accident.
    readonly : bool
        Open an existing store for reading only (``status``, ``report``).
    durable : bool
        ``synchronous=FULL``: every commit also survives a power cut or an operating-system
        crash (an fsync per commit, ~20 ms on a slow disk). The default ``NORMAL`` keeps every
        commit through the death of the process (``kill -9`` included); a power cut can lose
        the last commits (never corrupt the store), which a resumed run recomputes.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from treemarket.study.tasks import Outcome
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with ResultStore(folder / "s.sqlite", "demo") as store:
    ...     outcome = Outcome("k1", "done", {"x": 1.0}, None, 0.1, "w")
    ...     written = store.commit([(outcome, {"a": 1}, 0, {})])
    ...     store.counts()
    {'done': 1, 'failed': 0}
    """

    def __init__(
        self,
        path: str | Path,
        study: str | None = None,
        *,
        readonly: bool = False,
        durable: bool = False,
    ) -> None:
        self.path = Path(path)
        if readonly:
            if not self.path.exists():
                raise FileNotFoundError(str(self.path))
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            with self._transaction():
                for statement in _TABLES.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,)
                )
                if study is not None:
                    self._db.execute("INSERT OR IGNORE INTO meta VALUES ('study', ?)", (study,))
        if study is not None:
            owner = self.meta().get("study")
            if owner is not None and owner != study:
                raise ModelError(
                    f"this store belongs to study {owner!r}, not {study!r}", file=str(self.path)
                )

    # ------------------------------------------------------------------ context management
    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (every commit is already durable)."""
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # ------------------------------------------------------------------------------ writing
    def commit(
        self,
        outcomes: Iterable[tuple[Outcome, dict[str, Any], int, dict[str, Any]]],
        replace_failed: bool = True,
    ) -> int:
        """Store finished tasks ``(outcome, point, seed, spec)`` in one atomic transaction.

        A task already stored as done is never stored again; a failed one is replaced by a new
        outcome when ``replace_failed`` (a retry). Returns the number of rows written.
        """
        now = time.time()
        written = 0
        with self._transaction():
            for outcome, point, seed, spec in outcomes:
                row = (
                    outcome.key,
                    outcome.status,
                    _dumps(point),
                    int(seed),
                    _dumps(spec),
                    None if outcome.metrics is None else _dumps(outcome.metrics),
                    outcome.error,
                    float(outcome.seconds),
                    outcome.worker,
                    treemarket.__version__,
                    now,
                )
                cursor = self._db.execute(
                    "INSERT INTO results VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(key) DO UPDATE"
                    " SET status=excluded.status, metrics=excluded.metrics, error=excluded.error,"
                    " seconds=excluded.seconds, worker=excluded.worker,"
                    " finished=excluded.finished WHERE results.status = 'failed' AND ?",
                    (*row, int(replace_failed)),
                )
                written += cursor.rowcount
        return written

    # ------------------------------------------------------------------------------ reading
    def meta(self) -> dict[str, str]:
        """The store's metadata (``schema``, ``study``)."""
        return dict(self._db.execute("SELECT name, value FROM meta").fetchall())

    def counts(self) -> dict[str, int]:
        """``{"done": n, "failed": m}`` over every stored row."""
        out = {"done": 0, "failed": 0}
        for status, n in self._db.execute("SELECT status, COUNT(*) FROM results GROUP BY status"):
            out[status] = n
        return out

    def statuses(self) -> dict[str, str]:
        """Key -> status of every stored task."""
        return dict(self._db.execute("SELECT key, status FROM results").fetchall())

    def results(self, keys: Sequence[str] | None = None) -> list[StoredResult]:
        """The stored rows (all, or those of ``keys``, in that order when given)."""
        query = (
            "SELECT key, status, point, seed, metrics, error, seconds, worker, version FROM results"
        )
        rows = {row[0]: row for row in self._db.execute(query)}
        order = sorted(rows) if keys is None else [k for k in keys if k in rows]
        return [_row(rows[k]) for k in order]


def _row(row: tuple[Any, ...]) -> StoredResult:
    key, status, point, seed, metrics, error, seconds, worker, version = row
    return StoredResult(
        key=key,
        status=status,
        point=json.loads(point),
        seed=int(seed),
        metrics=None if metrics is None else json.loads(metrics),
        error=error,
        seconds=float(seconds),
        worker=worker,
        version=version,
    )


def _dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)
