"""The small helpers every service's views share: the If-Match doc, the ETag answer, the
route label of an access record, and a header read as the client wrote it."""

from flask import Flask

from services.common.http import endpoint_label, header_text, if_match_doc, with_etag


def test_if_match_doc_requires_the_header_and_keeps_extra_responses():
    plain = if_match_doc("ETag laporan yang terakhir dimuat.")
    assert plain == {"parameters": [{
        "in": "header", "name": "If-Match", "required": True, "schema": {"type": "string"},
        "description": "ETag laporan yang terakhir dimuat.",
    }]}
    told = if_match_doc("ETag berita.", responses={"412": {"description": "Berita telah diubah orang lain"}})
    assert told["responses"] == {"412": {"description": "Berita telah diubah orang lain"}}


def test_with_etag_puts_the_tag_in_the_header():
    assert with_etag(({"id": 1}, '"abc"')) == ({"id": 1}, 200, {"ETag": '"abc"'})
    assert with_etag(({"id": 1}, '"abc"'), 201)[1] == 201


def test_endpoint_label_names_the_route_not_the_identifiers():
    app = Flask(__name__)
    app.add_url_rule("/api/v1/reports/<string:number>", "report", lambda number: endpoint_label())
    assert app.test_client().get("/api/v1/reports/LPR-1").text == "GET /api/v1/reports/<string:number>"


def test_header_text_reads_utf8_sent_as_latin1():
    app = Flask(__name__)
    sent = "keperluan pemeriksaan – audit".encode().decode("latin-1")
    with app.test_request_context(headers={"X-Access-Reason": sent}):
        assert header_text("X-Access-Reason") == "keperluan pemeriksaan – audit"
        assert header_text("X-Missing") is None
    with app.test_request_context(headers={"X-Access-Reason": "caf\xe9"}):
        assert header_text("X-Access-Reason") == "caf\xe9"
