"""What every benchmark shares: the random-walk instance, peak memory, a case in its own process.

A case runs in a fresh (spawned) process so that its peak memory (max RSS) is its own; it puts
one result row (a dict) on the queue it is given.
"""

from __future__ import annotations

import multiprocessing as mp
import resource
from collections.abc import Callable
from typing import Any

import numpy as np


def instance(depth: int, buyers: int, seed: int = 0):
    """The random-walk benchmark family: a binary tree of depth ``depth``, ``buyers`` buyers,
    μ(t) in {1, 2, 3}, real-valued random-walk values (the ``random_walk`` zoo family)."""
    from treemarket.testing import random_model

    rng = np.random.default_rng(seed)
    return random_model(
        rng,
        horizon=depth,
        buyers=buyers,
        branching=2,
        supply=(1, 3),
        step=2.0,
        integer_values=False,
    )


def peak_mb() -> float:
    """The peak resident memory of this process or of the largest of its finished children (a
    solver stopped at its deadline in a child process), in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def isolated(target: Callable[..., None], *args: Any, limit: float | None = None) -> dict:
    """Run ``target(*args, queue)`` in a fresh process and return the row it puts on the queue;
    a row with ``error`` when it is killed after ``limit`` seconds or dies (out of memory)."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    proc.join(limit)
    if proc.is_alive():
        proc.kill()
        proc.join()
        return {"error": "killed: over the wall-clock limit"}
    if proc.exitcode != 0 and queue.empty():
        return {"error": f"exit code {proc.exitcode} (out of memory?)"}
    return queue.get()
