"""The policy comparison picture, checked at the data level (``fig.treemarket_data``)."""

from __future__ import annotations

import pytest
from matplotlib.container import BarContainer

from treemarket.ttp.simulate import POLICIES, PolicyOutcome, SimulationResult
from treemarket.viz.figure import new_figure
from treemarket.viz.policies import plot_policies


def _sim(mode: str) -> SimulationResult:
    rows = {
        "fcfs": (7.0, 0.0, 1.5),
        "market": (12.0, 3.0, 0.0),
        "lottery": (9.0, 0.0, 0.5),
        "myopic": (11.0, 4.0, 0.0),
    }
    se = 0.25 if mode == "sampled" else 0.0
    policies = {
        name: PolicyOutcome(name, w, r, u, se * (k + 1), se / 2, {"A": 1.0}, w / 12.0)
        for k, (name, (w, r, u)) in enumerate(rows.items())
    }
    return SimulationResult(policies, 12.0, mode, 1000 if mode == "sampled" else 0)


def test_policy_bars_are_the_outcome_numbers():
    sim = _sim("exact")
    fig = plot_policies(sim)
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
    exact = plot_policies(_sim("exact"))
    assert not exact.treemarket_data["error_bars"] and exact.treemarket_data["welfare_err"] is None
    assert exact.axes[0].containers and all(
        getattr(c, "errorbar", None) is None for c in exact.axes[0].containers
    )
    sampled = plot_policies(_sim("sampled"))
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
    data = plot_policies(sim).treemarket_data
    assert data["welfare"][data["policies"].index("market")] == pytest.approx(12.0)
    assert data["welfare"][data["policies"].index("myopic")] == pytest.approx(11.0)
    # exact over scenarios, but fcfs and lottery average random arrival orders: their sampling
    # error is drawn; the deterministic policies get none
    errs = dict(zip(data["policies"], data["welfare_err"], strict=True))
    assert errs["market"] == errs["myopic"] == 0.0
    assert (
        errs["fcfs"] == pytest.approx(1.96 * sim.policies["fcfs"].welfare_se) and errs["fcfs"] > 0
    )


def test_the_simulations_policies_come_first_in_their_order():
    sim = _sim("exact")
    sim.policies["posted"] = sim.policies.pop("myopic")  # a policy unknown to the simulation
    assert plot_policies(sim).treemarket_data["policies"] == [
        *(p for p in POLICIES if p in sim.policies),
        "posted",
    ]


def test_draws_into_a_given_axes_and_returns_its_figure():
    fig = new_figure((5.0, 4.0))
    ax = fig.add_subplot()
    assert plot_policies(_sim("sampled"), ax=ax) is fig
    assert fig.axes == [ax] and fig.get_size_inches().tolist() == [5.0, 4.0]
    assert len([c for c in ax.containers if isinstance(c, BarContainer)]) == 2
