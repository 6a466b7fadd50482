"""One family of exceptions for users' mistakes and for solver trouble.

The command-line tool turns a :class:`ModelError` into one line on stderr and exit status 2, and a
:class:`SolverError` into one line and exit status 1.
"""

from __future__ import annotations

from collections.abc import Iterable


class TreemarketError(Exception):
    """Base class of every error treemarket raises on purpose."""


class ModelError(TreemarketError, ValueError):
    """Bad input: names the file (if any), the place in it, and what is wrong.

    Examples
    --------
    >>> str(ModelError("supply must be a list", file="m.yaml", place="supply", line=3))
    'm.yaml:3: supply: supply must be a list'
    """

    def __init__(
        self, message: str, *, file: str | None = None, place: str = "", line: int | None = None
    ) -> None:
        self.message = message
        self.file = file
        self.place = place
        self.line = line
        super().__init__(self._text())

    def _text(self) -> str:
        head = ""
        if self.file:
            head = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        where = f"{self.place}: " if self.place else ""
        return f"{head}{where}{self.message}"

    def located(self, file: str | None, line: int | None = None) -> ModelError:
        """The same error, attributed to ``file`` (and ``line`` when known)."""
        return ModelError(
            self.message,
            file=file if file is not None else self.file,
            place=self.place,
            line=line if line is not None else self.line,
        )


class SolverError(TreemarketError, RuntimeError):
    """A solver failed or returned a status that gives no usable answer."""


def format_place(place: Iterable[str | int]) -> str:
    """``("information", 1, 0)`` -> ``information[1][0]``; ``("tree", "children", 0)`` ->
    ``tree.children[0]``.

    Examples
    --------
    >>> format_place(("scenarios", "FC", "values", "A"))
    'scenarios.FC.values.A'
    >>> format_place(("information", 1, 0))
    'information[1][0]'
    """
    text = ""
    for part in place:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text
