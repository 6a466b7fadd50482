"""Study files: validation errors name the file and the place; expansion and keys."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

import treemarket
from treemarket.cli._common import run_guarded
from treemarket.cli.study import app
from treemarket.errors import ModelError
from treemarket.study import load_study, study_from_dict

from .conftest import write_study

GOOD = {
    "study": "bad-cases",
    "model": {"generator": "forecast", "params": {"horizon": 2}},
    "sweep": {"grid": {"accuracy": [0.5, 1.0]}},
    "seeds": 2,
    "compute": {"solve": {"method": "exact"}},
}


def _with(path: tuple, value) -> dict:
    data = copy.deepcopy(GOOD)
    target = data
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = value
    return data


BAD = [
    (_with(("colour",), "red"), "colour", "unknown key"),
    (_with(("sweep", "grid", "accuracy"), [0.5, 1.5]), "sweep.grid.accuracy[1]", "less than"),
    (_with(("sweep", "grid", "accuracy"), [0.5, 0.5]), "sweep.grid.accuracy[1]", "repeats"),
    (_with(("sweep", "grid", "colour"), [1, 2]), "sweep.grid.colour", "unknown parameter"),
    (_with(("sweep", "grid", "horizon"), [1, 2]), "sweep.grid.horizon", "also fixed"),
    (_with(("sweep", "grid", "simulate.draws"), [1]), "sweep.grid.simulate.draws", "not part"),
    (_with(("model", "params", "buyers"), 0), "model.params.buyers", "greater than"),
    (_with(("model", "generator"), "nonsense"), "model.generator", "unknown generator"),
    (_with(("compute",), {"intermediation": {}}), "compute.intermediation", "intermediation"),
    (_with(("compute",), {}), "compute", "at least one"),
    (_with(("compute", "solve", "method"), "magic"), "compute.solve.method", "exact"),
    (_with(("compute", "solve", "target_gap"), 0.1), "compute.solve", "method: market"),
    (_with(("metrics",), ["solve.welfare", "nothing.*"]), "metrics[1]", "matches no metric"),
    (_with(("seeds",), [1, 2, 1]), "seeds[2]", "repeats"),
    (_with(("seeds",), 0), "seeds", "greater than"),
    (_with(("study",), "has space"), "study", "pattern"),
    (
        _with(("sweep", "random"), {"samples": 3, "params": {"spread": {"uniform": [5, 1]}}}),
        "sweep.random.params.spread.uniform",
        "low <= high",
    ),
    (
        _with(("sweep", "random"), {"samples": 3, "params": {"spread": {"uniform": [-5, 1]}}}),
        "sweep.random.params.spread.uniform[0]",
        "greater than or equal",
    ),
    (
        _with(("sweep", "random"), {"samples": 2, "params": {"spread": {}}}),
        "sweep.random.params.spread",
        "exactly one",
    ),
    (
        _with(("sweep", "random"), {"samples": 2, "params": {"accuracy": {"choice": [1]}}}),
        "sweep.random.params.accuracy",
        "also swept",
    ),
]


@pytest.mark.parametrize(("data", "place", "words"), BAD, ids=[b[1] for b in BAD])
def test_bad_study_exits_2_with_one_line_naming_the_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: dict, place: str, words: str
) -> None:
    path = write_study(tmp_path, data)
    code = run_guarded(app, ["run", str(path), "--serial"])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(path) in lines[0]
    assert f": {place}: " in lines[0]
    assert words in lines[0]
    assert "Traceback" not in err
    assert [p.name for p in tmp_path.iterdir()] == ["study.yaml"]  # no store was created


@pytest.mark.parametrize("command", ["status", "report"])
def test_bad_yaml_exits_2_in_every_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("study: x\nmodel: [unclosed\n", encoding="utf-8")
    assert run_guarded(app, [command, str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {path}:") and "not valid YAML" in err[0]


def test_missing_model_file_names_the_place(tmp_path: Path) -> None:
    path = write_study(tmp_path, _with(("model",), {"file": "nowhere.yaml"}))
    with pytest.raises(ModelError, match=r"model\.file: no such model file"):
        load_study(path)


def test_errors_inside_a_model_file_name_that_file(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text("model: ttp\nbuyers: [A]\nsupply: [-1]\n", encoding="utf-8")
    path = write_study(tmp_path, _with(("model",), {"file": "m.yaml"}))
    with pytest.raises(ModelError) as info:
        load_study(path)
    assert "m.yaml" in str(info.value) and "supply" in str(info.value)


def test_grid_random_and_seeds_expand_to_their_product() -> None:
    data = _with(
        ("sweep", "random"),
        {
            "samples": 3,
            "seed": 7,
            "params": {"spread": {"uniform": [1, 4]}, "buyers": {"integers": [2, 9]}},
        },
    )
    study = study_from_dict(data)
    tasks = study.tasks()
    assert len(tasks) == 2 * 3 * 2
    assert study.swept == ["accuracy", "spread", "buyers"]
    assert all(1 <= t.point["spread"] <= 4 and 2 <= t.point["buyers"] <= 9 for t in tasks)
    again = study_from_dict(copy.deepcopy(data)).tasks()
    assert [t.key for t in tasks] == [t.key for t in again]  # the samples are reproducible
    assert len({t.key for t in tasks}) == len(tasks)


def test_keys_depend_on_parameters_and_version(monkeypatch: pytest.MonkeyPatch) -> None:
    keys = {t.key for t in study_from_dict(GOOD).tasks()}
    # writing a default explicitly changes nothing: keys use the canonical parameters
    explicit = _with(("model", "params"), {"horizon": 2, "states": 2})
    assert {t.key for t in study_from_dict(explicit).tasks()} == keys
    other = _with(("model", "params"), {"horizon": 3})
    assert not keys & {t.key for t in study_from_dict(other).tasks()}
    monkeypatch.setattr(treemarket, "__version__", "99.0")
    assert not keys & {t.key for t in study_from_dict(GOOD).tasks()}


def test_compute_options_can_be_swept() -> None:
    data = _with(("compute",), {"simulate": {"policies": ["fcfs"]}})
    data["sweep"]["grid"]["simulate.draws"] = [1, 4]
    study = study_from_dict(data)
    draws = sorted({t.spec["compute"]["simulate"]["draws"] for t in study.tasks()})
    assert draws == [1, 4] and len(study.tasks()) == 2 * 2 * 2


def test_bundled_example_is_valid_and_small() -> None:
    from treemarket.cli.examples import example_path

    study = load_study(example_path("study-forecast.yaml"))
    assert study.generator == "forecast"
    assert {"accuracy", "buyers"} <= set(study.swept)
    policies = {m.split(".")[1] for m in study.metrics}
    assert policies == {"market", "myopic", "fcfs", "lottery"}
    assert len(study.tasks()) <= 200
