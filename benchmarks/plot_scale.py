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
    fig, ax = plt.subplots(figsize=(7, 5))
    for kind in ("pyomo", "scipy", "glop", "exact", "market"):
        points = sorted(
            (r["variables"], r.get("solve_s") if kind == "glop" else r["seconds"])
            for r in rows
            if r["kind"] == kind and "variables" in r and r.get("objective") == r.get("objective")
        )
        if points:
            xs, ys = zip(*points, strict=True)
            ax.loglog(xs, ys, marker="o", label=kind)
    ax.set_xlabel("variables (buyers × nodes)")
    ax.set_ylabel("wall time, s (GLOP: its solve only)")
    ax.set_title("TTP at scale: proven optimum (exact, A, B), LP (C), gap ≤ 0.1% (market)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main()
