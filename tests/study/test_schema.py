"""Study files: validation errors name the file and the place; expansion and keys."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

import treemarket
from treemarket.errors import ModelError
from treemarket.study import load_study, study_from_dict

from .helpers import BAD, GOOD, with_value, write_study


@pytest.mark.parametrize(("data", "place", "words"), BAD, ids=[b[1] for b in BAD])
def test_a_bad_study_is_one_error_naming_the_file_and_the_place(
    tmp_path: Path, data: dict, place: str, words: str
) -> None:
    path = write_study(tmp_path, data)
    with pytest.raises(ModelError) as info:
        load_study(path)
    text = str(info.value)
    assert len(text.splitlines()) == 1 and text.startswith(f"{path}:")
    assert f": {place}: " in text and words in text


def test_missing_model_file_names_the_place(tmp_path: Path) -> None:
    path = write_study(tmp_path, with_value(("model",), {"file": "nowhere.yaml"}))
    with pytest.raises(ModelError, match=r"model\.file: no such model file"):
        load_study(path)


def test_errors_inside_a_model_file_name_that_file(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text("model: ttp\nbuyers: [A]\nsupply: [-1]\n", encoding="utf-8")
    path = write_study(tmp_path, with_value(("model",), {"file": "m.yaml"}))
    with pytest.raises(ModelError) as info:
        load_study(path)
    assert "m.yaml" in str(info.value) and "supply" in str(info.value)


def test_grid_random_and_seeds_expand_to_their_product() -> None:
    data = with_value(
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
    explicit = with_value(("model", "params"), {"horizon": 2, "states": 2})
    assert {t.key for t in study_from_dict(explicit).tasks()} == keys
    other = with_value(("model", "params"), {"horizon": 3})
    assert not keys & {t.key for t in study_from_dict(other).tasks()}
    monkeypatch.setattr(treemarket, "__version__", "99.0")
    assert not keys & {t.key for t in study_from_dict(GOOD).tasks()}


def test_compute_options_can_be_swept() -> None:
    data = with_value(("compute",), {"simulate": {"policies": ["fcfs"]}})
    data["sweep"]["grid"]["simulate.draws"] = [1, 4]
    study = study_from_dict(data)
    draws = sorted({t.spec["compute"]["simulate"]["draws"] for t in study.tasks()})
    assert draws == [1, 4] and len(study.tasks()) == 2 * 2 * 2


def test_bundled_example_is_valid_and_small() -> None:
    from treemarket.examples import example_path

    study = load_study(example_path("study-forecast.yaml"))
    assert study.generator == "forecast"
    assert {"accuracy", "buyers"} <= set(study.swept)
    policies = {m.split(".")[1] for m in study.metrics}
    assert policies == {"market", "myopic", "fcfs", "lottery"}
    assert len(study.tasks()) <= 200
