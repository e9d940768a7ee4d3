"""Every notifier endpoint serves named roles; a token's `opd` alone opens nothing.

Table-driven over endpoints x tokens: a token with no OPD is regency-level only for a
regency role, and a token with an OPD but no OPD staff role reads and manages nothing of
that OPD (its clocks, its notification log, its webhooks).
"""

from __future__ import annotations

import pytest

from services.common.auth import Principal
from services.common.listing import Page
from services.common.registry import load_registry
from services.notifier import access, ssrf, webhooks
from services.notifier.tick import tick
from services.notifier.webhook_models import WebhookEndpoint
from services.notifier.webhook_settings import WebhookConfig
from tests.notifier.notifier_support import sla_event, wib

DUE = wib(2026, 4, 7, 23, 59, 59)
BOTH = {"dinkes", "disdik"}
DINKES = {"dinkes"}
FORBIDDEN = 403

# name -> (roles, opd)
TOKENS = {
    "admin": (["admin"], None),
    "sekda": (["sekda"], None),
    "ppid_utama": (["ppid_utama"], None),
    "ppid_utama@diskominfo": (["ppid_utama"], "diskominfo"),
    "lapor_admin": (["lapor_admin"], None),
    "pelaksana@dinkes": (["ppid_pelaksana"], "dinkes"),
    "atasan@dinkes": (["atasan_ppid"], "dinkes"),
    "liaison@dinkes": (["lapor_liaison"], "dinkes"),
    "opd_head@dinkes": (["opd_head"], "dinkes"),
    "humas@dinkes": (["humas"], "dinkes"),
    "pelaksana-without-opd": (["ppid_pelaksana"], None),
    "siber_editor": (["siber_editor"], None),
    "no-roles": ([], None),
    "no-roles@dinkes": ([], "dinkes"),
    "admin@dinkes": (["admin"], "dinkes"),
}



def _if_registered(role: str, roles, seen):
    """What a service's role sees once the registry names it (config/services.json), and
    nothing before: the notifier itself names no service's roles."""
    return seen if role in roles else FORBIDDEN


# What each token sees of the OPDs' duties: clocks, the notification log, the dashboard.
DUTY_VIEW = {
    "admin": BOTH,
    "sekda": BOTH,
    "ppid_utama": BOTH,
    "ppid_utama@diskominfo": BOTH,
    "lapor_admin": _if_registered("lapor_admin", access.DUTY_COORDINATORS, BOTH),
    "pelaksana@dinkes": DINKES,
    "atasan@dinkes": DINKES,
    "liaison@dinkes": _if_registered("lapor_liaison", access.OPD_STAFF, DINKES),
    "opd_head@dinkes": DINKES,
    "humas@dinkes": _if_registered("humas", access.OPD_STAFF, DINKES),
    "pelaksana-without-opd": FORBIDDEN,
    "siber_editor": _if_registered("siber_editor", access.DUTY_COORDINATORS, BOTH),
    "no-roles": FORBIDDEN,
    "no-roles@dinkes": FORBIDDEN,
    "admin@dinkes": FORBIDDEN,
}


def _header(make_token, name):
    roles, opd = TOKENS[name]
    return {"Authorization": f"Bearer {make_token(*roles, opd=opd, sub=name)}"}


@pytest.fixture
def two_opds(rt, feed):
    for subject, opd in (("requests/PPID-2026-000001", "dinkes"), ("requests/PPID-2026-000002", "disdik")):
        assert feed(sla_event(subject, at=wib(2026, 3, 16, 10), opd=opd,
                              start=[{"clock": "ppid.response", "due_at": DUE.isoformat()}]))
    # The reminders: one notification per OPD in the log.
    tick(rt, wib(2026, 4, 2, 9))


def _opds_of(response, path):
    body = response.get_json()
    if path == "/api/v1/dashboard":
        return {o["opd"] for o in body["opds"] if o["open"]}
    return {row["opd"] for row in body}


