"""The registry of computations: what it lists is what the tasks compute and the schema accepts."""

from __future__ import annotations

import dataclasses

import pytest

from treemarket.errors import ModelError
from treemarket.io.common import StrictModel
from treemarket.study import available_metrics, run_task, study_from_dict
from treemarket.study import computations as registry
from treemarket.study.computations import COMPUTATIONS, SimulateSpec, computation
from treemarket.study.generators import PARAMS, ForecastParams
from treemarket.study.schema import ComputeSpec
from treemarket.ttp import solve
from treemarket.ttp.examples import weather
from treemarket.ttp.simulate import POLICIES

EVERY_TTP = {
    "solve": {"method": "market", "max_iterations": 30},
    "simulate": {"draws": 2},
    "schedule": {"capacity": 2},
    "mechanism": {"kind": "pivot"},
}


def _study(generator: str, compute: dict, **model) -> dict:
    return {
        "study": "r",
        "model": {"generator": generator, "params": model},
        "seeds": [3],
        "compute": compute,
    }


@pytest.mark.parametrize(
    ("generator", "compute"),
    [("forecast", EVERY_TTP), ("intermediation", {"intermediation": {"rule": "nash"}})],
)
def test_a_task_computes_exactly_the_listed_metrics_in_order(generator, compute):
    study = study_from_dict(_study(generator, compute))
    (task,) = study.tasks()
    assert study.metrics == available_metrics(study.kind, study.compute)
    assert list(run_task({**task.spec, "metrics": None})) == study.metrics


def test_every_computation_has_its_options_and_kind():
    assert list(ComputeSpec.model_fields) == list(COMPUTATIONS)
    for name, entry in COMPUTATIONS.items():
        assert entry.name == name and entry.kind in registry.MODEL_METRICS
        assert issubclass(entry.options, StrictModel)
        assert entry.metrics({}) if name != "schedule" else entry.metrics({"capacity": 1})


def test_solve_reports_the_jsons_lp_bound_and_the_dual_bound():
    for method, options in (("exact", {}), ("market", {"max_iterations": 40})):
        sol = solve(weather(), method, **options)
        metrics = COMPUTATIONS["solve"].compute(
            registry.TaskContext(weather(), 0), {"method": method, **options}
        )
        data = sol.to_json()
        assert metrics["solve.lp_bound"] == data["lp_bound"]
        assert metrics["solve.dual_bound"] == data.get("dual_bound")
        assert metrics["solve.upper_bound"] == data["upper_bound"]
    assert data["lp_bound"] is None and data["dual_bound"] == data["upper_bound"]  # market


def test_the_policies_are_the_simulations():
    assert SimulateSpec().policies == list(POLICIES)
    with pytest.raises(ValueError, match="'market', 'myopic', 'fcfs' or 'lottery'"):
        SimulateSpec(policies=["auction"])


def test_an_unknown_computation_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown computation 'price'; choose solve, simulate"):
        computation("price")


def test_a_computation_of_the_other_kind_is_refused():
    with pytest.raises(
        ModelError,
        match="compute.solve: needs a TTP model; this study's model is an intermediation tree",
    ):
        study_from_dict(_study("intermediation", {"solve": {}}))


def test_a_computation_whose_module_is_missing_is_refused(monkeypatch):
    missing = dataclasses.replace(COMPUTATIONS["mechanism"], requires="treemarket.nowhere")
    monkeypatch.setitem(COMPUTATIONS, "mechanism", missing)
    with pytest.raises(ModelError, match="compute.mechanism: mechanisms are not available"):
        study_from_dict(_study("forecast", {"mechanism": {}}))


def test_a_swept_rule_is_checked_when_the_study_is_read():
    data = _study("intermediation", {"intermediation": {}})
    data["sweep"] = {"grid": {"intermediation.rule": ["leximin", "fairest"]}}
    with pytest.raises(ModelError, match=r"intermediation\.rule\[1\]: unknown rule; choose"):
        study_from_dict(data)


def test_generator_parameters_are_strict_and_frozen():
    assert all(issubclass(schema, StrictModel) for schema in PARAMS.values())
    with pytest.raises(ValueError, match="extra"):
        ForecastParams(colour="red")
    with pytest.raises(ValueError, match="frozen"):
        ForecastParams().buyers = 4  # type: ignore[misc]
