"""The OPD scope: one type, one meaning of "everything", the roles left to each service."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.orm import Session

from services.common.auth import Principal
from services.common.db import make_engine
from services.common.errors import Forbidden
from services.common.scope import OpdScope, ScopeRule

EVERY, NOTHING = OpdScope.every(), OpdScope.nothing()
DINKES = OpdScope.only("dinkes")

# PPID's rule: the Utama sees every OPD whatever its token says; a regency-level Atasan
# every OPD; a Pelaksana or an Atasan with an OPD that OPD; anyone else nothing.
PPID_LIKE = ScopeRule.of(everywhere={"ppid_utama"}, regency={"atasan_ppid"},
                         own_opd={"ppid_pelaksana", "atasan_ppid"})
# The notifier's rule: any regency-level token sees everything, any OPD token its own OPD.
ANYONE = ScopeRule.of()
# Webhooks: a regency-level token must be an admin's.
ADMIN_ONLY = ScopeRule.of(regency={"admin"})


def who(*roles: str, opd: str | None = None) -> Principal:
    return Principal(sub="u", name=None, roles=frozenset(roles), opd=opd)


@pytest.mark.parametrize(
    ("rule", "principal", "expected"),
    [
        (PPID_LIKE, who("ppid_utama"), EVERY),
        (PPID_LIKE, who("ppid_utama", opd="diskominfo"), EVERY),
        (PPID_LIKE, who("atasan_ppid"), EVERY),
        (PPID_LIKE, who("atasan_ppid", opd="dinkes"), DINKES),
        (PPID_LIKE, who("ppid_pelaksana", opd="dinkes"), DINKES),
        (PPID_LIKE, who("ppid_pelaksana"), NOTHING),  # a misconfigured account
        (PPID_LIKE, who("humas", opd="dinkes"), NOTHING),
        (PPID_LIKE, who("sekda"), NOTHING),
        (PPID_LIKE, None, NOTHING),
        (ANYONE, who("opd_head", opd="dinkes"), DINKES),
        (ANYONE, who("sekda"), EVERY),
        (ANYONE, who(), EVERY),  # logged in with no role: the notifier's rule as it was
        (ANYONE, None, NOTHING),
        (ADMIN_ONLY, who("admin"), EVERY),
        (ADMIN_ONLY, who("sekda"), NOTHING),
        (ADMIN_ONLY, who("humas", opd="dinkes"), DINKES),
    ],
)
def test_a_rule_gives_each_principal_one_scope(rule, principal, expected):
    assert rule.scope_of(principal) == expected


@pytest.mark.parametrize(
    ("scope", "opd", "allowed"),
    [
        (EVERY, "dinkes", True),
        (EVERY, None, True),  # everything includes what belongs to no OPD yet
        (DINKES, "dinkes", True),
        (DINKES, "disdik", False),
        (DINKES, None, False),
        (NOTHING, "dinkes", False),
        (NOTHING, None, False),
    ],
)
def test_allows_and_require(scope, opd, allowed):
    assert scope.allows(opd) is allowed
    if allowed:
        scope.require(opd)
    else:
        with pytest.raises(Forbidden) as refused:
            scope.require(opd)
        assert refused.value.status == 403 and "OPD lain" in refused.value.message


@pytest.mark.parametrize(
    ("scope", "requested", "expected"),
    [
        (EVERY, None, EVERY),
        (EVERY, "disdik", OpdScope.only("disdik")),
        (DINKES, "dinkes", DINKES),
        (DINKES, "disdik", NOTHING),
        (NOTHING, "dinkes", NOTHING),
    ],
)
def test_a_filter_narrows_a_scope_and_never_widens_it(scope, requested, expected):
    assert scope.narrowed(requested) == expected


def test_a_scope_names_one_opd_or_every_one():
    with pytest.raises(ValueError):
        OpdScope(everything=True, opd="dinkes")
    with pytest.raises(ValueError):
        OpdScope.only("")
    assert NOTHING.is_empty and not DINKES.is_empty and not EVERY.is_empty


@pytest.fixture
def cases(database_url):
    metadata = MetaData()
    table = Table("cases", metadata, Column("id", Integer, primary_key=True), Column("opd", String(32)))
    engine = make_engine(database_url)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(table), [{"opd": "dinkes"}, {"opd": "disdik"}, {"opd": None}])
    yield engine, table
    engine.dispose()


@pytest.mark.parametrize(
    ("scope", "expected"),
    [(EVERY, ["dinkes", "disdik", None]), (DINKES, ["dinkes"]), (NOTHING, [])],
)
def test_restrict_selects_what_allows_allows(cases, scope, expected):
    engine, table = cases
    with Session(engine) as session:
        rows = session.scalars(scope.restrict(select(table.c.opd).order_by(table.c.id), table.c.opd)).all()
    assert rows == expected
    assert all(scope.allows(opd) for opd in rows)
    with Session(engine) as session:
        gathered = session.scalars(
            select(table.c.opd).where(scope.condition(table.c.opd)).order_by(table.c.id)
        ).all()
    assert gathered == expected
