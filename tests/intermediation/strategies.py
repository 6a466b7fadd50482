"""Hypothesis strategies for small intermediation trees."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from treemarket.intermediation import IntermediationTree


@st.composite
def trees(
    draw: st.DrawFn,
    min_nodes: int = 2,
    max_nodes: int = 10,
    integer_limits: bool | None = None,
    profitable: bool | None = None,
) -> IntermediationTree:
    """A random tree: node k hangs below a node drawn among 0..k-1; customers' limits in
    0..10 (integers, so that ties and zero limits occur) or floats; the seller's limit anywhere
    from 0 to a bit above Σ b."""
    n = draw(st.integers(min_nodes, max_nodes))
    parent = [-1] + [draw(st.integers(0, k - 1)) for k in range(1, n)]
    leaf = np.ones(n, dtype=bool)
    leaf[[p for p in parent if p >= 0]] = False
    use_int = draw(st.booleans()) if integer_limits is None else integer_limits
    if use_int:
        limits = [float(draw(st.integers(0, 10))) for _ in range(n)]
    else:
        # 0 or at least 1e-6: limits like 5e-324 (subnormal) make every tolerance meaningless
        positive = st.floats(1e-6, 10.0, allow_nan=False, allow_subnormal=False)
        limits = [draw(st.one_of(st.just(0.0), positive)) for _ in range(n)]
    total = sum(limits[i] for i in range(n) if leaf[i])
    if profitable is True:  # below Σ b by at least 1e-6 Σ b: with a surplus of 1e-12 Σ b the
        # utilities are rounding noise and every optimality check compares noise
        s = draw(st.floats(0.0, 1.0 - 1e-6)) * total
    elif profitable is False:
        s = total + draw(st.floats(0.5, 10.0))
    else:
        s = draw(st.floats(0.0, 1.2)) * total
    limits[0] = s
    values = np.array([lim if (leaf[i] or i == 0) else np.nan for i, lim in enumerate(limits)])
    return IntermediationTree.from_arrays(np.array(parent), values)
