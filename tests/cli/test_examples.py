"""`treemarket examples`: list the bundled files and write them."""

from treemarket.cli import app
from treemarket.cli._common import run_guarded
from treemarket.examples import bundled_examples


def _run(args, capsys):
    code = run_guarded(app, args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_examples_lists_and_writes(tmp_path, capsys):
    code, out, _ = _run(["examples", "--out", str(tmp_path)], capsys)
    assert code == 0
    assert "weather.yaml" in out and (tmp_path / "weather-tree.yaml").exists()
    assert set(p.name for p in tmp_path.iterdir()) == set(bundled_examples())
