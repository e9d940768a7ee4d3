"""Citizen access in the chassis: the token and its hash, the comparison of addresses, and
work that runs after the answer. (The HTTP side, the 401/403 answers and the re-issue by
e-mail, is tested through PPID in tests/ppid/test_ppid_token_reissue.py.)"""

from __future__ import annotations

import hashlib
import logging
import threading

import pytest
from flask import Flask

from services.common.citizen import (
    TOKEN_HEADER,
    CitizenAccess,
    ReissueSchema,
    hash_token,
    issue_token,
    normalise_email,
    run_detached,
    same_address,
    token_doc,
    token_matches,
    wait_detached,
)
from services.common.errors import Forbidden


def test_a_token_is_shown_once_and_only_its_hash_is_kept():
    secret, stored = issue_token()
    assert len(secret) >= 43
    assert stored == hashlib.sha256(secret.encode()).hexdigest() == hash_token(secret)
    assert secret not in stored
    assert token_matches(secret, stored)


def test_any_other_token_does_not_match():
    secret, stored = issue_token()
    other, _ = issue_token()
    assert other != secret
    assert not token_matches(other, stored)
    assert not token_matches(secret[:-1], stored)
    assert not token_matches("", stored)
    assert not token_matches(None, stored)
    assert not token_matches(secret, None)
    assert not token_matches(secret, "ü-not-hex")


def test_the_service_words_the_refusal():
    access = CitizenAccess(case_noun="laporan", service="LAPOR!", staff_roles=("lapor_admin",))
    _, stored = issue_token()
    with pytest.raises(Forbidden, match="Token akses tidak sesuai untuk laporan ini."):
        access.check("salah", stored)
    [parameter] = access.doc["parameters"]
    assert parameter["name"] == TOKEN_HEADER == "X-Access-Token" and parameter["in"] == "header"
    assert "laporan" in parameter["description"] and token_doc("laporan") == access.doc


@pytest.mark.parametrize(
    ("given", "stored", "same"),
    [
        ("siti@example.org", "siti@example.org", True),
        ("  Siti@Example.ORG ", "siti@example.org", True),
        ("siti@example.org", "sita@example.org", False),
        ("siti@example.org", None, False),
        ("", "", False),
        (None, None, False),
    ],
)
def test_addresses_are_compared_after_normalising(given, stored, same):
    assert same_address(given, stored) is same
    if same:
        assert normalise_email(given) == normalise_email(stored)


def test_the_request_body_is_one_trimmed_address():
    assert ReissueSchema().load({"email": " siti@example.org "}) == {"email": "siti@example.org"}
    errors = ReissueSchema().validate({"email": "bukan"})
    assert errors == {"email": ["Alamat surel tidak valid."]}
    assert ReissueSchema().validate({}) == {"email": ["Wajib diisi."]}


def test_detached_work_runs_after_the_answer_and_its_failure_is_only_logged(caplog):
    app = Flask(__name__)
    release = threading.Event()
    done: list[str] = []

    def slow() -> None:
        release.wait(5)
        done.append("slow")

    def failing() -> None:
        raise RuntimeError("boom")

    with app.app_context():
        run_detached(slow)
        run_detached(failing)
    # The caller went on while the work waits.
    assert done == [] and not wait_detached(app, timeout=0.05)
    release.set()
    assert wait_detached(app, timeout=5)
    assert done == ["slow"]
    assert any(r.name == "simpul.citizen" and r.levelno == logging.ERROR for r in caplog.records)
    assert wait_detached(Flask("untouched"))
