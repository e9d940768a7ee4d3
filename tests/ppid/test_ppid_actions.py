"""`allowed_actions` is exact: for every state a request can be in and every kind of caller,
each action the request's view offers succeeds through the API, and each action it does not
offer is refused and leaves the request as it was.

An exhaustive table rather than sampled examples: the states and callers are few, and every
pair is tried with every action. Each offered action runs on a freshly built request in that
state (it changes the request); the refused ones run on one shared copy, which must not
change. SQLite only: the rule under test is one pure function, the backend adds nothing.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from services.ppid import domain
from tests.ppid.support import ATASAN, PELAKSANA, UTAMA, WIB, PpidClient, build_env, staff_headers

REQ = "/api/v1/requests"
OBJ = "/api/v1/objections"
GRANT = {"outcome": "granted", "info_format": "soft_copy", "delivery_method": "email"}


def at(month, day, hour=10):
    return datetime(2026, month, day, hour, tzinfo=WIB)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    built = build_env(f"sqlite:///{tmp_path_factory.mktemp('actions') / 'ppid.db'}", "sqlite")
    yield built
    built.rt.dispose()


@pytest.fixture
def ppid(env) -> PpidClient:
    env.clock.set(at(3, 2, 9))
    return PpidClient(env)


# -- the states, each built from a fresh submission on Monday 2 March 2026, 09:00 WIB -----
# (notice due Monday 16 March; the extension would end Wednesday 1 April)


def _submit(ppid, opd="dinkes"):
    ppid.clock.set(at(3, 2, 9))
    body = ppid.submit(requested_opd=opd) if opd else ppid.submit()
    return body["number"], body["access_token"]


def _ok(response, status=(200, 201)):
    assert response.status_code in status, response.get_json()
    return response


def _answered(ppid, when=at(3, 3)):
    number, token = _submit(ppid)
    ppid.clock.set(when)
    _ok(ppid.notice(number, GRANT, PELAKSANA, "dinkes"))
    return number, token


def _objected(ppid):
    number, token = _answered(ppid)
    ppid.clock.set(at(3, 4))
    filed = _ok(ppid.citizen("POST", f"{REQ}/{number}/objections", token,
                             json={"grounds": ["d"], "statement": "Isi tidak sesuai permohonan."}))
    return number, token, filed.get_json()["number"]


def state_received(ppid):
    number, token = _submit(ppid, opd=None)
    return number, token, at(3, 3)


def state_assigned(ppid):
    number, token = _submit(ppid)
    return number, token, at(3, 3)


def state_extended(ppid):
    number, token = _submit(ppid)
    ppid.clock.set(at(3, 3))
    path = f"{REQ}/{number}"
    _ok(ppid.act(f"{path}/extension", {"ground": "coordination", "reason": "Data di tiga bidang."},
                 PELAKSANA, "dinkes", etag_of=path))
    return number, token, at(3, 4)


def state_overdue(ppid):
    number, token = _submit(ppid)
    return number, token, at(3, 17)


def state_overdue_unassigned(ppid):
    number, token = _submit(ppid, opd=None)
    return number, token, at(3, 17)


def state_answered(ppid):
    number, token = _answered(ppid)
    return number, token, at(3, 4)


def state_answered_late(ppid):
    number, token = _answered(ppid, when=at(3, 17))
    return number, token, at(3, 18)


def state_objection_window_closed(ppid):
    number, token = _answered(ppid)
    return number, token, at(6, 1)


def state_objected(ppid):
    number, token, _ = _objected(ppid)
    return number, token, at(3, 5)


def state_reopened(ppid):
    """The Atasan granted the objection: the request is the PPID's again."""
    number, token, kbr = _objected(ppid)
    ppid.clock.set(at(3, 5))
    _ok(ppid.act(f"{OBJ}/{kbr}/decision", {"decision": "overturned", "reasons": "Jawaban tidak lengkap."},
                 ATASAN, "dinkes", etag_of=f"{OBJ}/{kbr}"))
    return number, token, at(3, 6)


def state_withdrawn(ppid):
    number, token = _submit(ppid)
    ppid.clock.set(at(3, 3))
    _ok(ppid.citizen("POST", f"{REQ}/{number}/withdrawal", token, json={}))
    return number, token, at(3, 4)


