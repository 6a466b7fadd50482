"""Scenario trees from data: stagewise clustering and scenario reduction of observed paths into
a tree, the way back (routing paths down the tree) and the distances between tree and data."""

from treemarket.scenario.fit.build import (
    METHODS,
    FittedTree,
    StageDistances,
    fit_tree,
    stage_distances,
)
from treemarket.scenario.fit.data import PathData, Scaler
from treemarket.scenario.fit.distance import fan, nested_distance, transport
from treemarket.scenario.fit.reduce import (
    Reduction,
    backward_reduction,
    forward_selection,
    path_cost,
)

__all__ = [
    "METHODS",
    "FittedTree",
    "PathData",
    "Reduction",
    "Scaler",
    "StageDistances",
    "backward_reduction",
    "fan",
    "fit_tree",
    "forward_selection",
    "nested_distance",
    "path_cost",
    "stage_distances",
    "transport",
]
