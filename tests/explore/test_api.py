"""The explore page's JSON and edits, and its solves in their own processes."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from treemarket.errors import ModelError
from treemarket.examples import example_path
from treemarket.explore.api import edit_places, edit_text, load_text, model_json, solution_json
from treemarket.explore.jobs import Jobs
from treemarket.io.ttp_file import load_ttp
from treemarket.ttp import TTPModel, solve

from .test_page import big_model

WEATHER = example_path("weather.yaml")


def test_every_listed_edit_rewrites_its_number_and_nothing_else():
    text = WEATHER.read_text()
    loaded = load_text(text, str(WEATHER))
    edits = edit_places(loaded)
    labels = {e["label"] for e in edits}
    assert {"supply μ(0)", "buyer A: count", "scenario CR: probability"} <= labels
    for edit in edits:
        new = edit_text(text, edit["place"], 7)
        again = load_text(new, str(WEATHER)) if edit["place"][-1] != "probability" else None
        changed = [a != b for a, b in zip(text.splitlines(), new.splitlines(), strict=True)]
        assert sum(changed) == 1  # one line changed, comments kept
        if again is not None:
            data = again.doc.data
            for part in edit["place"]:
                data = data[part]
            assert data == 7


def test_a_tree_files_probabilities_and_values_are_editable():
    path = example_path("weather-tree.yaml")
    loaded = load_text(path.read_text(), str(path))
    edits = {e["label"]: e for e in edit_places(loaded)}
    place = edits["root → rain possible → CR: value of B"]["place"]
    new = edit_text(path.read_text(), place, 3.5)
    model = load_text(new, str(path)).model
    assert isinstance(model, TTPModel)
    leaf = int(model.tree.scenario_leaf[list(model.tree.scenario_names).index("CR")])
    assert model.values[model.buyers.index("B"), leaf] == 3.5


def test_edits_refuse_a_place_without_a_number():
    with pytest.raises(ModelError, match="no number"):
        edit_text(WEATHER.read_text(), ["scenarios", "XX", "probability"], 1)
    with pytest.raises(ModelError, match="fix the YAML"):
        edit_text("supply: [1, 2\n", ["supply", 0], 1)


def test_the_solution_json_colours_each_node_by_its_buyer():
    model = load_ttp(WEATHER)
    solution = solve(model, price_ranges=False)
    out = solution_json(solution)
    for row in solution.assignment_rows():
        assert model.buyers[out["main_buyer"][row["node_id"]]] == row["buyer"]
    assert [label for label, _ in out["certificate"]][0] == "expected welfare [P0]:"
    sold = np.zeros(model.tree.n_nodes)
    for _, node, units in out["purchases"]:
        sold[node] += units
    assert np.allclose(sold, out["sold"])
    tree = model_json(load_text(WEATHER.read_text(), str(WEATHER)))["tree"]
    assert tree["parent"] == model.tree.parent.tolist()
    assert tree["names"] == model.tree.node_names()


def wait(jobs: Jobs, job: str, seconds: float = 60) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        status = jobs.status(job)
        assert status is not None
        if status["state"] != "running" or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def test_a_solve_runs_in_its_own_process_and_can_be_cancelled(tmp_path: Path):
    jobs = Jobs()
    try:
        jobs.warm().join(timeout=60)  # the process server, started before the first solve
        done = wait(jobs, jobs.start(WEATHER.read_text(), str(WEATHER), "exact"))
        assert done["state"] == "done"
        assert done["result"]["welfare"] == solve(load_ttp(WEATHER)).welfare
        path, _ = big_model(tmp_path)
        job = jobs.start(path.read_text(), str(path), "exact")
        process = jobs._jobs[job].process
        assert jobs.cancel(job)["state"] == "cancelled"
        assert not process.is_alive()
        assert jobs.status("nope") is None
    finally:
        jobs.close()
