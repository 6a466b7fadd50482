"""Back to the paths: the tree's policies on the training paths give the tree's expectation;
on held-out paths they run on the paths' own values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from treemarket.io.ttp_file import load_data_model
from treemarket.scenario.fit import PathData
from treemarket.ttp import solve
from treemarket.ttp.outofsample import evaluate_paths, size_curve
from treemarket.ttp.simulate import simulate

VALUES = {
    "ann": "clip(12 - 2*rain, 0, 12)",
    "bob": "8 + 0.2*temp",
    "cat": "max(15 - 3*rain, 1)",
    "dan": "abs(temp - 10)",
}


def _paths(rng: np.random.Generator, n: int) -> np.ndarray:
    rain = np.abs(np.cumsum(rng.normal(0, 2, size=(n, 4)), axis=1))
    temp = 12 + np.cumsum(rng.normal(0, 1.5, size=(n, 4)), axis=1)
    return np.stack([rain, temp], axis=2)


def _write(path: Path, paths: np.ndarray, weights: np.ndarray | None = None) -> None:
    head = [f"{v}_{t}" for v in ("rain", "temp") for t in range(4)]
    lines = [",".join(["path", *head, *(["w"] if weights is not None else [])])]
    for p, row in enumerate(paths):
        cells = [f"{x:.4f}" for x in row.T.ravel()]
        extra = [f"{weights[p]:.3f}"] if weights is not None else []
        lines.append(",".join([f"p{p}", *cells, *extra]))
    path.write_text("\n".join(lines) + "\n")


def _model(tmp_path: Path, *, weights: bool = False, extra: str = "") -> Path:
    rng = np.random.default_rng(11)
    w = rng.random(300) + 0.5 if weights else None
    _write(tmp_path / "train.csv", _paths(rng, 300), w)
    _write(tmp_path / "test.csv", _paths(rng, 2000))
    rules = "\n".join(f'  {b}: "{f}"' for b, f in VALUES.items())
    (tmp_path / "m.yaml").write_text(
        "model: ttp\n"
        "buyers: [ann, {name: bob, count: 2}, cat, dan]\n"
        "supply: [1, 1, 1, 1]\n"
        f"{extra}"
        "data:\n  paths: train.csv\n  branching: [3, 2, 2]\n"
        + ("  weight: w\n" if weights else "")
        + f"values:\n{rules}\n"
    )
    return tmp_path / "m.yaml"


@pytest.mark.parametrize(
    "weights, extra",
    [(False, ""), (True, ""), (False, "carry_over: true\n"), (False, "buyers_extra")],
    ids=["plain", "weighted", "carry-over", "early-benefit"],
)
def test_in_sample_paths_give_the_in_sample_expectation(
    tmp_path: Path, weights: bool, extra: str
) -> None:
    if extra == "buyers_extra":
        extra = ""
        file = _model(tmp_path, weights=weights)
        text = file.read_text().replace(
            "cat, dan]", "{name: cat, early_benefit: [1.5, 1, 0.5, 0]}, dan]"
        )
        file.write_text(text)
    else:
        file = _model(tmp_path, weights=weights, extra=extra)
    dm = load_data_model(file)
    model = dm.model
    sol = solve(model)
    values = dm.path_values(dm.table)
    ev = evaluate_paths(model, sol, dm.fitted.path_node, values, dm.table.data.prob)
    assert ev.policies["tree"].welfare == pytest.approx(sol.welfare, rel=1e-12)
    system = sol.price_system("low")
    assert system is not None
    assert ev.policies["tree"].revenue == pytest.approx(system.revenue(model, sol.priced_y))
    exact = simulate(model, sol, policies=("market", "myopic"))
    for name in ("market", "myopic"):
        assert ev.policies[name].welfare == pytest.approx(exact.policies[name].welfare, rel=1e-12)
        assert ev.policies[name].revenue == pytest.approx(exact.policies[name].revenue, rel=1e-12)
        assert ev.policies[name].unsold == pytest.approx(exact.policies[name].unsold, abs=1e-12)


def test_held_out_paths_run_on_their_own_values(tmp_path: Path) -> None:
    dm = load_data_model(_model(tmp_path))
    sol = solve(dm.model)
    held = dm.read_paths(tmp_path / "test.csv")
    nodes = dm.fitted.route(held.data)
    values = dm.path_values(held)
    ev = evaluate_paths(dm.model, sol, nodes, values, seed=3)
    assert ev.paths == 2000 and set(ev.policies) == {"tree", "market", "myopic", "fcfs", "lottery"}
    # the tree policy serves y along each path: its welfare is Σ_t Σ_i y_i(n_t) V_i(path)
    served = sum(sol.y[:, nodes[:, t]].T for t in range(4))
    assert ev.policies["tree"].welfare == pytest.approx(float((served * values).sum(1).mean()))
    for outcome in ev.policies.values():
        assert outcome.unsold >= -1e-12 and np.isfinite(outcome.welfare)
    # the same paths with other values give another welfare: the values are the paths' own
    other = evaluate_paths(dm.model, sol, nodes, values + 1.0, policies=("tree",))
    assert other.policies["tree"].welfare == pytest.approx(
        ev.policies["tree"].welfare + float(served.sum(1).mean())
    )


def test_size_curve_fits_solves_and_evaluates_each_size(tmp_path: Path) -> None:
    dm = load_data_model(_model(tmp_path))
    held = dm.read_paths(tmp_path / "test.csv")
    points = size_curve(
        dm.model,
        dm.table.data,
        dm.path_values(dm.table),
        held.data,
        dm.path_values(held),
        [[2, 2, 2], [3, 2, 2], [4, 3, 2]],
        policies=("tree", "myopic"),
    )
    assert [p.nodes for p in points] == sorted(p.nodes for p in points)
    for p in points:
        assert p.in_sample.policies["tree"].welfare == pytest.approx(p.optimum, rel=1e-12)
        assert p.out_of_sample.paths == 2000


def test_evaluation_is_vectorized_over_many_paths() -> None:
    from treemarket.scenario.fit import fit_tree
    from treemarket.ttp.model import TTPModel
    from treemarket.ttp.outofsample import model_on

    rng = np.random.default_rng(0)
    paths = _paths(rng, 2000)
    data = PathData.from_array(paths, ["rain", "temp"])
    fitted = fit_tree(data, [3, 3, 2])
    base = TTPModel.from_arrays(fitted.tree, ["a", "b"], [1, 1, 1, 0], np.zeros((2, 18)))
    values = np.stack([10 - paths[:, -1, 0], paths[:, -1, 1]], axis=1)
    model = model_on(base, fitted, values)
    sol = solve(model)
    many = _paths(rng, 50_000)
    ev = evaluate_paths(model, sol, fitted.route(many), np.zeros((50_000, 2)))
    assert ev.paths == 50_000
    assert ev.policies["tree"].welfare == 0.0


def test_held_out_categories_map_onto_the_models_and_unknown_ones_are_named(
    tmp_path: Path,
) -> None:
    head = "path,sky_0,sky_1,sky_2,rain_0,rain_1,rain_2\n"
    rows = [
        f"p{i},{'sun' if i % 2 else 'rain'},{'sun' if i % 3 else 'fog'},"
        f"{'rain' if i % 5 else 'sun'},{i % 3},{i % 4},{i % 7}"
        for i in range(40)
    ]
    (tmp_path / "train.csv").write_text(head + "\n".join(rows) + "\n")
    (tmp_path / "m.yaml").write_text(
        "model: ttp\nbuyers: [a]\nsupply: [1, 1, 1]\n"
        "data:\n  paths: train.csv\n  variables: [sky, rain]\n  branching: [2, 2]\n"
        "values:\n  a: '5 - rain'\n"
    )
    dm = load_data_model(tmp_path / "m.yaml")
    assert dm.fitted.scaler.categories == {"sky": ("fog", "rain", "sun")}
    # a held-out table with only two of the three categories: codes follow the model's
    (tmp_path / "held.csv").write_text(head + "q0,sun,sun,sun,1,1,1\nq1,sun,rain,sun,1,2,1\n")
    held = dm.read_paths(tmp_path / "held.csv")
    assert held.data.states[:, :, 0].tolist() == [[2, 2, 2], [2, 1, 2]]
    assert held.data.categories["sky"] == ("fog", "rain", "sun")
    (tmp_path / "bad.csv").write_text(head + "q0,sun,sun,sun,1,1,1\nq1,sun,snow,fog,1,2,1\n")
    with pytest.raises(Exception, match=r"bad.csv:3: path 'q1', column sky_1: category 'snow'"):
        dm.read_paths(tmp_path / "bad.csv")


def test_the_paired_difference_to_the_tree_policy(tmp_path: Path) -> None:
    dm = load_data_model(_model(tmp_path))
    sol = solve(dm.model)
    held = dm.read_paths(tmp_path / "test.csv")
    ev = evaluate_paths(dm.model, sol, dm.fitted.route(held.data), dm.path_values(held))
    assert set(ev.versus_tree) == {"market", "myopic", "fcfs", "lottery"}
    for name, row in ev.versus_tree.items():
        gap = ev.policies[name].welfare - ev.policies["tree"].welfare
        assert row["difference"] == pytest.approx(gap, abs=1e-9)
        assert row["se"] >= 0
    # paired: the difference is known far better than either welfare
    assert ev.versus_tree["myopic"]["se"] < ev.policies["myopic"].welfare_se
