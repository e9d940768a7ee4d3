"""What gunicorn answers itself, before any app sees the request (a request line or headers
beyond its limits, a malformed request), is in the one JSON error shape, through the real
`python -m services.ppid web`."""

from __future__ import annotations

import json
import socket

import pytest

from tests.ppid.support import ppid_web_process


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    with ppid_web_process(tmp_path_factory.mktemp("gunicorn-errors")) as process:
        yield process.port


def _raw(port: int, request: bytes) -> tuple[str, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return status, headers, body


def _assert_json_error(headers: dict, body: bytes, code: int) -> dict:
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    document = json.loads(body)
    assert document["code"] == code and set(document) == {"code", "status", "message"}
    return document


def test_a_request_line_too_long_is_a_json_414(web):
    status, headers, body = _raw(web, b"GET /api/v1/dip?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status.startswith("HTTP/1.1 414")
    document = _assert_json_error(headers, body, 414)
    assert document["status"] == "Request-URI Too Long"
    assert document["message"] == "Alamat permintaan terlalu panjang."


def test_headers_too_large_are_a_json_431(web):
    many = b"".join(b"X-H%d: 1\r\n" % i for i in range(200))
    status, headers, body = _raw(web, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert status.startswith("HTTP/1.1 431")
    assert _assert_json_error(headers, body, 431)["message"] == "Header permintaan terlalu besar."
    status, headers, body = _raw(
        web, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n"
    )
    assert status.split()[1] in ("400", "431")
    _assert_json_error(headers, body, int(status.split()[1]))


def test_a_malformed_request_is_a_json_400(web):
    status, headers, body = _raw(web, b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
    assert status.startswith("HTTP/1.1 400")
    document = _assert_json_error(headers, body, 400)
    assert "Bad Header" not in document["message"]
