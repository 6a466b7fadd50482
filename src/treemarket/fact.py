"""Three-valued facts: what a certificate proves, refutes, or leaves open.

A solver answer states facts such as "the LP relaxation is integral" or "prices support the
optimum". Each is *proven* (a certificate shows it), *refuted* (a certificate shows the
opposite) or *unknown* (nothing computed decides it). A fact is not a bool, so that "not
known" can never be read as "refuted": ask :attr:`Fact.proven` or :attr:`Fact.refuted`.

Examples
--------
>>> Fact.of(True), Fact.of(None)
(Fact.PROVEN, Fact.UNKNOWN)
>>> Fact.UNKNOWN.refuted, Fact.REFUTED.to_json()
(False, False)
"""

from __future__ import annotations

from enum import Enum


class Fact(Enum):
    """proven / refuted / unknown; JSON ``true`` / ``false`` / ``null``."""

    PROVEN = "proven"
    REFUTED = "refuted"
    UNKNOWN = "not known"

    def __repr__(self) -> str:
        return f"Fact.{self.name}"

    def __bool__(self) -> bool:
        raise TypeError("a Fact is not a bool: ask .proven or .refuted")

    @classmethod
    def of(cls, value: bool | None) -> Fact:
        """True -> PROVEN, False -> REFUTED, None -> UNKNOWN."""
        if value is None:
            return cls.UNKNOWN
        return cls.PROVEN if value else cls.REFUTED

    @property
    def proven(self) -> bool:
        return self is Fact.PROVEN

    @property
    def refuted(self) -> bool:
        return self is Fact.REFUTED

    @property
    def known(self) -> bool:
        return self is not Fact.UNKNOWN

    def to_json(self) -> bool | None:
        """``true`` when proven, ``false`` when refuted, ``null`` when not known."""
        return None if self is Fact.UNKNOWN else self is Fact.PROVEN

    def __str__(self) -> str:
        return self.value
