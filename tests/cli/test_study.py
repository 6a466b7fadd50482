"""`treemarket study run|status|report`: exit codes, one-line errors and what is printed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.study.helpers import BAD, small_study, stored, write_study
from treemarket.cli._common import run_guarded
from treemarket.cli.study import app
from treemarket.study import load_study


@pytest.fixture(name="small_study")
def _small_study() -> dict[str, Any]:
    return small_study()


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


def test_cli_run_status_report(tmp_path: Path, small_study: dict, capsys) -> None:
    path = write_study(tmp_path, small_study)
    out = tmp_path / "out"
    assert run_guarded(app, ["report", str(path), "--out", str(out)]) == 2
    assert "nothing stored yet" in capsys.readouterr().err
    assert run_guarded(app, ["status", str(path)]) == 0
    assert "12" in capsys.readouterr().out
    assert run_guarded(app, ["run", str(path), "--serial"]) == 0
    text = capsys.readouterr().out
    assert "done 12, failed 0, pending 0 of 12; computed 12 in this run" in text
    assert run_guarded(app, ["run", str(path), "--serial"]) == 0
    assert "computed 0 in this run" in capsys.readouterr().out
    assert run_guarded(app, ["report", str(path), "--out", str(out), "--format", "md"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "small-simulate.welfare-vs-accuracy.png",
        "small-simulate.welfare-vs-buyers.png",
        "small-summary.md",
        "small-tasks.md",
    ]
    summary = (out / "small-summary.md").read_text()
    assert summary.count("simulate.market.welfare") == 4  # one row per point


def test_cli_rejects_contradictory_options(tmp_path: Path, small_study: dict, capsys) -> None:
    path = write_study(tmp_path, small_study)
    assert run_guarded(app, ["run", str(path), "--serial", "--workers", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--serial" in err[0]
    assert not (tmp_path / "study.results.sqlite").exists()


def test_attach_to_a_running_scheduler(tmp_path: Path, small_study, capsys) -> None:
    from distributed import Client

    from treemarket.study.runner import local_cluster

    path = write_study(tmp_path, small_study)
    with local_cluster(2) as cluster, Client(cluster):
        code = run_guarded(app, ["run", str(path), "--scheduler", cluster.scheduler_address])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Dask dashboard:" in out and "computed 12 in this run" in out
    reference = tmp_path / "serial.sqlite"
    assert run_guarded(app, ["run", str(path), "--serial", "--store", str(reference)]) == 0
    assert stored(load_study(path).store) == stored(reference)
