"""The picture, checked at the level of what is drawn."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from treemarket.intermediation import analyze, example_tree  # noqa: E402
from treemarket.viz.intermediation import draw_tree, save_tree_picture, tree_layout  # noqa: E402


@pytest.fixture
def open_case():
    result = analyze(example_tree(b=8, s=2))
    picture = draw_tree(result)
    yield result, picture
    plt.close(picture.figure)


def test_nodes_carry_products_limits_and_utilities(open_case):
    result, picture = open_case
    labels = picture.node_labels
    assert set(labels) == set(result.tree.names)
    assert labels["0"].splitlines() == ["0", "{1, 2, 3, 4}", "s = 2", "u = 4.667"]
    assert labels["3"].splitlines() == ["3", "{1, 2}", "b = 16", "u = 4.667"]
    assert labels["4"].splitlines() == ["4", "{3}", "u = 4"]  # an intermediary: no limit
    drawn = picture.texts()
    for text in labels.values():
        assert text in drawn


def test_edges_carry_the_prices_and_binding_edges_are_marked(open_case):
    result, picture = open_case
    assert picture.edge_labels[("1", "3")] == "p = 11.33"
    assert picture.edge_labels[("0", "2")] == "p = 0"
    assert sorted(picture.binding) == [("0", "2"), ("1", "4")]
    assert len(picture.edge_labels) == result.tree.transactions
    drawn = picture.texts()
    for text in picture.edge_labels.values():
        assert text in drawn
    assert "leximin" in picture.title


def test_layout_puts_the_seller_on_top_and_parents_over_children():
    tree = example_tree()
    pos = tree_layout(tree)
    assert pos[0, 1] == 0 and (pos[1:, 1] < 0).all()
    for j in range(1, tree.n):
        assert pos[j, 1] == pos[tree.parent[j], 1] - 1
    leaves = pos[tree.is_leaf, 0]
    assert sorted(leaves) == [0, 1, 2]


def test_negative_utilities_are_flagged_when_not_profitable():
    result = analyze(example_tree(b=1, s=10))
    picture = draw_tree(result)
    try:
        assert sorted(picture.negative) == sorted(result.tree.names)
    finally:
        plt.close(picture.figure)


def test_saved_file_is_complete(tmp_path):
    result = analyze(example_tree(b=8, s=6))
    path = tmp_path / "fig.svg"
    picture = save_tree_picture(result, path, "svg")
    text = path.read_text()
    assert text.rstrip().endswith("</svg>")
    assert "p = 0.5714" in picture.edge_labels.values()
    assert [p.name for p in tmp_path.iterdir()] == ["fig.svg"]
