"""The explore page in a real browser (Chromium under Playwright): load, solve, edit, errors at
their line, a tree of 10^4 nodes, files; every request stays on 127.0.0.1 and no JavaScript
error happens (the ``page`` fixture fails the test otherwise)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from treemarket.display import number
from treemarket.errors import ModelError
from treemarket.examples import example_path
from treemarket.explore.api import edit_text, load_text
from treemarket.ttp import ExactOptions, TTPModel, solve

TIMEOUT = 20_000  # ms: a generous bound for the page to answer (not a speed test)


def welfare_of(text: str, file: str) -> str:
    """The welfare of a model text as the page shows it (the CLI's format)."""
    model = load_text(text, file).model
    assert isinstance(model, TTPModel)
    return f"{solve(model, exact=ExactOptions(price_ranges=False)).welfare:.10g}"


def open_page(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("#tree g.node", timeout=TIMEOUT)


def wait_welfare(page: Any, expected: str) -> None:
    page.wait_for_function(
        "w => document.getElementById('welfare') && "
        "document.getElementById('welfare').textContent === w && "
        "!document.getElementById('certificate').classList.contains('stale')",
        arg=expected,
        timeout=TIMEOUT,
    )


@pytest.fixture
def weather(tmp_path: Path) -> Path:
    path = tmp_path / "weather.yaml"
    shutil.copy(example_path("weather.yaml"), path)
    return path


def test_weather_solves_to_welfare_12_with_the_roots_price_range(page, serve, weather):
    served = serve(weather)
    open_page(page, served.url)
    wait_welfare(page, "12")
    lines = page.locator("#certificate .line").all_inner_texts()
    assert any(line.startswith("the LP relaxation is integral ([P1] = [P0]):") for line in lines)
    assert any("prices support the optimum as an equilibrium: proven" in line for line in lines)
    model = load_text(weather.read_text(), str(weather)).model
    assert isinstance(model, TTPModel)
    low, high = solve(model, range_time_limit=10.0).price_bounds()
    expected = f"[{number(low[0], 4)}, {number(high[0], 4)}]"
    root = page.locator('#tree g.node[data-node="0"]')
    assert f"p ∈ {expected}" in root.text_content()
    root.click()
    assert page.locator("#detail-range").inner_text() == expected
    # the buyer who buys at the root is coloured as in the pictures and named in the legend
    assert "C buys" in page.locator("#legend").inner_text()
    # the details give each buyer's value and option values at the node
    solution = solve(model, range_time_limit=10.0)
    psi = solution.prices.option_value
    rows = page.locator("#details table tr").all_inner_texts()[1:]
    for i, row in enumerate(rows):
        cells = row.split("\t")
        assert cells[0] == model.buyers[i] and cells[3] == number(psi[i, 0])
    page.screenshot(path=str(page.shots / "weather.png"))
    # a buyer's purchases are outlined, the paths to them too
    page.fill("#buyer-search", "A")
    bought = [r["node_id"] for r in solution.assignment_rows() if r["buyer"] == "A"]
    outlined = page.locator("#tree g.node.hl")
    assert sorted(int(n) for n in outlined.evaluate_all("els => els.map(e => e.dataset.node)")) == (
        sorted(bought)
    )
    on_paths = {int(n) for node in bought for n in model.tree.path_to(node)} - {0}
    edges = page.locator("#tree path.edge.hl").evaluate_all("els => els.map(e => e.dataset.child)")
    assert sorted(int(n) for n in edges) == sorted(on_paths)


def test_an_edit_changes_the_answer_and_undo_restores_it(page, serve, weather):
    served = serve(weather)
    open_page(page, served.url)
    wait_welfare(page, "12")
    page.fill("#edit-filter", "scenario FC: value of A")
    page.select_option("#edit-place", label="scenario FC: value of A")
    page.fill("#edit-value", "20")
    page.click("#edit-apply")
    text = weather.read_text()
    edited = edit_text(text, ("scenarios", "FC", "values", "A"), 20)
    expected = welfare_of(edited, str(weather))
    assert expected != "12"
    wait_welfare(page, expected)
    assert page.input_value("#yaml") == edited  # comments and layout kept
    page.screenshot(path=str(page.shots / "edited.png"))
    page.click("#undo")
    wait_welfare(page, "12")
    assert page.input_value("#yaml") == text
    # typing changes the answer too: a probability shifted between two scenarios
    typed = text.replace("FC: {probability: 0.25", "FC: {probability: 0.4").replace(
        "RC: {probability: 0.25", "RC: {probability: 0.1"
    )
    page.fill("#yaml", typed)
    wait_welfare(page, welfare_of(typed, str(weather)))
    page.click("#save")
    page.wait_for_function(
        "() => document.getElementById('status').textContent.startsWith('wrote')",
        timeout=TIMEOUT,
    )
    assert weather.read_text() == typed


def test_a_broken_model_shows_its_error_at_its_line(page, serve, weather):
    served = serve(weather)
    open_page(page, served.url)
    wait_welfare(page, "12")
    broken = weather.read_text().replace("CR: {probability: 0.25", "CR: {probability: -0.25")
    with pytest.raises(ModelError) as info:
        load_text(broken, str(weather))
    assert info.value.line is not None
    page.fill("#yaml", broken)
    page.wait_for_selector("#error:not([hidden])", timeout=TIMEOUT)
    assert page.inner_text("#error") == f"error: {info.value}"
    bad = page.locator("#gutter .bad")
    assert bad.get_attribute("data-line") == str(info.value.line)
    assert page.locator("#certificate").get_attribute("class") == "stale"
    page.screenshot(path=str(page.shots / "broken.png"))
    # broken YAML (not just a wrong number) is marked at its line too
    page.fill("#yaml", weather.read_text().replace("supply: [1, 1, 1]", "supply: [1, 1, 1"))
    page.wait_for_function(
        "() => document.getElementById('error').textContent.includes('not valid YAML')",
        timeout=TIMEOUT,
    )
    assert page.locator("#gutter .bad").count() == 1


def big_model(folder: Path, branching: int = 22, horizon: int = 3) -> tuple[Path, int]:
    """A sampled-paths model of 1 + b + b² + b³ nodes (11,155 for b = 22): its file and size."""
    rng = np.random.default_rng(0)
    grid = np.stack(np.meshgrid(*[np.arange(branching)] * horizon, indexing="ij"), axis=-1).reshape(
        -1, horizon
    )
    lines = ["t0," + ",".join(f"t{t + 1}" for t in range(horizon)) + ",a"]
    for row, value in zip(grid, rng.uniform(0, 10, len(grid)), strict=True):
        lines.append("s," + ",".join(f"x{k}" for k in row) + f",{value:.3f}")
    (folder / "big.csv").write_text("\n".join(lines) + "\n")
    path = folder / "big.yaml"
    supply = ", ".join(["1"] * (horizon + 1))
    path.write_text(f"model: ttp\nname: big\nbuyers: [a]\nsupply: [{supply}]\npaths: big.csv\n")
    nodes = sum(branching**t for t in range(horizon + 1))
    return path, nodes


def test_a_tree_of_ten_thousand_nodes_opens_collapsed_and_expands(page, serve, tmp_path):
    path, nodes = big_model(tmp_path)
    served = serve(path)
    open_page(page, served.url)
    page.wait_for_function(
        "n => document.getElementById('tree-count').textContent.endsWith(`of ${n} nodes shown`)",
        arg=nodes,
        timeout=TIMEOUT,
    )
    shown = page.locator("#tree g.node").count()
    assert 1 < shown <= 200
    page.click('#tree g.toggle[data-toggle="1"]')
    assert page.locator("#tree g.node").count() == shown + 22
    page.screenshot(path=str(page.shots / "big-collapsed.png"))
    page.click("#expand-all")
    page.wait_for_function(
        "n => document.getElementById('tree-count').textContent === `${n} of ${n} nodes shown`",
        arg=nodes,
        timeout=TIMEOUT,
    )
    # the whole tree fits the window as an overview (boxes by colour, no text) ...
    page.wait_for_selector("#tree path.boxes", timeout=TIMEOUT)
    assert page.locator("#tree g.node").count() == 0
    page.screenshot(path=str(page.shots / "big-expanded.png"))
    # ... and zooming in draws the boxes near the window with their text, not all of them
    box = page.locator("#tree").bounding_box()
    page.mouse.move(box["x"] + 40, box["y"] + box["height"] / 2)
    for _ in range(3):
        page.mouse.wheel(0, -600)
    page.wait_for_function(
        "n => { const k = document.querySelectorAll('#tree g.node').length; "
        "return k > 0 && k < n; }",
        arg=nodes,
        timeout=TIMEOUT,
    )
    page.screenshot(path=str(page.shots / "big-zoomed.png"))
    page.click("#collapse")
    assert page.locator("#tree g.node").count() == shown
    # a large model is solved on demand; a solve can be cancelled
    assert page.inner_text("#progress") == "press Solve"
    page.click("#solve")
    page.wait_for_selector("#cancel:not([disabled])", timeout=TIMEOUT)
    page.click("#cancel")
    page.wait_for_function(
        "() => document.getElementById('progress').textContent === 'cancelled'", timeout=TIMEOUT
    )


def test_the_view_exports_and_the_text_downloads(page, serve, weather):
    served = serve(weather)
    open_page(page, served.url)
    wait_welfare(page, "12")
    with page.expect_download() as download:
        page.click("#export")
    exported = Path(download.value.path()).read_text()
    assert "<svg" in exported and 'data-node="0"' in exported and "p ∈ [" in exported
    assert not re.search(r"""(src|href)\s*=\s*["']?(?!data:|#)""", exported)  # nothing outside
    assert "@import" not in exported and "url(" not in exported
    with page.expect_download() as download:
        page.click("#download")
    assert Path(download.value.path()).read_text() == weather.read_text()


def test_the_compare_tab_shows_the_policies_the_schedule_and_the_mechanisms(page, serve, weather):
    from treemarket.ttp.simulate import simulate

    served = serve(weather)
    open_page(page, served.url)
    wait_welfare(page, "12")
    page.click('#tabs button[data-tab="compare-view"]')
    page.click("#compare-run")
    page.wait_for_selector("#compare section", timeout=60_000)
    model = load_text(weather.read_text(), str(weather)).model
    assert isinstance(model, TTPModel)
    sim = simulate(model, solve(model, range_time_limit=10.0))
    policies = page.locator("#compare section").first.locator("tr td:first-child")
    assert policies.all_inner_texts() == list(sim.policies)
    text = page.inner_text("#compare")
    assert f"optimum [P0]: {sim.optimum:.10g}" in text
    assert "welfare against capacity" in text and "vcg" in text and "pivot" in text
    assert page.locator("#compare img").count() >= 3
    page.screenshot(path=str(page.shots / "compare.png"), full_page=True)


def test_intermediation_trees_are_priced_by_the_chosen_rule(page, serve, weather):
    from treemarket.explore.api import intermediation_json

    served = serve(weather)
    open_page(page, served.url)
    wait_welfare(page, "12")
    page.select_option("#example", "intermediation-unprofitable.yaml")
    page.wait_for_function(
        "() => document.getElementById('progress').textContent.startsWith('priced')",
        timeout=TIMEOUT,
    )
    path = example_path("intermediation-unprofitable.yaml")
    tree = load_text(path.read_text(), str(path)).model
    expected = intermediation_json(tree, "leximin", str(path))
    assert page.locator("#tree g.node").count() == len(tree.parent)
    assert page.is_disabled("#save")  # an example is not the file the page was started with
    assert page.locator("#tree g.node.squeezed").count() == sum(expected["squeezed"]) > 0
    assert page.locator("#certificate .line").all_inner_texts() == expected["lines"]
    page.screenshot(path=str(page.shots / "intermediation.png"))
    page.select_option("#rule", "nash")  # undefined on an unprofitable tree: the CLI's error
    with pytest.raises(ModelError) as info:
        intermediation_json(tree, "nash", str(path))
    page.wait_for_function(
        "m => document.getElementById('progress').textContent === m",
        arg=f"error: {info.value}",
        timeout=TIMEOUT,
    )


def test_a_studys_store_opens_with_its_tables_and_pictures(page, serve, tmp_path):
    from tests.study.helpers import small_study, write_study
    from treemarket.study.report import summary_frame
    from treemarket.study.runner import run_study
    from treemarket.study.schema import load_study

    path = write_study(tmp_path, small_study())
    study = load_study(path)
    run_study(study, serial=True)
    served = serve(None)
    open_page(page, served.url)
    page.click('#tabs button[data-tab="study-view"]')
    page.fill("#study-path", str(tmp_path / "missing.yaml"))
    page.click("#study-open")
    page.wait_for_function(
        "() => document.getElementById('study-status').textContent.startsWith('error:')",
        timeout=TIMEOUT,
    )
    page.fill("#study-path", str(path))
    page.click("#study-open")
    page.wait_for_selector("#study table", timeout=60_000)
    rows = page.locator("#study table tr").count() - page.locator("#study table").count()
    assert rows == len(summary_frame(study))
    assert page.locator("#study img").count() == len(study.swept)
    page.screenshot(path=str(page.shots / "study.png"))
