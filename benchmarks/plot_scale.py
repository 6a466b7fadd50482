"""Log-log plot of wall time against size from `bench_scale.py --json` files.

Usage: ``../.venv/bin/python plot_scale.py OUT.png ROWS.json [ROWS.json ...]``.
"""

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main() -> None:
    out, files = Path(sys.argv[1]), sys.argv[2:]
    rows = [row for f in files for row in json.loads(Path(f).read_text())]
    fig, (ax, ax_it) = plt.subplots(1, 2, figsize=(12, 5))
    for kind in ("pyomo", "scipy", "glop", "exact", "market"):
        points = sorted(
            (r["variables"], r.get("solve_s") if kind == "glop" else r["seconds"])
            for r in rows
            if r["kind"] == kind and "variables" in r and r.get("objective") == r.get("objective")
        )
        if points:
            xs, ys = zip(*points, strict=True)
            ax.loglog(xs, ys, marker="o", label=kind)
    for r in rows:
        if r["kind"] == "market" and r.get("target_gap", 1e-3) != 1e-3:
            ax.annotate(
                f"gap ≤ {r['target_gap']:.1%}",
                (r["variables"], r["seconds"]),
                xytext=(-6, 6),
                textcoords="offset points",
                ha="right",
            )
    ax.set_xlabel("variables (buyers × nodes)")
    ax.set_ylabel("wall time, s (GLOP: its solve only)")
    ax.set_title("proven optimum (exact, A, B), LP (C), gap ≤ 0.1% (market)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    per_it = sorted((r["variables"], r["per_iteration_s"]) for r in rows if "per_iteration_s" in r)
    if per_it:
        xs, ys = zip(*per_it, strict=True)
        ax_it.loglog(xs, ys, marker="o", color="C4", label="market, one iteration")
        ax_it.loglog(xs, [ys[-1] * x / xs[-1] for x in xs], "k--", alpha=0.5, label="slope 1")
        ax_it.set_xlabel("variables (buyers × nodes)")
        ax_it.set_ylabel("seconds per iteration (best responses + markets)")
        ax_it.set_title("market solver: cost of one iteration")
        ax_it.grid(True, which="both", alpha=0.3)
        ax_it.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main()
