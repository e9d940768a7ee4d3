"""The webhook subscription API: OPD scoping, SSRF refusal, ETags, secrets, the delivery log."""

from __future__ import annotations

import json

import pytest
from standardwebhooks.webhooks import Webhook

from services.common.http import create_flask_app
from services.notifier import webhook_api, webhooks
from tests.notifier import test_webhook_support as support
from tests.notifier.test_webhook_support import T0, event

# Fixtures shared by the webhook test modules.
make_runtime = support.make_runtime
receiver = support.receiver

BASE = "/api/v1/webhooks"


@pytest.fixture
def make_client(make_runtime):
    def make(url: str, **env: str):
        rt = make_runtime(url, **env)
        app = create_flask_app(
            rt, title="Notifier", description="test", blueprints=[webhook_api.blp]
        )
        return app.test_client(), rt

    return make


def test_an_opd_manages_its_own_endpoints(database_url, make_client, receiver, auth_header):
    client, _ = make_client(database_url)
    dinkes = auth_header("ppid_pelaksana", opd="dinkes", sub="pelaksana-dinkes")
    disdik = auth_header("atasan_ppid", opd="disdik")

    created = client.post(
        BASE,
        json={"url": receiver.url(), "patterns": ["lapor.#.dinkes"], "description": "SIMRS"},
        headers=dinkes,
    )
    assert created.status_code == 201, created.json
    body = created.json
    assert body["secret"].startswith("whsec_")
    assert (body["opd"], body["patterns"], body["enabled"], body["created_by"]) == (
        "dinkes",
        ["lapor.#.dinkes"],
        True,
        "pelaksana-dinkes",
    )
    endpoint_id = body["id"]
    assert created.headers["Location"] == f"{BASE}/{endpoint_id}"

    listed = client.get(BASE, headers=dinkes)
    assert [e["id"] for e in listed.json] == [endpoint_id]
    assert "secret" not in listed.json[0]
    assert json.loads(listed.headers["X-Pagination"])["total"] == 1
    shown = client.get(f"{BASE}/{endpoint_id}", headers=dinkes)
    assert "secret" not in shown.json
    etag = shown.headers["ETag"]

    # Another OPD sees nothing of it.
    assert client.get(BASE, headers=disdik).json == []
    assert client.get(f"{BASE}/{endpoint_id}", headers=disdik).status_code == 404
    assert (
        client.patch(
            f"{BASE}/{endpoint_id}", json={"enabled": False}, headers=disdik | {"If-Match": etag}
        ).status_code
        == 404
    )

    change = {"patterns": ["lapor.#.dinkes", "ppid.request.*.dinkes"]}
    assert client.patch(f"{BASE}/{endpoint_id}", json=change, headers=dinkes).status_code == 428
    stale = client.patch(f"{BASE}/{endpoint_id}", json=change, headers=dinkes | {"If-Match": '"x"'})
    assert stale.status_code == 412
    changed = client.patch(
        f"{BASE}/{endpoint_id}", json=change, headers=dinkes | {"If-Match": etag}
    )
    assert changed.status_code == 200 and changed.json["patterns"] == change["patterns"]
    assert changed.headers["ETag"] != etag

    rotated = client.post(f"{BASE}/{endpoint_id}/rotate-secret", json={}, headers=dinkes)
    assert rotated.status_code == 200
    assert rotated.json["secret"].startswith("whsec_") and rotated.json["secret"] != body["secret"]
    assert rotated.json["previous_secret_expires_at"] is not None
    no_grace = client.post(
        f"{BASE}/{endpoint_id}/rotate-secret", json={"grace_hours": 0}, headers=dinkes
    )
    assert no_grace.json["previous_secret_expires_at"] is None

    current = client.get(f"{BASE}/{endpoint_id}", headers=dinkes).headers["ETag"]
    assert client.delete(f"{BASE}/{endpoint_id}", headers=dinkes).status_code == 428
    assert (
        client.delete(f"{BASE}/{endpoint_id}", headers=dinkes | {"If-Match": current}).status_code
        == 204
    )
    assert client.get(f"{BASE}/{endpoint_id}", headers=dinkes).status_code == 404


