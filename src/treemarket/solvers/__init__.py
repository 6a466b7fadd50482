"""The thin layer over LP/MIP solvers: model code never calls a solver's API directly."""

from treemarket.solvers.base import (
    LinearProgram,
    Solution,
    SolveOptions,
    Solver,
    SolverSession,
    Start,
)
from treemarket.solvers.highs import HighsSolver

BACKENDS: dict[str, type[Solver]] = {"highs": HighsSolver}


def get_solver(name: str = "highs") -> Solver:
    """The backend called ``name`` (``highs`` or ``scipy``)."""
    if name == "scipy":
        from treemarket.solvers.scipy_backend import ScipySolver

        return ScipySolver()
    try:
        return BACKENDS[name]()
    except KeyError:
        raise ValueError(f"unknown solver backend {name!r}; known: highs, scipy") from None


__all__ = [
    "BACKENDS",
    "HighsSolver",
    "LinearProgram",
    "Solution",
    "SolveOptions",
    "Solver",
    "SolverSession",
    "Start",
    "get_solver",
]
