"""The shipped Seattle weather is the vega_datasets copy, whole and unchanged."""

from __future__ import annotations

import csv

import pytest

from treemarket.examples import example_path


def test_the_shipped_file_is_the_one_in_vega_datasets() -> None:
    vega = pytest.importorskip("vega_datasets")
    from importlib import resources

    source = resources.files(vega) / "_data" / "seattle-weather.csv"
    ours = example_path("seattle-weather.csv").read_text(encoding="utf-8")
    assert ours == source.read_text(encoding="utf-8")


def test_the_file_has_four_years_of_days() -> None:
    with open(example_path("seattle-weather.csv"), newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1461
    assert rows[0]["date"] == "2012/01/01" and rows[-1]["date"] == "2015/12/31"
    assert set(rows[0]) == {"date", "precipitation", "temp_max", "temp_min", "wind", "weather"}
    assert example_path("seattle-weather-LICENSE.txt").exists()