def test_who_reads_which_opds_duties(client, two_opds, make_token):
    # One database for the whole table: every token against every endpoint.
    for token in sorted(TOKENS):
        headers = _header(make_token, token)
        expected = DUTY_VIEW[token]
        for path in ("/api/v1/clocks", "/api/v1/deliveries", "/api/v1/dashboard"):
            query = {"page_size": 100}
            if path == "/api/v1/dashboard":
                query = {"at": "2026-04-02T09:00:00+07:00"}
            response = client.get(path, headers=headers, query_string=query)
            if expected == FORBIDDEN:
                assert response.status_code == 403, (token, path, response.get_json())
                assert response.get_json()["code"] == 403
            else:
                assert response.status_code == 200, (token, path, response.get_json())
                assert _opds_of(response, path) == expected, (token, path)
        # A case's timeline follows the same rule.
        timeline = client.get("/api/v1/clocks/requests/PPID-2026-000002", headers=headers)
        if expected == FORBIDDEN:
            assert timeline.status_code == 403, token
        elif "disdik" in expected:
            assert timeline.status_code == 200, token
        else:
            assert timeline.status_code == 404, token  # another OPD's case is not its business


# Who manages Dinas Kesehatan's webhooks (and only those) and who nothing at all.
WEBHOOK_MANAGER = {
    "admin": True,
    "pelaksana@dinkes": True,
    "atasan@dinkes": True,
    "opd_head@dinkes": True,
    "liaison@dinkes": "lapor_liaison" in access.WEBHOOK_OPD,
    "humas@dinkes": "humas" in access.WEBHOOK_OPD,
}


ADMIN = Principal(sub="admin", name=None, roles=frozenset({"admin"}), opd=None)


def _endpoint(rt):
    config = WebhookConfig(egress=ssrf.EgressPolicy(allow_private=True, allow_http=True))
    view, etag = webhooks.create_endpoint(rt, ADMIN, url="http://127.0.0.1:9/hook",
                                          patterns=["#.dinkes"], opd="dinkes", config=config)
    return view["id"], etag


def _secret(rt, endpoint_id):
    with rt.session_factory() as session:
        return session.get(WebhookEndpoint, endpoint_id).secret


def test_who_manages_an_opds_webhooks(client, rt, make_token):
    endpoint_id, _ = _endpoint(rt)
    for token in sorted(TOKENS):
        _check_webhook_management(client, rt, endpoint_id, make_token, token)


def _check_webhook_management(client, rt, endpoint_id, make_token, token):
    _, etag = webhooks.get_endpoint(rt, ADMIN, endpoint_id)
    secret = _secret(rt, endpoint_id)
    headers = _header(make_token, token)
    base = "/api/v1/webhooks"
    answers = {
        "list": client.get(base, headers=headers),
        "show": client.get(f"{base}/{endpoint_id}", headers=headers),
        # Refused by the SSRF guard (422) when the caller may register at all.
        "create": client.post(base, headers=headers,
                              json={"url": "http://127.0.0.1:9/other", "patterns": ["#.dinkes"]}),
        "edit": client.patch(f"{base}/{endpoint_id}", headers={**headers, "If-Match": etag},
                             json={"description": "diubah"}),
        "rotate": client.post(f"{base}/{endpoint_id}/rotate-secret", headers=headers, json={}),
    }
    if WEBHOOK_MANAGER.get(token):
        assert answers["list"].status_code == 200
        assert [e["id"] for e in answers["list"].get_json()] == [endpoint_id]
        assert answers["show"].status_code == 200
        assert answers["create"].status_code == 422
        assert answers["edit"].status_code == 200
        assert answers["rotate"].status_code == 200
        return
    for action, response in answers.items():
        assert response.status_code == 403, (token, action, response.get_json())
    # Nothing changed: not the secret, not the description (either would raise the version),
    # and no second endpoint was registered.
    _, unchanged = webhooks.get_endpoint(rt, ADMIN, endpoint_id)
    assert unchanged == etag and _secret(rt, endpoint_id) == secret, token
    assert webhooks.list_endpoints(rt, ADMIN, Page(0, 100))[1] == 1


