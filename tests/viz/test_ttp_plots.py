"""The TTP pictures, checked at the data level (``fig.treemarket_data``) and as files."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import typer
from matplotlib.container import BarContainer
from typer.testing import CliRunner

from treemarket.cli import ttp_plot
from treemarket.cli.examples import example_path
from treemarket.fact import Fact
from treemarket.io.ttp_file import load_ttp
from treemarket.testing import random_model
from treemarket.ttp import PriceRanges, PriceSystem, TTPModel, TTPSolution, solve_exact
from treemarket.ttp.examples import weather
from treemarket.ttp.simulate import PolicyOutcome, SimulationResult
from treemarket.viz import ttp as viz


@pytest.fixture(scope="module")
def weather_solution() -> TTPSolution:
    return solve_exact(weather())


def _fake_solution(model: TTPModel, y, price, low, high) -> TTPSolution:
    """A solution object with chosen numbers (plots only read them; no solve needed)."""
    psi = np.zeros((model.n_buyers, model.tree.n_nodes))
    ranges = None if low is None else PriceRanges(np.asarray(low, float), np.asarray(high, float))
    return TTPSolution(
        model=model, y=np.asarray(y, dtype=np.float64), welfare=1.0, lp_bound=1.0,
        upper_bound=1.0, gap=0.0, lp_integral=Fact.PROVEN, supported=Fact.PROVEN,
        prices=PriceSystem(np.asarray(price, float), psi), ranges=ranges,
    )  # fmt: skip


def _node_at(data, time, event):
    (rec,) = [r for r in data["nodes"] if r["time"] == time and r["event"] == sorted(event)]
    return rec


# ------------------------------------------------------------------------------ tree
def test_weather_tree_draws_the_slides_picture(weather_solution):
    data = viz.plot_tree(weather_solution).treemarket_data
    assert data["mode"] == "full" and not data["collapsed"] and data["note"] is None
    assert sorted(r["node"] for r in data["nodes"]) == list(range(7))
    assert data["summaries"] == []
    assert len(data["edges"]) == 6 and all(e["prob"] == pytest.approx(0.5) for e in data["edges"])
    assert all(e["text"] == "0.5" for e in data["edges"])
    root = _node_at(data, 0, ["FC", "CF", "CR", "RC"])
    assert root["buyers"] == ["C"] and "buys: C" in root["text"]
    assert root["values"] == {"A": 4.0, "B": 4.0, "C": 2.0}
    no_rain = _node_at(data, 1, ["FC", "CF"])
    assert len(no_rain["buyers"]) == 1 and no_rain["buyers"][0] in ("A", "B")
    rain = _node_at(data, 1, ["CR", "RC"])
    assert rain["buyers"] == [] and not rain["sale"] and "no sale" in rain["text"]
    assert _node_at(data, 2, ["CR"])["values"]["B"] == -4.0
    # every leaf is sold to the best buyer still there: welfare 2 + 3.5 + 6.5 = 12
    assert sum(len(_node_at(data, 2, [w])["buyers"]) for w in ("FC", "CF", "CR", "RC")) == 4


def test_tree_price_ranges_match_the_price_table(weather_solution):
    data = viz.plot_tree(weather_solution).treemarket_data
    table = weather_solution.price_table()
    for rec in data["nodes"]:
        row = table[rec["node"]]
        assert (rec["min"], rec["max"]) == (row["min"], row["max"])
        assert f"p ∈ [{viz._num(row['min'])}, {viz._num(row['max'])}]" in rec["text"]
    assert "p ∈ [0, 4]" in _node_at(data, 1, ["FC", "CF"])["text"]


def test_an_unbounded_range_is_drawn_as_any(weather_solution):
    high = weather_solution.ranges.high.copy()
    high[2] = np.inf
    sol = dataclasses.replace(
        weather_solution, ranges=PriceRanges(weather_solution.ranges.low.copy(), high)
    )
    rec = _node_at(viz.plot_tree(sol).treemarket_data, 1, ["CR", "RC"])
    assert rec["max"] is None and "p ∈ [0, any]" in rec["text"]
    assert sol.price_table()[2]["max"] is None


def test_labels_are_shown():
    from treemarket.ttp import solve

    sol = solve(load_ttp(example_path("weather-tree.yaml")))
    data = viz.plot_tree(sol).treemarket_data
    rec = _node_at(data, 1, ["FC", "CF"])
    assert rec["label"] == "no rain" and rec["text"].startswith("t=1  no rain {CF, FC}")


@pytest.fixture(scope="module")
def big_solution() -> TTPSolution:
    """511 nodes (binary, T = 8); buyer A buys at every leaf; prices chosen, not solved."""
    model = random_model(np.random.default_rng(3), horizon=8, buyers=5, branching=2)
    tree = model.tree
    y = np.zeros((model.n_buyers, tree.n_nodes))
    y[0, tree.leaves] = 1.0
    price = np.arange(tree.n_nodes, dtype=float) % 7
    high = price + 1.0
    high[tree.time == 8] = np.inf
    return _fake_solution(model, y, price, price, high)


def test_a_500_node_tree_is_collapsed_and_says_so(big_solution):
    tree = big_solution.model.tree
    assert tree.n_nodes == 511
    fig = viz.plot_tree(big_solution)
    data = fig.treemarket_data
    assert data["collapsed"] and data["mode"] == "subtrees"
    # times 0..4 in full (31 nodes) plus 16 subtree boxes fit in 60; times 0..5 would not
    assert data["depth_drawn"] == 4
    assert len(data["nodes"]) == 31 and len(data["summaries"]) == 16
    assert len(data["nodes"]) + len(data["summaries"]) <= 60
    assert "collapsed" in data["note"] and "511" in data["note"]
    assert any(data["note"] in t.get_text() for t in fig.texts)  # said in the figure itself
    assert len(data["nodes"]) + sum(s["n_nodes"] for s in data["summaries"]) == 511
    for s in data["summaries"]:
        root = s["root"]
        assert tree.time[root] == 4 and s["times"] == [5, 8] and s["n_nodes"] == 30
        assert s["nodes_with_sales"] == 16  # the 16 leaves below
        assert s["expected_sales"] == pytest.approx(1.0)  # one permit on every path below
        assert s["buyers"] == {"A": pytest.approx(1.0)}
        assert s["range_max"] is None and "any" in s["text"]
        below = [
            m for m in range(tree.n_nodes) if tree.time[m] > 4 and _ancestor(tree, m, 4) == root
        ]
        assert s["price_min"] == big_solution.prices.price[below].min()
        assert s["price_max"] == big_solution.prices.price[below].max()


def _ancestor(tree, node, time):
    while tree.time[node] > time:
        node = int(tree.parent[node])
    return node


def test_when_even_the_roots_do_not_fit_one_box_per_time(big_solution):
    data = viz.plot_tree(big_solution, max_nodes=1).treemarket_data
    assert data["mode"] == "by_time" and data["nodes"] == []
    assert [s["n_nodes"] for s in data["summaries"]] == [2**t for t in range(9)]
    assert [s["expected_sales"] for s in data["summaries"]] == pytest.approx([0] * 8 + [1])


def test_many_buyers_show_the_highest_values_and_the_buyers_who_buy(big_solution):
    model = random_model(np.random.default_rng(1), horizon=1, buyers=12, branching=2)
    y = np.zeros((12, 3))
    weakest = int(np.argmin(model.values[:, 0]))
    y[weakest, 0] = 1.0
    sol = _fake_solution(model, y, np.zeros(3), None, None)
    root = viz.plot_tree(sol).treemarket_data["nodes"][0]
    assert model.buyers[weakest] in root["values_shown"] and len(root["values_shown"]) == 6
    assert len(root["values"]) == 12 and "… +6" in root["text"]
    # without ranges the reported price is drawn, as in the price table
    row = sol.price_table()[0]
    assert (root["min"], root["max"]) == (row["min"], row["max"]) == (0.0, row["max"])
    no_prices = viz.plot_tree(dataclasses.replace(sol, prices=None)).treemarket_data["nodes"][0]
    assert no_prices["min"] is None and "p ∈" not in no_prices["text"]


# -------------------------------------------------------------------------- policies
def _sim(mode: str) -> SimulationResult:
    rows = {"fcfs": (7.0, 0.0, 1.5), "market": (12.0, 3.0, 0.0), "lottery": (9.0, 0.0, 0.5),
            "myopic": (11.0, 4.0, 0.0)}  # fmt: skip
    se = 0.25 if mode == "sampled" else 0.0
    policies = {
        name: PolicyOutcome(name, w, r, u, se * (k + 1), se / 2, {"A": 1.0}, w / 12.0)
        for k, (name, (w, r, u)) in enumerate(rows.items())
    }
    return SimulationResult(policies, 12.0, mode, 1000 if mode == "sampled" else 0)


def test_policy_bars_are_the_outcome_numbers():
    sim = _sim("exact")
    fig = viz.plot_policies(sim)
    data = fig.treemarket_data
    assert data["policies"] == ["market", "myopic", "fcfs", "lottery"]
    assert data["welfare"] == [12.0, 11.0, 7.0, 9.0]
    assert data["revenue"] == [3.0, 4.0, 0.0, 0.0]
    assert data["unsold"] == [0.0, 0.0, 1.5, 0.5]
    assert data["efficiency"] == pytest.approx([1.0, 11 / 12, 7 / 12, 9 / 12])
    assert data["optimum"] == 12.0
    (ax,) = fig.axes
    heights = sorted(p.get_height() for p in ax.patches)
    assert heights == sorted([12.0, 11.0, 7.0, 9.0, 3.0, 4.0, 0.0, 0.0])
    flat = [line for line in ax.lines if len(set(line.get_ydata())) == 1]
    assert any(line.get_ydata()[0] == 12.0 for line in flat)  # the [P0] reference line


def test_error_bars_only_in_sampled_mode():
    exact = viz.plot_policies(_sim("exact"))
    assert not exact.treemarket_data["error_bars"] and exact.treemarket_data["welfare_err"] is None
    assert exact.axes[0].containers and all(
        getattr(c, "errorbar", None) is None for c in exact.axes[0].containers
    )
    sampled = viz.plot_policies(_sim("sampled"))
    data = sampled.treemarket_data
    assert data["error_bars"] and data["paths"] == 1000
    assert data["welfare_err"] == pytest.approx([1.96 * 0.25 * k for k in (2, 4, 1, 3)])
    bars = [c for c in sampled.axes[0].containers if isinstance(c, BarContainer)]
    assert len(bars) == 2 and all(c.errorbar is not None for c in bars)
    (segments,) = bars[0].errorbar.lines[2]
    spans = [seg[:, 1] for seg in segments.get_segments()]
    for (lo, hi), w, e in zip(spans, data["welfare"], data["welfare_err"], strict=True):
        assert (lo, hi) == pytest.approx((w - e, w + e))


def test_policies_of_the_real_simulation(weather_solution):
    from treemarket.ttp.simulate import simulate

    sim = simulate(weather_solution.model, weather_solution)
    data = viz.plot_policies(sim).treemarket_data
    assert data["welfare"][data["policies"].index("market")] == pytest.approx(12.0)
    assert data["welfare"][data["policies"].index("myopic")] == pytest.approx(11.0)
    # exact over scenarios, but fcfs and lottery average random arrival orders: their sampling
    # error is drawn; the deterministic policies get none
    errs = dict(zip(data["policies"], data["welfare_err"], strict=True))
    assert errs["market"] == errs["myopic"] == 0.0
    assert (
        errs["fcfs"] == pytest.approx(1.96 * sim.policies["fcfs"].welfare_se) and errs["fcfs"] > 0
    )


# ------------------------------------------------------------------------- price fan
def test_fan_quantiles_by_hand():
    probs = {"FC": 0.1, "CF": 0.2, "CR": 0.3, "RC": 0.4}
    model = TTPModel.from_scenarios(
        ["A"], [1, 1, 1], {w: (p, {"A": 1.0}) for w, p in probs.items()},
        [[list(probs)], [["FC", "CF"], ["CR", "RC"]], [[w] for w in probs]],
    )  # fmt: skip
    tree = model.tree
    by_event = {tuple(tree.event(n)): n for n in range(tree.n_nodes)}
    price = np.zeros(tree.n_nodes)
    chosen = {("CF", "CR", "FC", "RC"): 0.5, ("CF", "FC"): 5.0, ("CR", "RC"): 1.0,
              ("FC",): 4.0, ("CF",): 1.0, ("CR",): 3.0, ("RC",): 2.0}  # fmt: skip
    for event, p in chosen.items():
        price[by_event[event]] = p
    sol = _fake_solution(model, np.zeros((1, 7)), price, price, price + 1)
    data = viz.plot_price_fan(sol).treemarket_data
    # t = 2: sorted prices 1 (0.2), 2 (0.4), 3 (0.3), 4 (0.1): cumulative 0.2, 0.6, 0.9, 1.0
    assert [data["quantiles"][k][2] for k in ("10", "25", "50", "75", "90")] == [1, 2, 2, 3, 3]
    # t = 1: 1 with probability 0.7, 5 with 0.3
    assert data["median"] == [0.5, 1.0, 2.0]
    assert data["quantiles"]["75"][1] == 5.0 and data["quantiles"]["10"][1] == 1.0
    assert data["mean"] == pytest.approx([0.5, 0.7 + 1.5, 0.4 + 0.2 + 0.9 + 0.8])
    assert sorted(map(tuple, data["paths"])) == sorted(
        [(0.5, 5.0, 4.0), (0.5, 5.0, 1.0), (0.5, 1.0, 3.0), (0.5, 1.0, 2.0)]
    )
    assert data["ranges"][2]["high"] == pytest.approx([p + 1 for p in price[tree.leaves]])


def test_fan_of_the_weather_solution_draws_its_ranges(weather_solution):
    data = viz.plot_price_fan(weather_solution).treemarket_data
    tree = weather_solution.model.tree
    for t in range(3):
        level = tree.level(t)
        assert data["ranges"][t]["low"] == weather_solution.ranges.low[level].tolist()
        assert data["ranges"][t]["high"] == weather_solution.ranges.high[level].tolist()
    no_ranges = dataclasses.replace(weather_solution, ranges=None)
    assert viz.plot_price_fan(no_ranges).treemarket_data["ranges"] is None


def test_fan_of_a_big_tree_has_no_paths_but_bands(big_solution):
    data = viz.plot_price_fan(big_solution).treemarket_data
    assert data["paths"] is None and len(data["median"]) == 9
    assert data["ranges"][8]["high"] == [None] * 256


# ----------------------------------------------------------------------------- files
def test_save_writes_png_and_svg_atomically(tmp_path, weather_solution):
    fig = viz.plot_tree(weather_solution)
    png = viz.save(fig, tmp_path / "pics" / "tree.png")
    svg = viz.save(viz.plot_price_fan(weather_solution), tmp_path / "pics" / "fan.SVG")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000
    text = svg.read_text()
    assert "<svg" in text and "weather" in text
    assert sorted(p.name for p in (tmp_path / "pics").iterdir()) == ["fan.SVG", "tree.png"]
    with pytest.raises(ValueError, match="png or .svg"):
        viz.save(fig, tmp_path / "tree.pdf")


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command()(ttp_plot.plot_command)
    return app


def test_plot_command_writes_the_three_pictures(tmp_path):
    result = CliRunner().invoke(
        _app(), [str(example_path("weather.yaml")), "--out", str(tmp_path), "--format", "svg"]
    )
    assert result.exit_code == 0, result.output
    names = ["weather-policies.svg", "weather-prices.svg", "weather-tree.svg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == names
    assert all((tmp_path / n).stat().st_size > 1000 for n in names)
    assert all(n in result.output for n in names)


def test_plot_command_rejects_a_bad_format(tmp_path, capsys):
    from treemarket.cli import app
    from treemarket.cli._common import run_guarded

    args = ["ttp", "plot", str(example_path("weather.yaml")), "--format", "gif", "--out"]
    code = run_guarded(app, [*args, str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "png, svg" in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
