"""Models from a table of sampled paths (CSV)."""

import numpy as np
import pytest

from treemarket.errors import ModelError
from treemarket.io.ttp_file import load_ttp
from treemarket.ttp import solve_exact
from treemarket.ttp.examples import weather


def test_weather_from_sampled_paths(tmp_path):
    """Each scenario sampled once, equal weights: the same model as the slides."""
    rows = ["t0,t1,t2,A,B,C", "s,nr,fc,8,6,2", "s,nr,cf,6,8,2", "s,nf,cr,6,-4,2", "s,nf,rc,-4,6,2"]
    (tmp_path / "paths.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "m.yaml").write_text(
        "model: ttp\nbuyers: [A, B, C]\nsupply: [1, 1, 1]\npaths: paths.csv\n"
    )
    model = load_ttp(tmp_path / "m.yaml")
    assert model.tree.n_nodes == 7
    assert solve_exact(model).welfare == pytest.approx(solve_exact(weather()).welfare)


def test_weights_and_repeated_paths(tmp_path):
    rows = ["t0,t1,A,w", "s,up,4,1", "s,up,4,1", "s,down,0,2"]
    (tmp_path / "p.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "m.yaml").write_text(
        "model: ttp\nbuyers: [A]\nsupply: [0, 1]\npaths: {file: p.csv, weight: w}\n"
    )
    model = load_ttp(tmp_path / "m.yaml")
    assert model.tree.n_leaves == 2 and model.tree.n_scenarios == 3
    assert model.values[0, 0] == pytest.approx(2.0)  # (4 + 4 + 0*2) / 4
    np.testing.assert_allclose(sorted(model.tree.prob[model.tree.leaves]), [0.5, 0.5])


@pytest.mark.parametrize(
    "table, fragment",
    [
        ("t0,A\ns,1\n", "missing column 't1'"),
        ("t0,t1,A\ns,x,abc\n", "not a number"),
        ("t0,t1,A\ns,x\n", "fields"),
    ],
)
def test_bad_tables(tmp_path, table, fragment):
    (tmp_path / "p.csv").write_text(table)
    (tmp_path / "m.yaml").write_text("model: ttp\nbuyers: [A]\nsupply: [1, 1]\npaths: p.csv\n")
    with pytest.raises(ModelError, match=fragment) as info:
        load_ttp(tmp_path / "m.yaml")
    assert "p.csv" in str(info.value)
