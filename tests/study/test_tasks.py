"""Every computation a task can run, on generated models, and the attached-cluster path."""

from __future__ import annotations

from pathlib import Path

import pytest

from treemarket.study import load_study, run_study, run_task, study_from_dict, summary_frame
from treemarket.study.generators import forecast_model, forecast_tree
from treemarket.ttp import solve_exact

from .helpers import write_study


def _metrics(generator: str, params: dict, compute: dict, seed: int = 0) -> dict:
    study = study_from_dict(
        {
            "study": "k",
            "model": {"generator": generator, "params": params},
            "seeds": [seed],
            "compute": compute,
        }
    )
    return run_task(study.tasks()[0].spec)


def test_solve_simulate_and_mechanism_agree_on_the_optimum() -> None:
    compute = {"solve": {"method": "exact"}, "simulate": {"draws": 2}, "mechanism": {}}
    m = _metrics("forecast", {"buyers": 5, "accuracy": 0.9}, compute, seed=4)
    optimum = solve_exact(forecast_model(4, {"buyers": 5, "accuracy": 0.9})).welfare
    assert m["solve.welfare"] == m["simulate.optimum"] == m["mechanism.welfare"] == optimum
    assert m["solve.gap"] == 0.0 and m["mechanism.revenue"] >= 0
    assert m["simulate.market.efficiency"] == pytest.approx(1.0)
    for policy in ("myopic", "fcfs", "lottery"):
        assert m[f"simulate.{policy}.welfare"] <= optimum + 1e-9


def test_schedule_is_at_least_everything_at_the_exercise_time() -> None:
    m = _metrics("forecast", {"buyers": 4}, {"schedule": {"capacity": 3}})
    assert m["schedule.welfare"] >= m["schedule.all_at_exercise"] - 1e-9
    assert 0 <= m["schedule.early_supply"] <= 3


def test_intermediation_metrics() -> None:
    m = _metrics("intermediation", {"n": 15}, {"intermediation": {"rule": "leximin"}})
    assert m["model.nodes"] == 15 and m["intermediation.transactions"] == 14
    assert m["intermediation.utilitarian"] == pytest.approx(m["intermediation.surplus"])
    assert m["intermediation.profitable"] == float(m["intermediation.surplus"] >= 0)


def test_a_users_generator_is_called_with_the_seeded_rng() -> None:
    params = {"horizon": 2, "buyers": 3, "supply": 1}
    builtin = _metrics("random", params, {"solve": {}}, seed=7)
    custom = _metrics("treemarket.testing:random_model", params, {"solve": {}}, seed=7)
    assert custom == builtin


def test_a_model_file_study(tmp_path: Path) -> None:
    from treemarket.examples import example_path

    (tmp_path / "weather.yaml").write_text(example_path("weather.yaml").read_text())
    path = write_study(
        tmp_path,
        {
            "study": "file",
            "model": {"file": "weather.yaml"},
            "sweep": {"grid": {"supply": [[1, 1, 1], [0, 0, 3]]}},
            "compute": {"solve": {}},
            "metrics": ["solve.welfare"],
        },
    )
    study = load_study(path)
    welfare = sorted(run_task(t.spec)["solve.welfare"] for t in study.tasks())
    assert welfare == [12.0, 12.0]  # the paper's model: full information is worth the same
    run_study(study, serial=True)
    summary = summary_frame(study)
    assert summary["supply"].tolist() == ["[1, 1, 1]", "[0, 0, 3]"]
    assert summary["mean"].tolist() == [12.0, 12.0]
    before = {t.key for t in study.tasks()}
    (tmp_path / "weather.yaml").write_text(example_path("weather.yaml").read_text() + "\n# x\n")
    assert not before & {t.key for t in load_study(path).tasks()}  # keyed by content


def test_forecast_tree_probabilities_and_information() -> None:
    tree, weather = forecast_tree(3, 0.7, states=3)
    assert tree.prob[tree.leaves].sum() == pytest.approx(1.0)
    assert tree.n_leaves == 27 and sorted(set(weather.tolist())) == [0, 1, 2]
    noise = forecast_model(0, {"buyers": 4, "accuracy": 0.5, "horizon": 2})
    values = noise.values  # an uninformative forecast: v(t = 1) = v(t = 0)
    level1 = noise.tree.level(1)
    assert (values[:, level1] == values[:, [0]]).all()
