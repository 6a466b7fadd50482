"""What every picture shares: a new figure or the caller's axes, and writing a picture to a file.

matplotlib is imported only inside these functions. Figures are made without pyplot, so nothing
needs closing and no backend is chosen: saving renders with Agg (PNG) or the SVG backend.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

from treemarket.io.common import write_atomic

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

FORMATS = ("png", "svg")


def new_figure(size: tuple[float, float]) -> Figure:
    """An empty figure of ``size`` inches (no pyplot: it is freed like any object).

    >>> new_figure((4.0, 3.0)).get_size_inches().tolist()
    [4.0, 3.0]
    """
    from matplotlib.figure import Figure

    return Figure(figsize=size)


def new_axes(ax: Axes | None, size: tuple[float, float]) -> tuple[Figure, Axes]:
    """``(figure, axes)`` to draw in: the caller's ``ax`` and its figure, else a new figure of
    ``size`` inches with one axes."""
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    fig = new_figure(size)
    return fig, fig.add_subplot()


def finite_or_none(x: float) -> float | None:
    """``x`` as a float, None for an infinity (JSON has none).

    >>> finite_or_none(2), finite_or_none(float("inf"))
    (2.0, None)
    """
    return None if math.isinf(x) else float(x)


def save(fig: Figure, path: str | os.PathLike[str], *, dpi: int = 120, tight: bool = True) -> Path:
    """Write ``fig`` as PNG or SVG (by the suffix), completely or not at all.

    The picture goes to a temporary file in the same folder, which then replaces ``path``
    (:func:`treemarket.io.common.write_atomic`: the file gets the umask's permissions).

    Parameters
    ----------
    fig : matplotlib Figure
    path : path ending in ``.png`` or ``.svg``
    dpi : int, default 120
        Resolution of PNG files.
    tight : bool, default True
        Crop the picture to what is drawn (``bbox_inches="tight"``).

    Returns
    -------
    Path
        The written path.
    """
    target = Path(path)
    fmt = target.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"cannot tell the picture format of {target}: use .png or .svg")
    bbox = "tight" if tight else None
    write_atomic(target, lambda h: fig.savefig(h, format=fmt, dpi=dpi, bbox_inches=bbox), mode="wb")
    return target
