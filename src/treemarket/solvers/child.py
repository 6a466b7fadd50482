"""A call in a child process that is stopped at a deadline.

A solver that does not look at its clock often enough cannot be stopped from inside: HiGHS's MIP
presolve on 2·10^5 columns ran 570 s past a 170 s limit (benchmarks/README.md). Such a call
runs in a child Python (a fresh interpreter running :func:`_main`), which is killed when its
deadline plus :data:`GRACE` seconds have passed.

The child is a fresh interpreter that reads the pickled call on its stdin and writes the pickled
answer on its stdout. Unlike :mod:`multiprocessing`'s spawn, it does not run the caller's main
module again: a user's script without ``if __name__ == "__main__":`` works, and a child that
dies early is seen at once (spawn would keep writing the call into a pipe nobody reads).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

GRACE = 5.0  # seconds a child may run past its deadline (its own limit) before it is killed


class Stopped(Exception):
    """The child was killed at its deadline, or died, before it answered."""


def call_with_deadline(function: Callable[..., Any], args: tuple[Any, ...], seconds: float) -> Any:
    """``function(*args)`` in a child process; :class:`Stopped` when it has not answered after
    ``seconds + GRACE`` seconds (the child is then killed) or died without an answer,
    ``RuntimeError`` when it raised.

    ``function`` and ``args`` must be picklable, and ``function`` importable by the child (a
    module-level function of a module, not of the script being run; plain data).

    Examples
    --------
    >>> call_with_deadline(divmod, (7, 2), 10.0)
    (3, 1)
    """
    deadline = time.monotonic() + seconds + GRACE
    call = pickle.dumps((function, args), protocol=pickle.HIGHEST_PROTOCOL)
    # the child imports what this process can import (as multiprocessing's spawn does)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    command = [sys.executable, "-c", "from treemarket.solvers.child import _main; _main()"]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env) as child:
        try:
            answer, _ = child.communicate(call, timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            raise Stopped(f"no answer within {seconds:g} s") from None
    try:
        ok, value = pickle.loads(answer)
    except Exception as error:  # nothing, or a part, was written: the child died
        raise Stopped(f"the child process ended with code {child.returncode}") from error
    if not ok:
        raise RuntimeError(value)
    return value


def _main() -> None:
    """The child: the call from stdin, the answer to stdout (anything else printed goes to
    stderr, so that it cannot mix with the answer)."""
    answer = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    function, args = pickle.load(sys.stdin.buffer)
    try:
        reply = (True, function(*args))
    except BaseException as error:  # the parent raises it, with the child's message
        reply = (False, f"{type(error).__name__}: {error}")
    with answer:
        pickle.dump(reply, answer, protocol=pickle.HIGHEST_PROTOCOL)
