"""Observed paths as one array, and the one scaling that makes their variables comparable."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class PathData:
    """P observed paths of V variables at the times t = 0..T.

    Attributes
    ----------
    states : (P, T + 1, V) float
        ``states[p, t, v]``: variable v of path p at time t. A categorical variable holds the
        code k of its category ``categories[name][k]``.
    variables : tuple of str
        The variables' names (V of them).
    categories : dict
        ``{name: (category, ...)}`` for the categorical variables (discrete states keep their
        labels); the others are numeric.
    weights : (P,) float or None
        Path weights (normalised to probabilities by :attr:`prob`); equal weights by default.

    Examples
    --------
    >>> data = PathData.from_array([[0.0, 1.0, 2.0], [0.0, 1.5, 3.0]], variables=["rain"])
    >>> data.n_paths, data.horizon, data.variables
    (2, 2, ('rain',))
    """

    states: FloatArray
    variables: tuple[str, ...]
    categories: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    weights: FloatArray | None = None

    def __post_init__(self) -> None:
        if self.states.ndim != 3 or self.states.shape[0] == 0 or self.states.shape[1] < 2:
            raise ValueError("states must be a (paths, T + 1, variables) array with T ≥ 1")
        if self.states.shape[2] != len(self.variables):
            raise ValueError("one name per variable")
        if not np.isfinite(self.states).all():
            raise ValueError("states must be finite (no NaN)")
        for name, cats in self.categories.items():
            codes = self.states[:, :, self.variables.index(name)]
            if (codes < 0).any() or (codes >= len(cats)).any() or (codes != np.round(codes)).any():
                raise ValueError(f"variable {name!r} must hold category codes 0..{len(cats) - 1}")
        if self.weights is not None and (
            self.weights.shape != (self.n_paths,) or not (self.weights > 0).all()
        ):
            raise ValueError("weights must be one positive number per path")

    @classmethod
    def from_array(
        cls,
        states: ArrayLike,
        variables: Sequence[str] | None = None,
        weights: ArrayLike | None = None,
    ) -> PathData:
        """Numeric paths from a (P, T + 1) array (one variable) or a (P, T + 1, V) array."""
        x = np.asarray(states, dtype=np.float64)
        if x.ndim == 2:
            x = x[:, :, None]
        names = (
            tuple(variables)
            if variables is not None
            else tuple(f"x{v}" for v in range(x.shape[-1]))
        )
        w = None if weights is None else np.asarray(weights, dtype=np.float64)
        return cls(np.ascontiguousarray(x), names, {}, w)

    @property
    def n_paths(self) -> int:
        return int(self.states.shape[0])

    @property
    def horizon(self) -> int:
        """T: the paths are observed at t = 0..T."""
        return int(self.states.shape[1] - 1)

    @property
    def prob(self) -> FloatArray:
        """The paths' probabilities (weights normalised; 1/P each by default)."""
        if self.weights is None:
            return np.full(self.n_paths, 1.0 / self.n_paths)
        return self.weights / self.weights.sum()

    def numeric(self) -> list[int]:
        """The indices of the numeric variables."""
        return [v for v, name in enumerate(self.variables) if name not in self.categories]

    def subset(self, rows: ArrayLike) -> PathData:
        """The paths ``rows`` only."""
        idx = np.asarray(rows)
        w = None if self.weights is None else self.weights[idx]
        return PathData(self.states[idx], self.variables, self.categories, w)


@dataclass(frozen=True, eq=False)
class Scaler:
    """The features the tree is fitted on: numeric variables standardised over all paths and
    times, (x − mean) / std; a categorical variable one-hot, scaled by 1/√2 so that two
    different categories are at distance 1.

    The same scaler maps held-out paths, so distances are measured in the training data's units.
    """

    variables: tuple[str, ...]
    categories: Mapping[str, tuple[str, ...]]
    mean: FloatArray
    std: FloatArray

    @classmethod
    def fit(cls, data: PathData) -> Scaler:
        flat = data.states.reshape(-1, data.states.shape[2])
        mean = flat.mean(axis=0)
        std = flat.std(axis=0)
        std[std == 0] = 1.0
        return cls(data.variables, dict(data.categories), mean, std)

    @property
    def n_features(self) -> int:
        return sum(len(self.categories.get(n, ())) or 1 for n in self.variables)

    def transform(self, states: FloatArray) -> FloatArray:
        """(..., V) states -> (..., F) features."""
        parts = []
        for v, name in enumerate(self.variables):
            x = states[..., v]
            cats = self.categories.get(name)
            if cats is None:
                parts.append(((x - self.mean[v]) / self.std[v])[..., None])
            else:
                hot = x[..., None] == np.arange(len(cats))
                parts.append(hot.astype(np.float64) / np.sqrt(2.0))
        return np.concatenate(parts, axis=-1)

    def stage_features(self, states: FloatArray, t: int, history: bool) -> FloatArray:
        """Features of (P, T + 1, V) paths at time t: the observation at t, or the whole
        history 0..t side by side."""
        if history:
            return self.transform(states[:, : t + 1, :]).reshape(states.shape[0], -1)
        return self.transform(states[:, t, :])
