"""Studies on Dask: throughput against a serial loop in the same run, and transport latency.

* small tasks: many forecast-model simulations of ~10 ms each;
* large tasks: a few market-solver runs of ~1.5 s each (150 iterations on 800 buyers and 511
  nodes; target: >= 1.8x on 2 workers);
* per-task overhead of the Dask runner (store commits included);
* the block market solver: the cost of one round trip (prices out, loads back) per transport,
  and a whole solve on 2 blocks, serial against Dask actors (and MPI when mpi4py is installed).

Run: ``.venv/bin/python benchmarks/bench_study.py [--workers 2] [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from treemarket.distributed import DaskTransport, generated_blocks
from treemarket.study import run_study, study_from_dict
from treemarket.study.store import ResultStore
from treemarket.study.tasks import execute
from treemarket.ttp.market import MarketOptions, SerialTransport, solve_blocks


def _study(name: str, params: dict, grid: dict, seeds: int, compute: dict) -> dict:
    return {
        "study": name,
        "model": {"generator": "forecast", "params": params},
        "sweep": {"grid": grid},
        "seeds": seeds,
        "compute": compute,
    }


SMALL = _study(
    "bench-small",
    {"horizon": 2, "supply": 1},
    {"accuracy": [0.5, 0.75, 1.0], "buyers": [3, 6]},
    50,
    {"simulate": {"draws": 8}},
)
LARGE = _study(
    "bench-large",
    {"horizon": 8, "supply": 10, "accuracy": 0.8, "buyers": 800},
    {"spread": [4.0, 6.0]},
    6,
    {"solve": {"method": "market", "max_iterations": 150, "target_gap": 1e-9}},
)


def _serial_loop(study) -> float:
    start = time.perf_counter()
    for task in study.tasks():
        outcome = execute(task.key, task.spec)
        if outcome.status != "done":
            raise RuntimeError(outcome.error)
    return time.perf_counter() - start


def _timed_run(study, **kwargs) -> float:
    start = time.perf_counter()
    summary = run_study(study, **kwargs)
    if summary.state.failed or summary.state.pending:
        raise RuntimeError(f"the benchmark study did not finish: {summary.state}")
    return time.perf_counter() - start


def bench_tasks(data: dict, folder: Path, scheduler: str, workers: int) -> dict:
    study = study_from_dict(data)
    n = len(study.tasks())
    loop = _serial_loop(study)
    serial = _timed_run(replace(study, store=folder / f"{study.name}-serial.sqlite"), serial=True)
    dask_study = replace(study, store=folder / f"{study.name}-dask.sqlite")
    dask = _timed_run(dask_study, scheduler=scheduler)
    with ResultStore(dask_study.store, readonly=True) as store:
        inside = sum(r.seconds for r in store.results())
    return {
        "study": study.name,
        "tasks": n,
        "task_ms": 1e3 * loop / n,
        "serial_loop_s": loop,
        "serial_store_s": serial,
        "dask_s": dask,
        # the tasks' own time on the workers: above serial_loop_s when the cores are shared
        "dask_task_s": inside,
        "speedup": loop / dask,
        "efficiency": loop / dask / workers,
        # extra wall time per task against a perfect split of the serial loop over the workers
        "overhead_ms": 1e3 * (dask - loop / workers) / n,
    }


def _round_trips(transport, price: np.ndarray, repeat: int) -> float:
    """Seconds per call of the blocks' best responses (an iteration without the markets)."""
    transport.call("prepare", None, None)
    transport.call("evaluate", price, False)
    start = time.perf_counter()
    for _ in range(repeat):
        transport.call("evaluate", price, False)
    return (time.perf_counter() - start) / repeat


def _mpi(params: dict, iterations: int, ranks: int, latency: bool) -> dict | None:
    mpiexec = Path(sys.executable).with_name("mpiexec")
    command = str(mpiexec) if mpiexec.exists() else shutil.which("mpiexec")
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return None
    if command is None:
        return None
    args = [
        command,
        "-n",
        str(ranks),
        sys.executable,
        "-m",
        "treemarket.distributed",
        "--params",
        json.dumps(params),
        "--max-iterations",
        str(iterations),
        "--target-gap",
        "1e-12",
    ]
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, timeout=1200, check=True)
    wall = time.perf_counter() - start
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["wall_s"] = wall
    if latency:
        out["per_iteration_ms"] = 1e3 * out["seconds"] / max(out["iterations"], 1)
    return out


