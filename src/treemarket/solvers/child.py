"""A call in a child process that is stopped at a deadline.

A solver that does not look at its clock often enough cannot be stopped from inside: HiGHS's MIP
presolve on 2·10^5 columns ran 570 s past a 170 s limit (benchmarks/README.md). Such a call
runs in a spawned child, which is killed when its deadline plus :data:`GRACE` seconds have passed.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

GRACE = 5.0  # seconds a child may run past its deadline (its own limit) before it is killed


class Stopped(Exception):
    """The child was killed at its deadline, or died, before it answered."""


def _child(function: Callable[..., Any], args: tuple[Any, ...], send: Connection) -> None:
    try:
        send.send((True, function(*args)))
    except BaseException as error:  # the parent raises it, with the child's message
        send.send((False, f"{type(error).__name__}: {error}"))


def call_with_deadline(function: Callable[..., Any], args: tuple[Any, ...], seconds: float) -> Any:
    """``function(*args)`` in a spawned child; :class:`Stopped` when it has not answered after
    ``seconds + GRACE`` seconds (the child is then killed), ``RuntimeError`` when it raised.

    ``function`` and ``args`` must be picklable (a module-level function, plain data).

    Examples
    --------
    >>> call_with_deadline(divmod, (7, 2), 10.0)
    (3, 1)
    """
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(function, args, send), daemon=True)
    deadline = time.monotonic() + seconds + GRACE
    process.start()
    send.close()
    try:
        if not receive.poll(max(0.0, deadline - time.monotonic())):
            raise Stopped(f"no answer within {seconds:g} s")
        ok, value = receive.recv()
    except EOFError as error:  # the child died without a word
        raise Stopped(f"the child process ended with code {process.exitcode}") from error
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receive.close()
    if not ok:
        raise RuntimeError(value)
    return value
