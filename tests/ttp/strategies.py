"""The one hypothesis strategy for random TTP models (``treemarket.testing.random_model``)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from treemarket.testing import random_model

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _drawn(draw: Any, value: Any) -> Any:
    return draw(value) if isinstance(value, st.SearchStrategy) else value


@st.composite
def random_models(draw: Any, horizon: Any = 3, buyers: Any = 3, **options: Any) -> Any:
    """A random model with T in 0..``horizon`` and 1..``buyers`` buyers (or the values these
    strategies draw); every other option of ``random_model`` is a value or a strategy."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    horizon = draw(st.integers(0, horizon)) if isinstance(horizon, int) else draw(horizon)
    buyers = draw(st.integers(1, buyers)) if isinstance(buyers, int) else draw(buyers)
    drawn = {name: _drawn(draw, value) for name, value in options.items()}
    return random_model(rng, horizon=horizon, buyers=buyers, **drawn)


def maybe(value: Any) -> st.SearchStrategy[Any]:
    """``value`` or None (e.g. buyer types with counts, or single buyers)."""
    return st.sampled_from([None, value])