def bench_market(client, quick: bool) -> dict:
    """Round-trip latency on tiny blocks; a whole solve on two big blocks."""
    tiny = {"buyers": 4, "horizon": 2, "supply": 1}
    specs = generated_blocks("forecast", tiny, 0, 2)
    price = np.zeros(7)
    serial_t = SerialTransport(specs)
    dask_t = DaskTransport(client, specs)
    out: dict = {
        "roundtrip_ms": {
            "serial": 1e3 * _round_trips(serial_t, price, 200),
            "dask_actors": 1e3 * _round_trips(dask_t, price, 200),
        }
    }
    dask_t.close()
    start = time.perf_counter()
    for _ in range(20):
        futures = [client.submit(lambda k: k, k, pure=False) for k in range(2)]
        client.gather(futures)
    out["roundtrip_ms"]["dask_futures"] = 1e3 * (time.perf_counter() - start) / 20
    mpi_tiny = _mpi(tiny, 300, 3, latency=True)
    if mpi_tiny is not None:
        out["roundtrip_ms"]["mpi (whole iteration)"] = mpi_tiny["per_iteration_ms"]
    big = {"buyers": 2000 if quick else 6000, "horizon": 9, "accuracy": 0.8, "supply": 40}
    iterations = 30 if quick else 60
    options = MarketOptions(max_iterations=iterations, target_gap=1e-12)
    specs = generated_blocks("forecast", big, 0, 2)
    start = time.perf_counter()
    serial = solve_blocks(SerialTransport(specs), options)
    serial_wall = time.perf_counter() - start
    start = time.perf_counter()
    transport = DaskTransport(client, specs)
    setup = time.perf_counter() - start
    dask = solve_blocks(transport, options)
    transport.close()
    out["solve"] = {
        "buyers": big["buyers"],
        "horizon": big["horizon"],
        "iterations": serial.iterations,
        "serial_s": serial_wall,
        "dask_setup_s": setup,
        "dask_s": dask.seconds,
        "dask_speedup": serial.seconds / dask.seconds,
        "same_bounds": (dask.welfare, dask.dual_bound) == (serial.welfare, serial.dual_bound),
    }
    mpi_big = _mpi(big, iterations, 3, latency=False)
    if mpi_big is not None:
        out["solve"]["mpi_s"] = mpi_big["seconds"]
        out["solve"]["mpi_speedup"] = serial.seconds / mpi_big["seconds"]
        out["solve"]["mpi_same_bounds"] = (mpi_big["welfare"], mpi_big["upper_bound"]) == (
            serial.welfare,
            serial.dual_bound,
        )
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="smaller studies")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    from distributed import Client

    from treemarket.study.runner import local_cluster

    small = dict(SMALL, seeds=10) if args.quick else SMALL
    large = dict(LARGE, seeds=2) if args.quick else LARGE
    results: dict = {"workers": args.workers, "cores": os.cpu_count()}
    start = time.perf_counter()
    cluster = local_cluster(args.workers)
    client = Client(cluster)
    results["cluster_start_s"] = time.perf_counter() - start
    print(f"LocalCluster of {args.workers} workers started in {results['cluster_start_s']:.2f} s")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            for data in (small, large):
                row = bench_tasks(data, folder, cluster.scheduler_address, args.workers)
                results[row["study"]] = row
                print(
                    " ".join(
                        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in row.items()
                    ),
                    flush=True,
                )
        market = bench_market(client, args.quick)
        results["market"] = market
        print(
            "round trip (ms): "
            + ", ".join(f"{k} {v:.3g}" for k, v in market["roundtrip_ms"].items())
        )
        print(
            "block market solver: "
            + " ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                for k, v in market["solve"].items()
            ),
            flush=True,
        )
    finally:
        client.close()
        cluster.close()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
