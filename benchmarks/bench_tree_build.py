"""Scenario trees from data at scale (issue 15): 10^5 paths × 10 times into a tree of about 10^4
nodes, and the out-of-sample evaluation of 10^5 held-out paths.

Paths: two variables (a rain-like and a temperature-like AR(1) process with correlated shocks),
t = 0..9, seed 0. The tree: stagewise k-means (``fit_tree``, method ``cluster``) with branching
5,4,4,3,2,2,2,2,1 (at most 11,386 nodes). Then a model of four buyer types on it (values from
the paths at T), solved exactly, and its policies (tree, market, myopic, fcfs, lottery) run on
10^5 other paths: routing (nearest child at each step) and ``evaluate_paths`` timed apart. Each
case runs in its own process; peak memory is that process's max RSS.

Usage: ``cd benchmarks && ../.venv/bin/python bench_tree_build.py [--quick]`` (``--quick``:
10^4 paths).
"""

from __future__ import annotations

import sys
import time

import numpy as np
from harness import isolated, peak_mb

BRANCHING = (5, 4, 4, 3, 2, 2, 2, 2, 1)


def paths(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    times = len(BRANCHING) + 1
    x = np.empty((n, times, 2))
    x[:, 0] = rng.normal([2.0, 12.0], [1.0, 3.0], size=(n, 2))
    for t in range(1, times):
        shock = rng.multivariate_normal([0, 0], [[1.0, -0.4], [-0.4, 1.0]], size=n)
        x[:, t, 0] = 2.0 + 0.7 * (x[:, t - 1, 0] - 2.0) + 1.5 * shock[:, 0]
        x[:, t, 1] = 12.0 + 0.8 * (x[:, t - 1, 1] - 12.0) + 2.0 * shock[:, 1]
    return x


def values(x: np.ndarray) -> np.ndarray:
    rain, temp = x[:, -1, 0], x[:, -1, 1]
    return np.stack(
        [
            np.clip(40 - 8 * rain, 0, 40),
            np.clip(10 + 0.5 * (temp - 15) - 3 * rain, 0, 20),
            14 - 0.1 * temp,
            np.clip(6 - 0.5 * rain, 0, 6),
        ],
        axis=1,
    )


def case(n_paths: int, queue) -> None:
    from treemarket.scenario import ScenarioTree
    from treemarket.scenario.fit import PathData, fit_tree
    from treemarket.ttp import TTPModel, solve_exact
    from treemarket.ttp.outofsample import evaluate_paths, model_on

    train = PathData.from_array(paths(n_paths, 0), ["rain", "temp"])
    start = time.perf_counter()
    fitted = fit_tree(train, BRANCHING, seed=0)
    t_fit = time.perf_counter() - start
    mem_fit = peak_mb()
    start = time.perf_counter()
    dist = fitted.distances(train, nested=False)
    t_dist = time.perf_counter() - start
    base = TTPModel.from_arrays(
        ScenarioTree.from_paths([[0] * (len(BRANCHING) + 1)])[0],
        ["wedding", "picnic", "film", "run"],
        [1] * (len(BRANCHING) + 1),
        np.zeros((4, 1)),
        counts=[1, 3, 2, 4],
    )
    model = model_on(base, fitted, values(train.states))
    start = time.perf_counter()
    sol = solve_exact(model, price_ranges=False)
    t_solve = time.perf_counter() - start
    held = paths(n_paths, 1)
    start = time.perf_counter()
    nodes = fitted.route(held)
    t_route = time.perf_counter() - start
    start = time.perf_counter()
    ev = evaluate_paths(model, sol, nodes, values(held))
    t_eval = time.perf_counter() - start
    queue.put(
        {
            "paths": n_paths,
            "nodes": fitted.tree.n_nodes,
            "leaves": fitted.tree.n_leaves,
            "fit_s": t_fit,
            "fit_peak_mb": mem_fit,
            "w1_s": t_dist,
            "joint_skipped": sum(j is None for j in dist.joint),
            "solve_s": t_solve,
            "route_s": t_route,
            "evaluate_s": t_eval,
            "optimum": sol.welfare,
            "tree_out": ev.policies["tree"].welfare,
            "myopic_out": ev.policies["myopic"].welfare,
            "peak_mb": peak_mb(),
        }
    )


def main() -> None:
    sizes = (10_000,) if "--quick" in sys.argv else (10_000, 100_000)
    print(
        "| paths | nodes | leaves | fit s | W1 s | solve s | route s | evaluate s | peak MB "
        "(fit) | peak MB | optimum | tree out | myopic out |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        row = isolated(case, n, limit=600)
        if "error" in row:
            print(f"| {n:,} | {row['error']} |", flush=True)
            continue
        print(
            f"| {row['paths']:,} | {row['nodes']:,} | {row['leaves']:,} | {row['fit_s']:.2f} | "
            f"{row['w1_s']:.2f} | {row['solve_s']:.2f} | {row['route_s']:.2f} | "
            f"{row['evaluate_s']:.2f} | {row['fit_peak_mb']:.0f} | {row['peak_mb']:.0f} | "
            f"{row['optimum']:.3f} | {row['tree_out']:.3f} | {row['myopic_out']:.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
