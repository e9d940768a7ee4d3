"""Which OPDs' records a staff member sees: every OPD, one OPD, or none.

Authorisation is per object: a list, a detail, an export, a register and a
dashboard of one service must agree on whose cases an officer reaches, so they all ask one
`OpdScope`. The chassis knows the shape of the rule, not the roles: each service states in
a `ScopeRule` which of its roles see every OPD, and which see their own.

"Everything" means every record, those that belong to no OPD yet included (an unassigned
request is the regency's). One OPD means the records of that OPD and nothing else. A
principal no rule admits sees nothing, which is an empty list, never an error by itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import false, true

from services.common.errors import Forbidden

_Statement = TypeVar("_Statement")

_OTHER_OPD = "Data ini milik OPD lain; Anda tidak berwenang atasnya."


@dataclass(frozen=True)
class OpdScope:
    """Every OPD (`everything`), one OPD (`opd`), or none (neither)."""

    everything: bool = False
    opd: str | None = None

    def __post_init__(self) -> None:
        if self.everything and self.opd is not None:
            raise ValueError("a scope over every OPD names no single OPD")

    @classmethod
    def every(cls) -> OpdScope:
        return cls(everything=True)

    @classmethod
    def only(cls, opd: str) -> OpdScope:
        if not opd:
            raise ValueError("an OPD scope needs an OPD code")
        return cls(opd=opd)

    @classmethod
    def nothing(cls) -> OpdScope:
        return cls()

    @property
    def is_empty(self) -> bool:
        return not self.everything and self.opd is None

    def allows(self, opd: str | None) -> bool:
        """May the holder see a record of `opd` (None: a record of no OPD)?"""
        return self.everything or (self.opd is not None and self.opd == opd)

    def require(self, opd: str | None, message: str = _OTHER_OPD) -> None:
        """Raise `Forbidden` (403) with `message` unless the scope allows `opd`."""
        if not self.allows(opd):
            raise Forbidden(message)

    def narrowed(self, opd: str | None) -> OpdScope:
        """The part of this scope a filter on `opd` keeps (None: no filter).

        Asking for an OPD outside the scope leaves nothing rather than failing, so a list
        filtered that way is empty; a service that prefers a 403 calls `require` first.
        """
        if opd is None:
            return self
        return OpdScope.only(opd) if self.allows(opd) else OpdScope.nothing()

    def condition(self, column: Any) -> Any:
        """The SQL condition on an OPD `column` that `allows` states, for a query that
        gathers its conditions before it builds the statement."""
        if self.everything:
            return true()
        if self.opd is None:
            return false()
        return column == self.opd

    def restrict(self, statement: _Statement, column: Any) -> _Statement:
        """`statement` (a SQLAlchemy select) limited to the rows whose `column` the scope
        allows."""
        if self.everything:
            return statement
        return statement.where(self.condition(column))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ScopeRule:
    """A service's rule of who sees which OPDs, applied to a principal by `scope_of`.

    - `everywhere`: roles that see every OPD whatever their token says (the PPID Utama,
      whose token may name Diskominfo).
    - `regency`: roles that see every OPD when their token is regency-level (no `opd`
      claim). None: anyone logged in does.
    - `own_opd`: roles that see their own OPD's records when their token names an OPD.
      None: anyone logged in does.

    A principal matching none of these sees nothing: a PPID Pelaksana whose token lacks
    its OPD is a misconfigured account, not a regency-level one.
    """

    everywhere: frozenset[str] = frozenset()
    regency: frozenset[str] | None = None
    own_opd: frozenset[str] | None = None

    @classmethod
    def of(
        cls,
        *,
        everywhere: Iterable[str] = (),
        regency: Iterable[str] | None = None,
        own_opd: Iterable[str] | None = None,
    ) -> ScopeRule:
        return cls(
            frozenset(everywhere),
            None if regency is None else frozenset(regency),
            None if own_opd is None else frozenset(own_opd),
        )

    def scope_of(self, principal: Any) -> OpdScope:
        """The scope of `principal` (a `services.common.auth.Principal`, or anything with
        its `opd` and `has_role`; None sees nothing)."""
        if principal is None:
            return OpdScope.nothing()
        if principal.has_role(*self.everywhere):
            return OpdScope.every()
        if principal.opd is None:
            return OpdScope.every() if _holds(principal, self.regency) else OpdScope.nothing()
        return OpdScope.only(principal.opd) if _holds(principal, self.own_opd) else OpdScope.nothing()


def _holds(principal: Any, wanted: frozenset[str] | None) -> bool:
    return True if wanted is None else principal.has_role(*wanted)
