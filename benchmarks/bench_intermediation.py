"""Intermediation pricing benchmark: equal-utility prices (system (14)) and the water-filling
leximin on trees of 10^4..10^6 nodes, and the general solvers (cvxpy Nash, LP leximin) on small
trees for comparison.

Each case runs in a fresh process: ``peak MB`` is that process's max RSS (Python, numpy and the
tree included); ``alloc MB`` is the peak of the memory the timed step itself allocates
(tracemalloc, measured in a second, untimed run). Times are the best of three runs, except for
the general solvers (one run). ``build``: the tree from a parent array (preorder, depths, subtree
sizes); ``B_j, levels``: the per-tree structure every pricing uses, computed once and cached (the
customers' limits below each node, the nodes by depth, Σ b − s); ``equal-utility``: system (14)
given that structure; ``water-filling``: the leximin utilities given that structure.

Trees (``treemarket.intermediation.generate.random_tree``, seed 0, customers' limits uniform on
[0, 10), s a random fraction of Σ b): ``network``, a 5-level distribution network; ``recursive``,
a random recursive tree (height about e ln n); ``caterpillar`` (height n/2: too high for the
level-by-level passes, the water-filling runs the heap algorithm). "max deviation" compares a
general solver's utilities with the water-filling's (relative to the largest customer limit).

Command: ``cd benchmarks && ../.venv/bin/python bench_intermediation.py`` (``--quick``: the
smaller sizes only).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

from harness import isolated, peak_mb

FAST_SIZES = [10**4, 10**5, 10**6]
SOLVER_CASES = [
    ("cvxpy-nash (geo_mean)", 50),
    ("cvxpy-nash (geo_mean)", 100),
    ("cvxpy-nash (soc tree)", 100),
    ("cvxpy-nash (soc tree)", 1_000),
    ("cvxpy-nash (soc tree)", 10_000),
    ("lp-leximin", 100),
    ("lp-leximin", 300),
    ("heap-leximin", 10_000),
    ("heap-leximin", 100_000),
    ("heap-leximin", 1_000_000),
    ("heap-leximin (caterpillar)", 100_000),
    ("heap-leximin (caterpillar)", 1_000_000),
]


def _best_of(fn, repeat: int = 3) -> tuple[float, object]:
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def _alloc_mb(fn) -> float:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def _fast_case(shape: str, n: int, out) -> None:
    import numpy as np

    from treemarket.intermediation import IntermediationTree, certificate, equal_utility
    from treemarket.intermediation.generate import random_tree
    from treemarket.intermediation.waterfill import waterfill

    tree = random_tree(n, 0, shape=shape)
    parent, limit = tree.parent, tree.limit

    def build():
        return IntermediationTree.from_arrays(parent, limit)

    def structure():  # levels, subtree limits B_j, Σ b − s: computed once per tree, then cached
        fresh = build()
        _ = fresh.levels, fresh.subtree_limit, fresh.surplus, fresh.unit
        return fresh

    build_s, _ = _best_of(build)
    structure_s = _best_of(structure)[0] - build_s
    _ = tree.subtree_limit, tree.levels, tree.unit, tree.surplus
    eq_s, _ = _best_of(lambda: equal_utility(tree))
    wf_s, u = _best_of(lambda: waterfill(tree))
    cert = certificate(tree, tree.prices(u))
    row = {
        "shape": shape,
        "nodes": n,
        "height": tree.height,
        "negative (14) prices": int((equal_utility(tree).prices < 0).sum()),
        "levels": int(np.unique(np.round(u, 9)).size),
        "build s": build_s,
        "B_j, levels s": structure_s,
        "equal-utility s": eq_s,
        "water-filling s": wf_s,
        "certificate ok": cert.ok,
        "alloc MB (water-filling)": _alloc_mb(lambda: waterfill(tree)),
        "peak MB": peak_mb(),
    }
    out.put(row)


def _solver_case(kind: str, n: int, out) -> None:
    import numpy as np

    from treemarket.intermediation import nash_cvxpy
    from treemarket.intermediation.general import leximin_lp
    from treemarket.intermediation.generate import random_tree
    from treemarket.intermediation.waterfill import waterfill_heap, waterfill_levels

    tree = random_tree(n, 0, shape="caterpillar" if "caterpillar" in kind else "recursive")
    reference = waterfill_levels(tree) if tree.height < 1000 else None
    start = time.perf_counter()
    if kind.startswith("cvxpy"):
        form = "geo_mean" if "geo_mean" in kind else "soc"
        prices, _ = nash_cvxpy(tree, form, polish=False)
        u = tree.utilities(prices)
    elif kind == "lp-leximin":
        u = leximin_lp(tree)
    else:
        u = waterfill_heap(tree)
    seconds = time.perf_counter() - start
    err = float(np.abs(u - reference).max() / tree.unit) if reference is not None else None
    out.put(
        {
            "solver": kind,
            "nodes": n,
            "height": tree.height,
            "s": seconds,
            "max deviation / max b": err,
            "peak MB": peak_mb(),
        }
    )


def _table(rows: list[dict]) -> str:
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in rows:
        cells = []
        for k in keys:
            v = row[k]
            if isinstance(v, float):
                cells.append(f"{v:.3g}" if v < 100 else f"{v:.0f}")
            elif isinstance(v, int) and not isinstance(v, bool):
                cells.append(f"{v:,}")
            else:
                cells.append("" if v is None else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="sizes up to 1e5 only")
    args = parser.parse_args(argv)
    sizes = [n for n in FAST_SIZES if n <= 10**5] if args.quick else FAST_SIZES
    rows = [isolated(_fast_case, shape, n) for shape in ("network", "recursive") for n in sizes]
    print("### Equal-utility prices and water-filling leximin\n")
    print(_table(rows))
    cases = [(k, n) for k, n in SOLVER_CASES if not args.quick or n <= 10**4]
    rows = [isolated(_solver_case, kind, n) for kind, n in cases]
    print("\n### General solvers (the check) and the heap algorithm\n")
    print(_table(rows))


if __name__ == "__main__":
    main()
