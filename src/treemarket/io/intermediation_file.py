"""Intermediation models from users: files (``model: intermediation``, format in
``docs/formats.md``), nested dicts and networkx graphs.

The schema is checked first (pydantic), then Definition 1
(:func:`treemarket.intermediation.tree.build_tree`). Every mistake becomes a
:class:`~treemarket.errors.ModelError` naming the file, the line and the node, e.g.
``fig.yaml:9: tree.children[0].children: node '1': products {3} are in no child``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from treemarket.errors import ModelError
from treemarket.intermediation.tree import IntermediationTree, build_tree
from treemarket.io.common import Document, Place, StrictModel, read_document, validate


def _node_name(value: Any) -> Any:
    """YAML reads ``name: 0`` as a number; node names are strings."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PydanticCustomError("node_name", "a node name must be a string")
    return str(value)


def _product(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PydanticCustomError("product", "a product must be an integer or a string")
    return value


def _limit(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("limit", "a limit price must be a number")
    return value


NodeName = Annotated[str, BeforeValidator(_node_name), Field(min_length=1)]
ProductLabel = Annotated[int | str, BeforeValidator(_product)]
Limit = Annotated[float, BeforeValidator(_limit), Field(ge=0, allow_inf_nan=False)]


class NodeSpec(StrictModel):
    """One node: the seller (root), an intermediary, or a customer (leaf). Children are
    validated one by one (so that no depth limit of the validator applies)."""

    name: NodeName
    products: list[ProductLabel]
    limit: Limit | None = None
    children: list[Any] | None = None


class IntermediationFileSpec(StrictModel):
    """The whole file; ``tree`` is the root :class:`NodeSpec`."""

    model: Literal["intermediation"]
    name: str | None = None
    description: str | None = None
    tree: Any


def load_intermediation(path: str | os.PathLike[str]) -> IntermediationTree:
    """Read and validate an intermediation model file (YAML or JSON).

    Examples
    --------
    >>> from treemarket.examples import example_path
    >>> tree = load_intermediation(example_path("intermediation-fig1a.yaml"))
    >>> tree.names, tree.transactions
    (('0', '1', '3', '4', '6', '2', '5'), 6)
    """
    try:
        doc = read_document(path)
    except RecursionError:
        raise ModelError(
            "the file nests deeper than the parser can follow", file=str(path)
        ) from None
    return tree_from_document(doc)


def tree_from_document(doc: Document) -> IntermediationTree:
    """Validate a parsed document (schema, then Definition 1) and build the tree."""
    if not isinstance(doc.data, Mapping):
        raise doc.error((), "an intermediation model must be a mapping with keys model, tree")
    spec = validate(doc, IntermediationFileSpec)
    root = _validated_tree(doc, spec.tree)
    return build_tree(root, place=("tree",), error=doc.error, name=spec.name)


def _validated_tree(doc: Document, raw: Any) -> dict[str, Any]:
    """Validate every node against :class:`NodeSpec`, iteratively, and return the nested dicts."""
    root: dict[str, Any] = {}
    stack: list[tuple[Any, Place, dict[str, Any]]] = [(raw, ("tree",), root)]
    while stack:
        node, place, out = stack.pop()
        spec = validate(doc, NodeSpec, data=node, place=place)
        out.update(spec.model_dump(exclude_none=True, exclude={"children"}))
        if spec.children:
            kids: list[dict[str, Any]] = [{} for _ in spec.children]
            out["children"] = kids
            for i in range(len(kids) - 1, -1, -1):  # first child on top: errors in file order
                stack.append((spec.children[i], (*place, "children", i), kids[i]))
    return root


def tree_from_data(data: Mapping[str, Any]) -> IntermediationTree:
    """The same checks for nested dicts from Python: either a whole model document
    (``{"model": "intermediation", "tree": {...}}``) or the root node itself (keys ``name``,
    ``products``, ``limit``, ``children``). Bad input raises
    :class:`~treemarket.errors.ModelError` naming the place.

    Examples
    --------
    >>> tree = tree_from_data({"name": "S", "products": [1, 2], "limit": 1,
    ...                        "children": [{"name": "B", "products": [1, 2], "limit": 5}]})
    >>> tree.n, tree.surplus
    (2, 4.0)
    >>> tree_from_data({"name": "S", "products": [1], "limit": -1, "children": []})
    Traceback (most recent call last):
    ...
    treemarket.errors.ModelError: tree.limit: input should be greater than or equal to 0
    """
    if not isinstance(data, Mapping):
        raise ModelError("an intermediation tree must be a mapping")
    if "tree" in data or "model" in data:
        return tree_from_document(Document({"model": "intermediation", **data}, None))
    doc = Document({"model": "intermediation", "tree": dict(data)}, None)
    return tree_from_document(doc)


def tree_from_networkx(graph: Any, name: str | None = None) -> IntermediationTree:
    """A tree from a ``networkx.DiGraph`` whose edges point from seller to buyer (the inverse
    of :meth:`~treemarket.intermediation.tree.IntermediationTree.to_networkx`).

    Each node carries the attributes ``products`` (an iterable) and, at the root and the
    leaves, ``limit``. Node names are ``str(node)``; children keep the graph's order. The
    nodes are checked as :func:`tree_from_data` checks nested dicts.

    Examples
    --------
    >>> from treemarket.intermediation import example_tree
    >>> tree_from_networkx(example_tree().to_networkx()).names
    ('0', '1', '3', '4', '6', '2', '5')
    """
    import networkx as nx

    if not isinstance(graph, nx.DiGraph) or isinstance(graph, nx.MultiDiGraph):
        raise ModelError("the graph must be a networkx.DiGraph (edges from seller to buyer)")
    if graph.number_of_nodes() == 0:
        raise ModelError("the graph has no nodes")
    roots = [v for v, d in graph.in_degree() if d == 0]
    for v, d in graph.in_degree():
        if d > 1:
            parents = ", ".join(repr(str(u)) for u in graph.predecessors(v))
            raise ModelError(f"node {str(v)!r} has {d} parents ({parents})")
    if len(roots) != 1:
        if not roots:
            raise ModelError("the graph has no root: every node has a parent (a cycle)")
        listed = ", ".join(repr(str(r)) for r in roots)
        raise ModelError(f"the graph has {len(roots)} roots ({listed}); a tree has one seller")
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        cycle = None
    if cycle:
        through = " -> ".join(repr(str(u)) for u, _ in cycle)
        raise ModelError(f"the graph has a cycle: {through}")

    def node_dict(v: Any) -> dict[str, Any]:
        attrs = graph.nodes[v]
        unknown = sorted(set(attrs) - {"products", "limit"})
        if unknown:
            raise ModelError(f"node {str(v)!r}: unknown attribute {unknown[0]!r}")
        d: dict[str, Any] = {"name": str(v)}
        if "products" in attrs:
            prods = attrs["products"]
            if isinstance(prods, set | frozenset):
                prods = sorted(prods, key=lambda p: (isinstance(p, str), p))
            d["products"] = list(prods)
        if attrs.get("limit") is not None:
            d["limit"] = attrs["limit"]
        return d

    root = node_dict(roots[0])
    stack = [(roots[0], root)]
    while stack:  # iterative: no recursion limit on long chains
        v, d = stack.pop()
        kids = list(graph.successors(v))
        if kids:
            d["children"] = [node_dict(k) for k in kids]
            stack.extend(zip(kids, d["children"], strict=True))
    data: dict[str, Any] = {"model": "intermediation", "tree": root}
    if name is not None:
        data["name"] = name
    return tree_from_data(data)