# Regency configuration and the directory: the administrator's alone; reading the policies,
# the calendar and one's own inbox: any staff role.
ADMIN_ONLY = [
    ("get", "/api/v1/directory/opds", None),
    ("get", "/api/v1/directory/contacts", None),
    ("put", "/api/v1/policies/siber.daily_report", {}),
    ("post", "/api/v1/calendar/exceptions", {}),
]
STAFF_READS = ["/api/v1/inbox", "/api/v1/policies", "/api/v1/calendar/exceptions"]


def test_the_served_roles_follow_the_registry():
    # A registered service's staff are served without naming them in the notifier.
    registry = load_registry()
    assert set(access.DUTY_COORDINATORS) == set(registry.coordinator_roles()) >= {"ppid_utama"}
    assert set(access.OPD_STAFF) == set(registry.opd_roles()) >= {"ppid_pelaksana", "atasan_ppid"}
    for entry in registry.services.values():
        assert set(entry.staff_roles.values()) <= set(access.STAFF)


def test_configuration_is_the_administrators_and_reading_it_any_staffs(client, make_token):
    for token in sorted(TOKENS):
        headers = _header(make_token, token)
        roles, _ = TOKENS[token]
        for method, path, body in ADMIN_ONLY:
            response = getattr(client, method)(path, headers=headers, json=body)
            if "admin" in roles:
                assert response.status_code != 403, (token, path)
            else:
                assert response.status_code == 403, (token, path)
        for path in STAFF_READS:
            status = client.get(path, headers=headers).status_code
            served = set(roles) & set(access.STAFF)
            assert status == (200 if served else 403), (token, path)


def test_the_directory_lists_page_and_search(client, auth_header):
    admin = auth_header("admin")
    every = client.get("/api/v1/directory/opds", headers=admin, query_string={"page_size": 100}).get_json()
    assert len(every) > 40 and [o["code"] for o in every] == sorted(o["code"] for o in every)
    first = client.get("/api/v1/directory/opds", headers=admin, query_string={"page_size": 5})
    assert first.status_code == 200 and first.get_json() == every[:5]
    assert f'"total": {len(every)}' in first.headers["X-Pagination"]
    found = client.get("/api/v1/directory/opds", headers=admin, query_string={"q": "kesehatan"}).get_json()
    assert [o["code"] for o in found] == ["dinkes"]
    kecamatan = client.get("/api/v1/directory/opds", headers=admin,
                           query_string={"q": "kec kapuas", "page_size": 100}).get_json()
    assert kecamatan and all(o["code"].startswith("kec_kapuas") for o in kecamatan)
    for body in ({"role": "officer", "opd": "dinkes", "service": "ppid", "name": "Rina",
                  "email": "rina@dinkes.kapuaskab.go.id"},
                 {"role": "officer", "opd": "disdik", "service": "ppid", "name": "Budi",
                  "email": "budi@disdik.kapuaskab.go.id"},
                 {"role": "head", "opd": "dinkes", "name": "Sari", "email": "sari@dinkes.kapuaskab.go.id"}):
        assert client.post("/api/v1/directory/contacts", headers=admin, json=body).status_code == 201
    contacts = client.get("/api/v1/directory/contacts", headers=admin,
                          query_string={"q": "dinkes officer"})
    assert [c["name"] for c in contacts.get_json()] == ["Rina"]
    assert '"total": 1' in contacts.headers["X-Pagination"]
    # People are not found by name: the search covers where a contact sits only.
    assert client.get("/api/v1/directory/contacts", headers=admin, query_string={"q": "Rina"}).get_json() == []
    paged = client.get("/api/v1/directory/contacts", headers=admin, query_string={"page_size": 2})
    assert len(paged.get_json()) == 2 and '"total": 3' in paged.headers["X-Pagination"]
    assert client.get("/api/v1/directory/contacts", headers=admin,
                      query_string={"q": "x" * 101}).status_code == 422


def test_a_token_of_an_opd_outside_the_directory_reaches_nothing(client, two_opds, make_token):
    stranger = {"Authorization": f"Bearer {make_token('ppid_pelaksana', opd='nosuchopd')}"}
    for path in ("/api/v1/clocks", "/api/v1/inbox", "/api/v1/webhooks"):
        refused = client.get(path, headers=stranger)
        assert refused.status_code == 403, path
        assert "tidak terdaftar di direktori OPD" in refused.get_json()["message"]
