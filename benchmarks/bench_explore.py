"""The explore page at 10^4 nodes: how long the server takes to read and send a tree, and how long
Chromium takes to draw it collapsed, expand all of it, collapse it again, and expand one subtree.

Run: ``.venv/bin/python benchmarks/bench_explore.py [--branching 22] [--repeat 3]`` (needs
Chromium: ``make browser``). Prints one line per step with the median of the repeats.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.explore.conftest import chromium_path, start_server  # noqa: E402
from tests.explore.test_page import big_model  # noqa: E402
from treemarket.explore.api import load_text, model_json  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--branching", type=int, default=22)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    path = chromium_path()
    if path is None:
        sys.exit("no Chromium: run make browser, or set TREEMARKET_CHROMIUM")
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {}

    def record(step: str, seconds: float) -> None:
        times.setdefault(step, []).append(seconds)

    with tempfile.TemporaryDirectory() as folder:
        model_file, nodes = big_model(Path(folder), branching=args.branching)
        text = model_file.read_text()
        for _ in range(args.repeat):
            start = time.perf_counter()
            payload = json.dumps(model_json(load_text(text, str(model_file))))
            record("server: read, validate, send the tree (JSON)", time.perf_counter() - start)
        record_size = len(payload)
        served = start_server(model_file)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=path, args=["--no-sandbox"])
                for _ in range(args.repeat):
                    page = browser.new_page(viewport={"width": 1400, "height": 900})
                    start = time.perf_counter()
                    page.goto(served.url)
                    page.wait_for_function(
                        "n => document.getElementById('tree-count').textContent"
                        ".endsWith(`of ${n} nodes shown`)",
                        arg=nodes,
                        timeout=120_000,
                    )
                    record("page: open, tree drawn collapsed", time.perf_counter() - start)
                    frame = "() => new Promise(r => requestAnimationFrame(() => r()))"
                    for step, selector in (
                        ("page: expand all (overview of every node)", "#expand-all"),
                        ("page: collapse", "#collapse"),
                        ("page: expand all again", "#expand-all"),
                    ):
                        start = time.perf_counter()
                        page.click(selector)
                        page.evaluate(frame)
                        page.evaluate(frame)
                        record(step, time.perf_counter() - start)
                    box = page.locator("#tree").bounding_box()
                    page.mouse.move(box["x"] + 40, box["y"] + box["height"] / 2)
                    start = time.perf_counter()
                    for _ in range(3):
                        page.mouse.wheel(0, -600)
                        page.evaluate(frame)
                    page.evaluate(frame)
                    record(
                        "page: zoom in 3 wheel steps (boxes with text)", time.perf_counter() - start
                    )
                    start = time.perf_counter()
                    for _ in range(10):
                        page.mouse.move(box["x"] + 400, box["y"] + 400)
                        page.mouse.down()
                        page.mouse.move(box["x"] + 400, box["y"] + 100, steps=5)
                        page.mouse.up()
                        page.evaluate(frame)
                    record("page: 10 drags of 300 px (pan, redraws)", time.perf_counter() - start)
                    page.click("#collapse")
                    start = time.perf_counter()
                    page.click('#tree g.toggle[data-toggle="1"]')
                    page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")
                    record("page: expand one subtree", time.perf_counter() - start)
                    page.close()
                browser.close()
        finally:
            served.stop()
    print(f"tree of {nodes:,} nodes; JSON {record_size / 1e6:.2f} MB; median of {args.repeat}")
    for step, values in times.items():
        print(f"{step:<48} {statistics.median(values):7.3f} s")


if __name__ == "__main__":
    main()