SUBSCRIPTIONS = [
    # (role, token opd), body beyond the url, expected status, field in error
    (("ppid_pelaksana", "dinkes"), {"patterns": ["#"]}, 422, "patterns"),
    (("ppid_pelaksana", "dinkes"), {"patterns": ["#.disdik"]}, 422, "patterns"),
    (("ppid_pelaksana", "dinkes"), {"patterns": ["#.dinkes", "lapor.#"]}, 422, "patterns"),
    (("ppid_pelaksana", "dinkes"), {"patterns": ["#.dinkes"], "opd": "disdik"}, 403, None),
    (("opd_head", "dinkes"), {"patterns": ["#.dinkes"]}, 201, None),
    (("admin", None), {"patterns": ["#"]}, 201, None),
    (("admin", None), {"patterns": ["#"], "opd": "dinkes"}, 422, "patterns"),
    (("admin", None), {"patterns": ["#.dinkes"], "opd": "dinkes"}, 201, None),
    (("admin", None), {"patterns": ["#.x"], "opd": "nowhere"}, 422, "opd"),
    (("ppid_utama", None), {"patterns": ["#"]}, 403, None),
    (("ppid_pelaksana", "dinkes"), {"patterns": ["#.dinkes"], "secret": "mine"}, 422, "secret"),
    (("ppid_pelaksana", "dinkes"), {"patterns": []}, 422, "patterns"),
]


def test_who_may_subscribe_to_what(sqlite_url, make_client, receiver, auth_header):
    client, _ = make_client(sqlite_url)
    for (role, opd), payload, status, field in SUBSCRIPTIONS:
        response = client.post(
            BASE, json={"url": receiver.url(), **payload}, headers=auth_header(role, opd=opd)
        )
        case = (role, opd, payload)
        assert response.status_code == status, (case, response.json)
        if field:
            # Errors of list items are keyed by their path, e.g. `patterns.0`.
            keys = {key.split(".")[0] for key in response.json["errors"]}
            assert field in keys, case
        if status == 201:
            assert response.json["opd"] == payload.get("opd", opd), case


def test_anonymous_callers_are_refused(sqlite_url, make_client):
    client, _ = make_client(sqlite_url)
    assert client.get(BASE).status_code == 401
    assert (
        client.post(BASE, json={"url": "https://93.184.216.34/", "patterns": ["#"]}).status_code
        == 401
    )


INTERNAL_URLS = [
    "http://127.0.0.1:8080/hook",
    "http://10.0.0.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/hook",
    "http://localhost/hook",
    "http://100.64.0.1/hook",
]


def test_internal_urls_are_refused_at_registration_and_on_change(
    sqlite_url, make_client, auth_header
):
    client, _ = make_client(
        sqlite_url, NOTIFIER_WEBHOOK_ALLOW_PRIVATE="0", NOTIFIER_WEBHOOK_ALLOW_HTTP="1"
    )
    admin = auth_header("admin")
    for url in INTERNAL_URLS:
        response = client.post(BASE, json={"url": url, "patterns": ["#"]}, headers=admin)
        assert response.status_code == 422, url
        assert "url" in response.json["errors"], url
    public = client.post(
        BASE, json={"url": "https://93.184.216.34/in", "patterns": ["#"]}, headers=admin
    )
    assert public.status_code == 201
    moved = client.patch(
        f"{BASE}/{public.json['id']}",
        json={"url": "http://10.0.0.1/x"},
        headers=admin | {"If-Match": public.headers["ETag"]},
    )
    assert moved.status_code == 422 and "url" in moved.json["errors"]


def test_https_is_required_unless_allowed(sqlite_url, make_client, auth_header):
    client, _ = make_client(sqlite_url, NOTIFIER_WEBHOOK_ALLOW_HTTP="0")
    response = client.post(
        BASE,
        json={"url": "http://93.184.216.34/hook", "patterns": ["#"]},
        headers=auth_header("admin"),
    )
    assert response.status_code == 422
    assert "https" in response.json["errors"]["url"][0]


