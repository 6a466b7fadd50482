"""`treemarket demo`: every file it promises, and one set of prices for tables, JSON, pictures."""

import json

from treemarket.cli import app
from treemarket.cli._common import run_guarded
from treemarket.examples import example_path


def test_the_demo_writes_its_files_and_shows_the_ranges_ttp_solve_shows(tmp_path, capsys):
    assert run_guarded(app, ["demo", "--out", str(tmp_path)]) == 0
    written = {p.name for p in tmp_path.iterdir()}
    for stem in ("weather", "theme-park"):
        assert {f"{stem}.json", f"{stem}-simulation.json", f"{stem}-tree.png"} <= written
    capsys.readouterr()
    code = run_guarded(app, ["ttp", "solve", str(example_path("theme-park.yaml")), "--json"])
    solved = json.loads(capsys.readouterr().out)
    demo = json.loads((tmp_path / "theme-park.json").read_text())
    assert code == 0
    assert [(r["min"], r["max"]) for r in demo["prices"]] == [
        (r["min"], r["max"]) for r in solved["prices"]
    ]
    assert any(r["max"] is None or r["max"] > r["min"] + 1e-9 for r in demo["prices"])
