"""The picture of an intermediation tree, checked at the level of what is drawn."""

import pytest
from matplotlib.figure import Figure

from treemarket.intermediation import analyze, example_tree
from treemarket.viz.intermediation import draw_tree, tree_layout


def _texts(fig):
    """Every text drawn on the figure's axes."""
    return [t.get_text() for ax in fig.axes for t in ax.texts]


@pytest.fixture
def open_case():
    result = analyze(example_tree(b=8, s=2))
    return result, draw_tree(result)


def test_draw_tree_returns_the_figure_with_what_it_drew(open_case):
    _, fig = open_case
    assert isinstance(fig, Figure)
    assert fig.treemarket_data["kind"] == "intermediation-tree"


def test_nodes_carry_products_limits_and_utilities(open_case):
    result, fig = open_case
    labels = fig.treemarket_data["node_labels"]
    assert set(labels) == set(result.tree.names)
    assert labels["0"].splitlines() == ["0", "{1, 2, 3, 4}", "s = 2", "u = 4.667"]
    assert labels["3"].splitlines() == ["3", "{1, 2}", "b = 16", "u = 4.667"]
    assert labels["4"].splitlines() == ["4", "{3}", "u = 4"]  # an intermediary: no limit
    drawn = _texts(fig)
    for text in labels.values():
        assert text in drawn


def test_edges_carry_the_prices_and_binding_edges_are_marked(open_case):
    result, fig = open_case
    data = fig.treemarket_data
    assert data["edge_labels"][("1", "3")] == "p = 11.33"
    assert data["edge_labels"][("0", "2")] == "p = 0"
    assert sorted(data["binding"]) == [("0", "2"), ("1", "4")]
    assert len(data["edge_labels"]) == result.tree.transactions
    drawn = _texts(fig)
    for text in data["edge_labels"].values():
        assert text in drawn
    assert "leximin" in data["title"]


def test_layout_puts_the_seller_on_top_and_parents_over_children():
    tree = example_tree()
    pos = tree_layout(tree)
    assert pos[0, 1] == 0 and (pos[1:, 1] < 0).all()
    for j in range(1, tree.n):
        assert pos[j, 1] == pos[tree.parent[j], 1] - 1
    leaves = pos[tree.is_leaf, 0]
    assert sorted(leaves) == [0, 1, 2]
    # an inner node sits midway between its first and its last child
    for j in range(tree.n):
        kids = tree.children(j)
        if kids.size:
            assert pos[j, 0] == (pos[kids[0], 0] + pos[kids[-1], 0]) / 2


def test_negative_utilities_are_flagged_when_not_profitable():
    result = analyze(example_tree(b=1, s=10))
    fig = draw_tree(result)
    assert sorted(fig.treemarket_data["negative"]) == sorted(result.tree.names)


def test_drawing_into_given_axes_returns_their_figure():
    fig = Figure(figsize=(8, 3))
    left, right = fig.subplots(1, 2)
    result = analyze(example_tree(b=8, s=6))
    assert draw_tree(result, ax=right, title="fig") is fig
    assert right.texts and not left.texts
    assert fig.treemarket_data["title"].startswith("fig — leximin prices")
    assert tuple(fig.get_size_inches()) == (8, 3)


def test_rounding_noise_is_written_as_zero():
    result = analyze(example_tree(b=8, s=6))
    noisy = result.pricing.utilities.copy()
    noisy[1] = 1e-15  # far below the tree's unit
    pricing = type(result.pricing)(**{**result.pricing.__dict__, "utilities": noisy})
    fig = draw_tree(type(result)(result.tree, result.profitability, result.equal_utility, pricing))
    assert fig.treemarket_data["node_labels"]["1"].splitlines()[-1] == "u = 0"
