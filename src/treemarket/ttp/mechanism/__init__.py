"""Truthful mechanisms for the TTP: static VCG and the dynamic pivot mechanism.

Both assign permits by the welfare optimum of [P0] (for the reported values) and differ in when
and how the buyers pay.

Notation
--------
W* is the optimum of [P0], ``y*`` an optimal assignment and w_i = E[Σ_n v_i(n) y*_i(n)] buyer
i's expected value in it. W*_{−i} is the optimum "without i": the model without buyer i; for a
buyer **type** with count c > 1 one unit of the type is "the buyer": removing her lowers the
count by one (c − 1). Payments and payoffs are then reported per type (all its units) and per
unit (the type's total divided by c; individual units differ only by how the optimum breaks ties
among identical units, their payoffs are equal). J(n, z, s) is the optimal continuation value
from node n (:mod:`~treemarket.ttp.mechanism.continuation`).

Modules
-------
continuation
    J(n, z, s) (:class:`ContinuationValues`) and the state walk along an assignment.
static
    The static VCG mechanism (:func:`vcg`): reports at t = 0, payments W*_{−i} − (W* − w_i).
pivot
    The dynamic pivot mechanism (:func:`dynamic_pivot`, Bergemann and Välimäki 2010): flow
    payments node by node; its expected payments equal the VCG payments.
compare
    VCG, the pivot and the lowest and highest expected-revenue supporting price systems of the
    markets side by side (:func:`compare_mechanisms`); with one market (T = 0) the lowest prices
    are the uniform-price auction and coincide with VCG.

:func:`treemarket.testing.misreport_search` verifies incentive compatibility on small instances
by exhaustive search over misreports.

Examples
--------
>>> from treemarket.ttp.examples import weather
>>> m = weather()
>>> vcg(m).payoffs.tolist(), dynamic_pivot(m).payoffs.tolist()
([5.0, 5.0, 2.0], [5.0, 5.0, 2.0])
"""

from treemarket.ttp.mechanism.compare import MechanismComparison, compare_mechanisms
from treemarket.ttp.mechanism.continuation import ContinuationValues
from treemarket.ttp.mechanism.pivot import PivotResult, dynamic_pivot
from treemarket.ttp.mechanism.static import VCGResult, vcg

__all__ = [
    "ContinuationValues",
    "MechanismComparison",
    "PivotResult",
    "VCGResult",
    "compare_mechanisms",
    "dynamic_pivot",
    "vcg",
]