STATES = {
    name.removeprefix("state_"): builder
    for name, builder in dict(globals()).items()
    if name.startswith("state_")
}

CALLERS = {
    "citizen": None,
    "ppid_utama": (UTAMA, None),
    "pelaksana_own_opd": (PELAKSANA, "dinkes"),
    "pelaksana_other_opd": (PELAKSANA, "disdik"),
    "atasan_ppid": (ATASAN, "dinkes"),
    "no_ppid_rights": ("lapor_admin", None),
}


def headers(caller, token):
    if caller is None:
        return {"X-Access-Token": token}
    return staff_headers(*caller)


def offered(ppid, number, token, caller) -> list[str]:
    """What the request's view offers this caller; nothing when the view is refused."""
    response = ppid.http.get(f"{REQ}/{number}", headers=headers(caller, token))
    if response.status_code != 200:
        assert response.status_code in (401, 403), response.get_json()
        return []
    return response.get_json()["allowed_actions"]


def attempt(ppid, action, number, token, caller):
    """The action through the API, with a current ETag, as this caller."""
    path = f"{REQ}/{number}"
    view = ppid.stored(number)
    sent = {**headers(caller, token), "If-Match": ppid.etag(path)}
    if action == domain.ASSIGN:
        return ppid.http.post(f"{path}/assignment", json={"opd": "disdik"}, headers=sent)
    if action == domain.REASSIGN:
        target = "disdik" if view["opd"] != "disdik" else "dinkes"
        body = {"opd": target, "reason": "Informasi dikuasai OPD lain."}
        return ppid.http.post(f"{path}/reassignment", json=body, headers=sent)
    if action == domain.EXTEND:
        body = {"ground": "large_volume", "reason": "Berkas banyak."}
        return ppid.http.post(f"{path}/extension", json=body, headers=sent)
    if action == domain.ANSWER:
        return ppid.http.post(f"{path}/notice", json=GRANT, headers=sent)
    if action == domain.WITHDRAW:
        return ppid.http.post(f"{path}/withdrawal", json={}, headers=sent)
    grounds = ["d"] if view["notice"] is not None else ["c"]
    body = {"grounds": grounds, "statement": "Saya keberatan."}
    return ppid.http.post(f"{path}/objections", json=body, headers=sent)


@pytest.mark.parametrize("state", list(STATES))
def test_every_offered_action_succeeds_and_every_other_is_refused(ppid, state):
    build = STATES[state]
    shared = build(ppid)
    for caller_name, caller in CALLERS.items():
        number, token, act_at = shared
        ppid.clock.set(act_at)
        offer = offered(ppid, number, token, caller)
        assert set(offer) <= set(domain.REQUEST_ACTIONS)
        for action in domain.REQUEST_ACTIONS:
            where = (state, caller_name, action)
            if action in offer:
                fresh_number, fresh_token, fresh_at = build(ppid)
                ppid.clock.set(fresh_at)
                assert action in offered(ppid, fresh_number, fresh_token, caller), where
                response = attempt(ppid, action, fresh_number, fresh_token, caller)
                assert response.status_code in (200, 201), (where, response.get_json())
            else:
                ppid.clock.set(act_at)
                before = ppid.stored(number)
                response = attempt(ppid, action, number, token, caller)
                assert response.status_code in (401, 403, 409), (where, response.get_json())
                assert ppid.stored(number) == before, where


def test_the_table_reaches_every_action_and_the_findings(ppid):
    """The states above do offer each action to someone, and the three reported wrong
    offers are gone: no extension after an extension or once overdue, no withdrawal for
    staff."""
    seen: set[str] = set()
    for state, build in STATES.items():
        number, token, act_at = build(ppid)
        ppid.clock.set(act_at)
        for caller in CALLERS.values():
            seen |= set(offered(ppid, number, token, caller))
        utama = offered(ppid, number, token, (UTAMA, None))
        if state in ("extended", "overdue", "overdue_unassigned", "reopened"):
            assert domain.EXTEND not in utama, state
        assert domain.WITHDRAW not in utama and domain.OBJECT not in utama
    assert seen == set(domain.REQUEST_ACTIONS)
