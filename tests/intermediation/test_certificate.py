"""The KKT certificate (:mod:`treemarket.intermediation.certificate`): it accepts the optimum and
rejects every way of leaving it, each residual measured as the conditions say."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from treemarket.intermediation import certificate, example_tree, price
from treemarket.intermediation.waterfill import waterfill

from .oracles import children_lists, utilities_by_definition
from .strategies import trees

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_certificate_rejects_a_wrong_answer():
    tree = example_tree(b=8, s=2)
    good = price(tree).prices
    assert certificate(tree, good).ok
    bad = good.copy()
    bad[tree.index["1"]] += 0.5  # moves utility from node 1 to the seller: not monotone
    cert = certificate(tree, bad)
    assert not cert.ok and cert.monotonicity > 0
    assert math.isfinite(cert.complementarity)


@FAST
@given(trees(max_nodes=20))
def test_residuals_are_those_of_the_conditions(tree):
    """Prices perturbed at random: each residual equals its definition computed by loops (up to
    the rounding allowance), relative to the largest customer limit."""
    rng = np.random.default_rng(tree.n)
    p = np.r_[0.0, rng.normal(size=tree.n - 1) * tree.unit]
    cert = certificate(tree, p)
    u = utilities_by_definition(tree, list(p))
    kids = children_lists(tree)
    edges = [(i, j) for i in range(tree.n) for j in kids[i]]
    feas = max(0.0, -min(p[j] for _, j in edges)) / tree.unit
    mono = max(0.0, max(u[j] - u[i] for i, j in edges)) / tree.unit
    comp = max(0.0, max(min(p[j], u[i] - u[j]) for i, j in edges)) / tree.unit
    assert cert.feasibility == pytest.approx(feas, abs=1e-12)
    assert cert.monotonicity == pytest.approx(mono, abs=1e-9)
    assert cert.complementarity == pytest.approx(comp, abs=1e-9)
    assert cert.ok == (max(feas, mono, comp) <= cert.tol)


@FAST
@given(trees(max_nodes=20))
def test_the_optimum_passes_and_leaving_it_fails(tree):
    u = waterfill(tree)
    p = tree.prices(u)
    assert certificate(tree, p).ok
    # a price above 0 on an edge where the utility drops: complementarity fails
    drop = [j for j in range(1, tree.n) if u[tree.parent[j]] - u[j] > 1e-3 * tree.unit]
    if drop:
        q = p.copy()
        q[drop[0]] += 1e-4 * tree.unit
        cert = certificate(tree, q)
        assert not cert.ok and cert.complementarity >= 1e-4 * (1 - 1e-6)
    # a negative price: feasibility fails by exactly its size
    q = p.copy()
    q[1] = -tree.unit
    cert = certificate(tree, q)
    assert not cert.ok and cert.feasibility == pytest.approx(1.0)


def test_to_json_has_the_residuals_and_the_verdict():
    cert = certificate(example_tree(), price(example_tree()).prices)
    assert cert.to_json() == {
        "feasibility": cert.feasibility,
        "monotonicity": cert.monotonicity,
        "complementarity": cert.complementarity,
        "ok": True,
    }
