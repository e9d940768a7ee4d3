"""A lost access token, re-issued by e-mail through a real SMTP server, on SQLite and
PostgreSQL: the new token opens the request and the old one no longer does; a wrong
address, an unknown number or a request without e-mail get the same answer and no mail;
nothing personal reaches the logs or the outbox."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import func, select

from services.common.citizen import REISSUE_ANSWER, wait_detached
from tests.common.smtp_support import smtp_env
from tests.ppid.support import (
    REQUEST_BODY,
    T0,
    PpidClient,
    backend_env,
    staff_headers,
)

REQ = "/api/v1/requests"
ADDRESS = REQUEST_BODY["email"]  # siti.rahmawati@example.org
SENDER = "PPID Kabupaten Kapuas <ppid@kapuaskab.go.id>"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def mail_env(request, smtp, tmp_path_factory):
    with backend_env(request.param, tmp_path_factory, **smtp_env(smtp, SENDER)) as env:
        yield env


@pytest.fixture
def ppid_mail(mail_env, smtp) -> PpidClient:
    mail_env.clock.set(T0)
    smtp.clear()
    return PpidClient(mail_env)


def ask(client: PpidClient, number: str, email) -> dict:
    response = client.http.post(f"{REQ}/{number}/access-token", json={"email": email})
    assert response.status_code == 202, response.get_json()
    assert wait_detached(client.env.app)
    return response.get_json()


def token_in(message) -> str:
    match = re.search(r"Token akses baru Anda:\s+(\S+)", message.get_body(("plain",)).get_content())
    assert match, message.get_body(("plain",)).get_content()
    return match.group(1)


def outbox_count(client: PpidClient) -> int:
    with client.env.rt.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(client.env.rt.outbox)).scalar_one()


def test_a_new_token_is_mailed_and_the_old_one_stops_working(ppid_mail, smtp, caplog):
    caplog.set_level(logging.DEBUG)
    submitted = ppid_mail.submit(requested_opd="dinkes")
    number, old = submitted["number"], submitted["access_token"]
    path = f"{REQ}/{number}"
    etag = ppid_mail.etag(path)
    events = outbox_count(ppid_mail)

    # The address as the citizen may type it again: other case, stray spaces.
    answer = ask(ppid_mail, number, "  Siti.Rahmawati@Example.ORG ")

    assert answer == {"message": REISSUE_ANSWER}
    [mail] = smtp.to(ADDRESS)
    assert smtp.count() == 1
    assert mail["Subject"] == f"Token akses baru permohonan informasi {number}"
    assert mail["From"].addresses[0].addr_spec == "ppid@kapuaskab.go.id"
    assert mail["Content-Language"] == "id"
    text = mail.get_body(("plain",)).get_content()
    assert number in text and "X-Access-Token" in text
    assert "Token yang lama sudah tidak berlaku" in text
    assert "Jika Anda tidak meminta token baru" in text
    new = token_in(mail)
    assert new != old

    assert ppid_mail.citizen("GET", path, new).status_code == 200
    refused = ppid_mail.citizen("GET", path, old)
    assert refused.status_code == 403
    assert refused.get_json()["message"] == "Token akses tidak sesuai untuk permohonan ini."
    # The token is no part of the record staff edit: its ETag and its events are unchanged.
    assert ppid_mail.etag(path) == etag
    assert outbox_count(ppid_mail) == events

    ours = [r for r in caplog.records if r.name != "mail.log"]  # "mail.log": the test's SMTP server
    logged = " ".join(
        " ".join([record.getMessage(), *(str(v) for v in record.__dict__.values())]) for record in ours
    ).casefold()
    for secret in ("siti.rahmawati", old.casefold(), new.casefold()):
        assert secret not in logged
    assert any(r.name == "simpul.citizen" and r.getMessage() == "access token re-issued" for r in ours)


@pytest.mark.parametrize(
    "case",
    ["wrong address", "unknown number", "malformed number", "no e-mail in the request"],
)
def test_no_match_gets_the_same_answer_and_no_mail(ppid_mail, smtp, case):
    submitted = ppid_mail.submit(
        **({"email": ..., "delivery_method": "post"} if case == "no e-mail in the request" else {})
    )
    number, token = submitted["number"], submitted["access_token"]
    asked_number, email = {
        "wrong address": (number, "orang.lain@example.org"),
        "unknown number": ("PPID-2026-999999", ADDRESS),
        "malformed number": ("bukan-nomor", ADDRESS),
        "no e-mail in the request": (number, ADDRESS),
    }[case]

    assert ask(ppid_mail, asked_number, email) == {"message": REISSUE_ANSWER}
    assert smtp.count() == 0
    assert ppid_mail.citizen("GET", f"{REQ}/{number}", token).status_code == 200


def test_a_refused_mail_changes_nothing(ppid_mail, smtp):
    submitted = ppid_mail.submit(email="penuh@example.org")
    smtp.refuse["penuh@example.org"] = "550 5.2.2 mailbox full"
    try:
        ask(ppid_mail, submitted["number"], "penuh@example.org")
    finally:
        smtp.refuse.clear()
    assert smtp.count() == 0
    # The old token still works: a citizen is never left with no token at all.
    assert ppid_mail.citizen("GET", f"{REQ}/{submitted['number']}", submitted["access_token"]).status_code == 200


def test_the_body_must_be_an_address(ppid_mail, smtp):
    number = ppid_mail.submit()["number"]
    for body in ({}, {"email": "bukan alamat"}, {"email": ADDRESS, "nama": "x"}):
        response = ppid_mail.http.post(f"{REQ}/{number}/access-token", json=body)
        assert response.status_code == 422, body
    assert smtp.count() == 0


def test_without_mail_nothing_is_rotated(ppid):
    """The default test app has no SMTP_HOST: the answer is the same and the token stays."""
    submitted = ppid.submit()
    response = ppid.http.post(f"{REQ}/{submitted['number']}/access-token", json={"email": ADDRESS})
    assert response.status_code == 202 and response.get_json() == {"message": REISSUE_ANSWER}
    assert wait_detached(ppid.env.app)
    assert ppid.citizen("GET", f"{REQ}/{submitted['number']}", submitted["access_token"]).status_code == 200


def test_missing_and_wrong_tokens_are_told_apart_in_bahasa_indonesia(ppid):
    submitted = ppid.submit()
    path = f"{REQ}/{submitted['number']}"
    missing = ppid.http.get(path)
    assert missing.status_code == 401
    assert missing.get_json()["message"] == (
        "Sertakan token akses permohonan pada header X-Access-Token, atau masuk sebagai petugas."
    )
    withdraw = ppid.http.post(f"{path}/withdrawal", json={})
    assert withdraw.status_code == 401
    assert withdraw.get_json()["message"] == "Sertakan token akses permohonan pada header X-Access-Token."
    wrong = ppid.citizen("GET", path, "salah")
    assert wrong.status_code == 403
    assert wrong.get_json()["message"] == "Token akses tidak sesuai untuk permohonan ini."
    other_service = ppid.http.get(path, headers=staff_headers("lapor_admin"))
    assert other_service.status_code == 403
    assert other_service.get_json()["message"] == "Peran Anda tidak mencakup layanan PPID."


def test_the_openapi_document_names_the_header_and_the_reissue_route(ppid):
    spec = ppid.http.get("/openapi.json").get_json()
    read = spec["paths"]["/api/v1/requests/{number}"]["get"]
    assert any(p["name"] == "X-Access-Token" and p["in"] == "header" for p in read["parameters"])
    reissue = spec["paths"]["/api/v1/requests/{number}/access-token"]["post"]
    assert "202" in reissue["responses"]
