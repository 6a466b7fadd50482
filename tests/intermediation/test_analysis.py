"""The report object (:mod:`treemarket.intermediation.analysis`): every number of its JSON form
recomputed from the tree by plain loops (Definition 2, Prop. 1, Prop. 2, system (14))."""

import json
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from treemarket.intermediation import analyze

from .oracles import children_lists, utilities_by_definition
from .strategies import trees

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _ordered(tree, by_name):
    return [by_name[name] for name in tree.names]


@FAST
@given(trees(max_nodes=15), st.sampled_from(["leximin", "egalitarian", "nash"]))
def test_the_json_form_agrees_with_the_tree(tree, rule):
    if rule == "nash" and tree.surplus < 0:
        rule = "leximin"  # nash is refused there (tested with the rules)
    out = json.loads(json.dumps(analyze(tree, rule).to_json()))  # plain JSON types only
    kids = children_lists(tree)
    leaves = [i for i in range(tree.n) if not kids[i]]
    total_b = math.fsum(float(tree.limit[i]) for i in leaves)
    s = float(tree.limit[0])
    assert out["surplus"] == pytest.approx(total_b - s, abs=1e-12 * tree.scale)
    exact = sum(Fraction(float(tree.limit[i])) for i in leaves) - Fraction(s)
    assert out["profitable"] == (exact >= 0)  # decided exactly, not after rounding Σ b
    assert out["shortfall"] == pytest.approx(max(0.0, s - total_b), abs=1e-12 * tree.scale)
    # Prop. 1: t = r + x edges, one chain per customer, from the root along parent links
    assert out["transactions"] == tree.n - 1
    assert out["customers"] == len(leaves)
    assert out["intermediaries"] == tree.n - 1 - len(leaves)
    chains = out["chains"]
    assert sorted(tree.index[c[-1]] for c in chains) == leaves
    for chain in chains:
        idx = [tree.index[v] for v in chain]
        assert idx[0] == 0 and all(b in kids[a] for a, b in zip(idx, idx[1:], strict=False))
    # the prices determine the utilities (Definition 2), keyed by the buying node
    pricing = out["pricing"]
    assert pricing["rule"] == rule
    assert list(pricing["prices"]) == list(tree.names[1:])
    prices = [0.0] + [pricing["prices"][name] for name in tree.names[1:]]
    u = utilities_by_definition(tree, prices)
    np.testing.assert_allclose(_ordered(tree, pricing["utilities"]), u, atol=1e-9 * tree.scale)
    welfare = pricing["welfare"]
    assert welfare["utilitarian"] == pytest.approx(total_b - s, abs=1e-9 * tree.scale)
    assert welfare["egalitarian"] == pytest.approx(min(u), abs=1e-9 * tree.scale)
    if min(u) > 0:
        assert welfare["nash_log"] == pytest.approx(sum(math.log(x) for x in u), rel=1e-9)
    else:
        assert welfare["nash_log"] is None
    assert pricing["certificate"]["ok"] is True
    assert ("utility_range" in pricing) == (rule == "egalitarian")
    # system (14): everyone gets h; the negative prices are listed
    eq = out["equal_utility"]
    h = (total_b - s) / tree.n
    assert eq["h"] == pytest.approx(h, abs=1e-12 * tree.scale)
    eq_prices = [0.0] + [eq["prices"][name] for name in tree.names[1:]]
    np.testing.assert_allclose(utilities_by_definition(tree, eq_prices), h, atol=1e-9 * tree.scale)
    assert eq["negative"] == [name for name in tree.names[1:] if eq["prices"][name] < 0]
    assert eq["nonnegative"] == (not eq["negative"])
    # Prop. 2's witness: every utility ≥ 0, only on profitable trees
    if out["profitable"]:
        w = out["witness"]
        assert min(w["prices"].values()) >= 0
        witness = [0.0] + [w["prices"][name] for name in tree.names[1:]]
        assert min(utilities_by_definition(tree, witness)) >= -1e-9 * tree.scale
    else:
        assert out["witness"] is None


@FAST
@given(trees(max_nodes=12))
def test_by_name_follows_the_preorder(tree):
    result = analyze(tree)
    values = np.arange(tree.n, dtype=float)
    assert result.by_name(values) == {name: float(i) for i, name in enumerate(tree.names)}
    assert list(result.by_name(values, skip_root=True)) == list(tree.names[1:])


def test_the_egalitarian_ranges_are_keyed_by_node_and_contain_the_representative():
    from treemarket.intermediation import example_tree

    out = analyze(example_tree(b=8, s=2), "egalitarian").to_json()["pricing"]
    assert out["unique"] is False
    for name, (low, high) in out["utility_range"].items():
        assert low - 1e-9 <= out["utilities"][name] <= high + 1e-9
