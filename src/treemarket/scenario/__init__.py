"""Scenario trees as arrays: built from partitions, nested trees or sampled paths."""

from treemarket.scenario.tree import ScenarioTree, check_refinement

__all__ = ["ScenarioTree", "check_refinement"]