def test_delivery_log_and_redelivery(sqlite_url, make_client, receiver, auth_header):
    client, rt = make_client(sqlite_url)
    dinkes = auth_header("ppid_pelaksana", opd="dinkes")
    created = client.post(
        BASE, json={"url": receiver.url(), "patterns": ["#.dinkes"]}, headers=dinkes
    ).json
    endpoint_id, secret = created["id"], created["secret"]
    envelope = event()
    with rt.uow() as uow:
        webhooks.enqueue_for_event(uow.session, envelope)
        uow.commit()
    receiver.answer(500)
    webhooks.deliver_due(rt, T0)
    webhooks.deliver_due(rt, T0 + webhooks.RETRY_SCHEDULE[1])

    log = client.get(f"{BASE}/{endpoint_id}/deliveries", headers=dinkes)
    assert log.status_code == 200
    (item,) = log.json
    assert (item["event_id"], item["status"], item["attempts"]) == (envelope["id"], "succeeded", 2)
    assert item["routing_key"] == "lapor.report.dispatched.dinkes"
    assert item["succeeded_at"].startswith("2026-03-02T09:00:05")
    assert client.get(f"{BASE}/{endpoint_id}/deliveries?status=failed", headers=dinkes).json == []

    detail = client.get(f"{BASE}/{endpoint_id}/deliveries/{item['id']}", headers=dinkes).json
    assert [(a["number"], a["status_code"], a["succeeded"]) for a in detail["attempt_log"]] == [
        (1, 500, False),
        (2, 200, True),
    ]
    assert json.loads(detail["body"]) == envelope

    other = auth_header("ppid_pelaksana", opd="disdik")
    assert client.get(f"{BASE}/{endpoint_id}/deliveries", headers=other).status_code == 404
    redeliver = f"{BASE}/{endpoint_id}/deliveries/{item['id']}/redeliver"
    assert client.post(redeliver, headers=other).status_code == 404

    again = client.post(redeliver, headers=dinkes)
    assert again.status_code == 202 and again.json["status"] == "pending"
    assert client.post(redeliver, headers=dinkes).status_code == 409
    assert webhooks.deliver_due(rt, T0 + webhooks.RETRY_SCHEDULE[1]) == 1  # due at once
    assert len(receiver.requests) == 3
    Webhook(secret).verify(receiver.requests[-1].body, receiver.requests[-1].headers)
    assert client.get(f"{BASE}/{endpoint_id}/deliveries/999999", headers=dinkes).status_code == 404


def test_the_api_is_documented(sqlite_url, make_client):
    client, _ = make_client(sqlite_url)
    paths = client.get("/openapi.json").json["paths"]
    assert {
        f"{BASE}",
        f"{BASE}/{{endpoint_id}}",
        f"{BASE}/{{endpoint_id}}/rotate-secret",
        f"{BASE}/{{endpoint_id}}/deliveries",
        f"{BASE}/{{endpoint_id}}/deliveries/{{delivery_id}}",
        f"{BASE}/{{endpoint_id}}/deliveries/{{delivery_id}}/redeliver",
    } <= set(paths)


def test_the_etag_follows_edits_not_delivery_bookkeeping(
    sqlite_url, make_client, receiver, auth_header
):
    """The version behind the ETag is raised by each change an editor makes, once; a failing
    delivery (which records when the endpoint started failing) leaves it alone."""
    client, rt = make_client(sqlite_url)
    dinkes = auth_header("ppid_pelaksana", opd="dinkes")
    created = client.post(
        BASE, json={"url": receiver.url(), "patterns": ["#.dinkes"]}, headers=dinkes
    )
    endpoint_id, etag = created.json["id"], created.headers["ETag"]
    assert created.json["version"] == 1

    with rt.uow() as uow:
        webhooks.enqueue_for_event(uow.session, event(), now=T0)
        uow.commit()
    receiver.answer(500)
    webhooks.deliver_due(rt, T0)
    shown = client.get(f"{BASE}/{endpoint_id}", headers=dinkes)
    assert shown.json["failing_since"].startswith("2026-03-02T09:00:00")
    assert shown.headers["ETag"] == etag and shown.json["version"] == 1

    changed = client.patch(
        f"{BASE}/{endpoint_id}", json={"description": "SIMRS"}, headers=dinkes | {"If-Match": etag}
    )
    assert changed.status_code == 200 and changed.json["version"] == 2
    disabled = client.patch(
        f"{BASE}/{endpoint_id}",
        json={"enabled": False, "description": "libur"},
        headers=dinkes | {"If-Match": changed.headers["ETag"]},
    )
    assert disabled.status_code == 200 and disabled.json["version"] == 3
    assert not disabled.json["enabled"]
    stale = client.patch(
        f"{BASE}/{endpoint_id}", json={"description": "x"}, headers=dinkes | {"If-Match": etag}
    )
    assert stale.status_code == 412
