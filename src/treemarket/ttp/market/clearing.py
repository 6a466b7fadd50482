"""The clearing rule of a market: serve at most its supply, best candidates first.

Every market in treemarket (the market solver's repairs, the simulated policies, a mechanism's
single market) serves its candidates with :func:`clear` (:func:`clear_rows` when the markets
are the rows of a matrix); the myopic clearing price, the value of
the first unit left out, is :func:`myopic_price`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def clear(
    market: ArrayLike, demand: ArrayLike, supply: ArrayLike, *priority: ArrayLike
) -> NDArray[np.float64]:
    """Units served to each candidate: at most ``supply[m]`` units in each market m, to its
    candidates in the order of the ``priority`` keys (larger first, the first key most
    important), ties by the candidates' order.

    Parameters
    ----------
    market : (K,) int
        The market of each candidate (an index into ``supply``).
    demand : (K,) float
        Units each candidate wants.
    supply : (M,) float
        Units for sale in each market.
    *priority : (K,) arrays
        Ranking keys, most important first.

    Examples
    --------
    >>> clear([0, 0, 0, 1], [1, 2, 1, 1], [2, 5], [3.0, 5.0, 5.0, 1.0]).tolist()
    [0.0, 2.0, 0.0, 1.0]
    """
    group = np.asarray(market, dtype=np.int64)
    want = np.asarray(demand, dtype=np.float64)
    keys = [np.negative(np.asarray(k)) for k in reversed(priority)]
    order = np.lexsort((np.arange(group.shape[0]), *keys, group))
    group_sorted, want_sorted = group[order], want[order]
    cum = np.cumsum(want_sorted)
    first = np.searchsorted(group_sorted, group_sorted, side="left")  # start of each market
    before = cum - want_sorted - (cum[first] - want_sorted[first]) if group.size else want
    capacity = np.asarray(supply, dtype=np.float64)[group_sorted]
    served = np.empty_like(want)
    served[order] = np.clip(capacity - before, 0.0, want_sorted)
    return served


def clear_rows(
    demand: NDArray[np.float64], supply: NDArray[np.float64], key: NDArray[np.float64]
) -> NDArray[np.float64]:
    """:func:`clear` for markets laid out as rows: market m is row m, its candidates the
    columns, one priority key. The same rule (at most ``supply[m]`` units, larger key first, ties
    by column), sorted per row instead of across all candidates: (M, K) -> (M, K) served.

    Examples
    --------
    >>> clear_rows(np.array([[1.0, 2, 1], [1, 0, 1]]), np.array([2.0, 5]),
    ...            np.array([[3.0, 5, 5], [1, 1, 1]])).tolist()
    [[0.0, 2.0, 0.0], [1.0, 0.0, 1.0]]
    """
    order = np.argsort(np.negative(key), axis=1, kind="stable")
    want = np.take_along_axis(demand, order, axis=1)
    before = np.cumsum(want, axis=1) - want
    served = np.empty_like(want)
    np.put_along_axis(
        served, order, np.clip(np.asarray(supply)[:, None] - before, 0.0, want), axis=1
    )
    return served


def myopic_price(
    values: NDArray[np.floating], counts: NDArray[np.integer], supply: NDArray[np.integer]
) -> NDArray[np.float64]:
    """Per market (row), the value of the first unit left out when the ``supply[m]`` highest
    unit values are served (0 when every unit is served): the myopic clearing price.

    ``values`` and ``counts`` are (M, K): K candidates per market, each with ``counts`` units
    at that value.

    Examples
    --------
    >>> myopic_price(np.array([[5.0, 3.0, 4.0]]), np.array([[1, 2, 1]]), np.array([2]))
    array([3.])
    """
    order = np.argsort(-values, axis=1, kind="stable")
    ranked = np.take_along_axis(values, order, axis=1)
    units = np.cumsum(np.take_along_axis(counts, order, axis=1), axis=1)
    beyond = units > np.asarray(supply)[:, None]
    first = np.argmax(beyond, axis=1)
    rows = np.arange(values.shape[0])
    return np.where(beyond.any(axis=1), ranked[rows, first], 0.0).astype(np.float64)
