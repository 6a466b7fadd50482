"""`make bench`: every benchmark, one after the other, in one run (compare ratios within it)."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main() -> int:
    code = 0
    scripts = (
        "bench_ttp.py",
        "bench_scale.py",
        "bench_types.py",
        "bench_zoo.py",
        "bench_intermediation.py",
        "bench_study.py",
        "bench_tree_build.py",
    )
    for script in scripts:
        path = HERE / script
        if not path.exists():
            continue
        print(f"== {script}", flush=True)
        code |= subprocess.call([sys.executable, str(path), *sys.argv[1:]], cwd=HERE)
    return code


if __name__ == "__main__":
    sys.exit(main())
