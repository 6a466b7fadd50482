"""What a user would write without treemarket: the naive path formulation on scipy's milp.

Every (buyer, node) pair is a variable, one row per buyer and leaf (Σ over the path ≤ 1) and one
per node (Σ over buyers ≤ μ); no pruning, no LP-first shortcut.
"""

from __future__ import annotations

import numpy as np
import scipy.optimize as opt
import scipy.sparse as sp

from treemarket.ttp.model import TTPModel


def naive_path_milp(model: TTPModel, time_limit: float = 600.0) -> tuple[float, str]:
    """Solve [P0] with scipy.optimize.milp on the unpruned path formulation."""
    tree = model.tree
    n_buyers, n_nodes = model.values.shape
    anc = tree.ancestors  # (L, T+1)
    n_leaves, depth = anc.shape
    col = (np.arange(n_buyers)[:, None, None] * n_nodes + anc[None, :, :]).ravel()
    row = np.repeat(np.arange(n_buyers * n_leaves), depth)
    shape = (n_buyers * n_leaves, n_buyers * n_nodes)
    paths = sp.csr_array((np.ones(col.shape[0]), (row, col)), shape=shape)
    node_of_col = np.tile(np.arange(n_nodes), n_buyers)
    supply = sp.csr_array(
        (np.ones(n_buyers * n_nodes), (node_of_col, np.arange(n_buyers * n_nodes))),
        shape=(n_nodes, n_buyers * n_nodes),
    )
    A = sp.vstack([paths, supply]).tocsr()
    ub = np.concatenate([np.ones(n_buyers * n_leaves), model.node_supply.astype(float)])
    c = -(tree.prob[None, :] * model.values).ravel()
    res = opt.milp(
        c,
        constraints=opt.LinearConstraint(A, -np.inf, ub),
        bounds=opt.Bounds(0, 1),
        integrality=np.ones(c.shape[0]),
        options={"time_limit": time_limit, "mip_rel_gap": 1e-9},
    )
    status = "optimal" if res.status == 0 else f"status {res.status}"
    return (float(-res.fun) if res.x is not None else float("nan")), status
