"""How long the explore page's first solve (the weather example) takes from its start to its
answer, with the process server started when the page opened 5 s earlier (``warm``: the server
imports the library after it starts) and without (``cold``).

Run: ``cd benchmarks && ../.venv/bin/python explore_first_solve.py`` (each case in a fresh
process).
"""

from __future__ import annotations

import subprocess
import sys
import time


def first_solve(warm: bool) -> float:
    from treemarket.examples import example_path
    from treemarket.explore.jobs import Jobs

    text = example_path("weather.yaml").read_text()
    jobs = Jobs()
    try:
        if warm:
            jobs.warm().join(timeout=60)
            time.sleep(5.0)  # a user reading the page
        start = time.monotonic()
        job = jobs.start(text, None, "auto")
        while (status := jobs.status(job)) is not None and status["state"] == "running":
            time.sleep(0.01)
        return time.monotonic() - start
    finally:
        jobs.close()


def main() -> None:
    if len(sys.argv) > 1:
        print(f"{first_solve(sys.argv[1] == 'warm'):.2f}")
        return
    for case in ("cold", "warm", "cold", "warm"):
        out = subprocess.run([sys.executable, __file__, case], capture_output=True, text=True)
        print(f"{case}: first solve {out.stdout.strip()} s", flush=True)


if __name__ == "__main__":
    main()
