"""Pictures: one module per picture, each function drawing into a new figure or a given ``ax``.

* :mod:`~treemarket.viz.tree`: the TTP scenario tree (:func:`plot_tree`);
* :mod:`~treemarket.viz.prices`: the price fan (:func:`plot_price_fan`);
* :mod:`~treemarket.viz.policies`: the policies compared (:func:`plot_policies`);
* :mod:`~treemarket.viz.study`: a study's metric against a swept parameter (:func:`plot_study`);
* :mod:`~treemarket.viz.intermediation`: intermediation trees;
* :mod:`~treemarket.viz.figure`: the shared figure helpers and :func:`save`.

Every picture function takes ``ax=None`` and returns its matplotlib ``Figure``. matplotlib is
imported only when a picture is drawn: importing these modules does not import it.
"""

from treemarket.viz.figure import save
from treemarket.viz.policies import plot_policies
from treemarket.viz.prices import plot_price_fan
from treemarket.viz.study import plot_study
from treemarket.viz.tree import plot_tree

__all__ = ["plot_policies", "plot_price_fan", "plot_study", "plot_tree", "save"]
