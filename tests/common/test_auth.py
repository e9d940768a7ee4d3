"""Staff JWT verification, the Flask guards and citizen access secrets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, jsonify
from flask_smorest import Api, Blueprint

from services.common import auth
from services.common.auth import (
    LOGIN_REQUIRED,
    AuthError,
    JwtVerifier,
    Principal,
    current_principal,
    init_auth,
    login_required,
    mint_token,
    roles_required,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
AUDIENCE = "simpul"
ISSUER = "simpul-test"


def make_config(**overrides):
    values = dict(
        jwt_algorithms=("HS256",),
        jwt_secret=SECRET,
        jwt_public_key=None,
        jwt_jwks_url=None,
        jwt_audience=AUDIENCE,
        jwt_issuer=ISSUER,
        jwt_leeway_seconds=30,
    )
    values.update(overrides)
    return SimpleNamespace(**values)


def claims(**overrides):
    now = int(time.time())
    values = {
        "sub": "u1",
        "name": "Siti",
        "roles": ["ppid_pelaksana"],
        "opd": "dinkes",
        "aud": AUDIENCE,
        "iss": ISSUER,
        "iat": now,
        "exp": now + 600,
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not _DROP}


_DROP = object()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_signed(header: dict, payload: dict, hmac_key: bytes | None) -> str:
    """Build a JWT without PyJWT, which refuses to produce the forgeries under test."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
    if hmac_key is None:
        return signing_input + "."
    digest = hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(digest)}"


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(private_key) -> str:
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def rs256(private_key, payload, kid=None) -> str:
    headers = {"kid": kid} if kid else None
    return jwt.encode(payload, private_key, algorithm="RS256", headers=headers)


# --- HS256 ---------------------------------------------------------------------------------


def test_valid_hs256_token_gives_principal():
    verifier = JwtVerifier(make_config())
    principal = verifier.verify(jwt.encode(claims(), SECRET, algorithm="HS256"))
    assert principal == Principal(
        sub="u1", name="Siti", roles=frozenset({"ppid_pelaksana"}), opd="dinkes"
    )
    assert principal.has_role("ppid_utama", "ppid_pelaksana")
    assert not principal.has_role("ppid_utama")
    assert not principal.is_regency_level


def test_regency_level_token_has_null_opd_and_optional_name():
    verifier = JwtVerifier(make_config())
    token = jwt.encode(claims(opd=None, name=_DROP, roles=[]), SECRET, algorithm="HS256")
    principal = verifier.verify(token)
    assert principal.opd is None and principal.is_regency_level
    assert principal.name is None
    assert principal.roles == frozenset()


def test_mint_token_roundtrip():
    config = make_config()
    token = mint_token(config, "u9", ["siber_editor", "siber_editor"], None, name="Budi")
    principal = JwtVerifier(config).verify(token)
    assert principal == Principal("u9", "Budi", frozenset({"siber_editor"}), None)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_alg_none_is_rejected():
    token = hand_signed({"alg": "none", "typ": "JWT"}, claims(), None)
    with pytest.raises(AuthError, match="Algoritma token tidak diterima"):
        JwtVerifier(make_config()).verify(token)


def test_alg_none_is_rejected_even_if_configured():
    with pytest.raises(ValueError):
        JwtVerifier(make_config(jwt_algorithms=("HS256", "none")))


def test_wrong_secret_is_rejected():
    token = jwt.encode(claims(), "another-secret-of-sufficient-length-xxxxxxxx", algorithm="HS256")
    with pytest.raises(AuthError, match="Tanda tangan token tidak sah"):
        JwtVerifier(make_config()).verify(token)


def test_tampered_payload_is_rejected():
    token = jwt.encode(claims(), SECRET, algorithm="HS256")
    header, _, signature = token.split(".")
    forged = b64url(json.dumps(claims(roles=["ppid_utama"], opd=None)).encode())
    with pytest.raises(AuthError):
        JwtVerifier(make_config()).verify(f"{header}.{forged}.{signature}")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"aud": "another-app"}, "Audiens \\(aud\\) token tidak diterima"),
        ({"iss": "https://evil.example"}, "Penerbit \\(iss\\) token tidak diterima"),
        ({"exp": int(time.time()) - 120}, "kedaluwarsa"),
        ({"nbf": int(time.time()) + 600}, "belum berlaku"),
    ],
)
def test_wrong_audience_issuer_and_times_are_rejected(overrides, message):
    token = jwt.encode(claims(**overrides), SECRET, algorithm="HS256")
    with pytest.raises(AuthError, match=message):
        JwtVerifier(make_config()).verify(token)


def test_leeway_tolerates_small_clock_skew_only():
    token = jwt.encode(claims(exp=int(time.time()) - 10), SECRET, algorithm="HS256")
    assert JwtVerifier(make_config(jwt_leeway_seconds=30)).verify(token).sub == "u1"
    with pytest.raises(AuthError, match="kedaluwarsa"):
        JwtVerifier(make_config(jwt_leeway_seconds=0)).verify(token)


@pytest.mark.parametrize("claim", ["exp", "sub", "roles", "opd", "aud", "iss"])
def test_missing_required_claim_is_rejected(claim):
    token = jwt.encode(claims(**{claim: _DROP}), SECRET, algorithm="HS256")
    with pytest.raises(AuthError, match="tidak memuat klaim|Audiens|Penerbit"):
        JwtVerifier(make_config()).verify(token)


@pytest.mark.parametrize(
    "overrides",
    [
        {"roles": "ppid_utama"},
        {"roles": ["ok", 3]},
        {"roles": None},
        {"opd": ""},
        {"opd": 7},
        {"name": ["x"]},
        {"sub": ""},
    ],
)
def test_badly_typed_claims_are_rejected(overrides):
    token = jwt.encode(claims(**overrides), SECRET, algorithm="HS256")
    with pytest.raises(AuthError):
        JwtVerifier(make_config()).verify(token)


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "x" * 10_000])
def test_garbage_is_rejected(token):
    with pytest.raises(AuthError):
        JwtVerifier(make_config()).verify(token)


@pytest.mark.parametrize(
    "overrides",
    [
        {"jwt_algorithms": ()},
        {"jwt_algorithms": ("HS512",)},
        {"jwt_secret": None},
        {"jwt_algorithms": ("RS256",), "jwt_secret": None},
        {"jwt_audience": ""},
        {"jwt_issuer": None},
        {"jwt_algorithms": ("RS256",), "jwt_public_key": "not a pem"},
    ],
)
def test_unusable_configuration_fails_at_startup(overrides):
    with pytest.raises(ValueError):
        JwtVerifier(make_config(**overrides))


# --- RS256 with a PEM key --------------------------------------------------------------------


def rs_config(rsa_key, **overrides):
    values = dict(jwt_algorithms=("RS256",), jwt_secret=None, jwt_public_key=public_pem(rsa_key))
    values.update(overrides)
    return make_config(**values)


def test_rs256_with_pem_key(rsa_key):
    verifier = JwtVerifier(rs_config(rsa_key))
    assert verifier.verify(rs256(rsa_key, claims())).opd == "dinkes"


def test_rs256_signed_by_another_key_is_rejected(rsa_key, other_rsa_key):
    with pytest.raises(AuthError, match="Tanda tangan token tidak sah"):
        JwtVerifier(rs_config(rsa_key)).verify(rs256(other_rsa_key, claims()))


def test_hs256_token_rejected_when_only_rs256_is_configured(rsa_key):
    verifier = JwtVerifier(rs_config(rsa_key))
    with pytest.raises(AuthError, match="Algoritma token tidak diterima"):
        verifier.verify(jwt.encode(claims(), SECRET, algorithm="HS256"))
    # The classic confusion: HMAC keyed with the public key that everybody can read.
    forged = hand_signed({"alg": "HS256", "typ": "JWT"}, claims(), public_pem(rsa_key).encode())
    with pytest.raises(AuthError, match="Algoritma token tidak diterima"):
        verifier.verify(forged)


def test_confusion_fails_even_with_both_algorithms_allowed(rsa_key):
    verifier = JwtVerifier(rs_config(rsa_key, jwt_algorithms=("HS256", "RS256"), jwt_secret=SECRET))
    forged = hand_signed({"alg": "HS256", "typ": "JWT"}, claims(), public_pem(rsa_key).encode())
    with pytest.raises(AuthError, match="Tanda tangan token tidak sah"):
        verifier.verify(forged)
    # Both genuine kinds still pass.
    assert verifier.verify(rs256(rsa_key, claims())).sub == "u1"
    assert verifier.verify(jwt.encode(claims(), SECRET, algorithm="HS256")).sub == "u1"


def test_rs256_token_rejected_when_only_hs256_is_configured(rsa_key):
    with pytest.raises(AuthError, match="Algoritma token tidak diterima"):
        JwtVerifier(make_config()).verify(rs256(rsa_key, claims()))


# --- RS256 with JWKS -------------------------------------------------------------------------


class JwksServer:
    """A JWKS endpoint on 127.0.0.1 that counts its requests."""

    def __init__(self, keys: list[dict]):
        self.keys = keys
        self.hits = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.hits += 1
                body = json.dumps({"keys": server.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        if self.thread.is_alive():
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join(timeout=5)


def jwk(private_key, kid: str) -> dict:
    data = jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    return {**data, "kid": kid, "use": "sig", "alg": "RS256"}


@pytest.fixture()
def jwks_server(rsa_key):
    server = JwksServer([jwk(rsa_key, "key-1")])
    yield server
    server.stop()


def jwks_config(url, **overrides):
    values = dict(jwt_algorithms=("RS256",), jwt_secret=None, jwt_jwks_url=url)
    values.update(overrides)
    return make_config(**values)


def test_rs256_with_jwks(rsa_key, jwks_server):
    verifier = JwtVerifier(jwks_config(jwks_server.url))
    assert verifier.verify(rs256(rsa_key, claims(), kid="key-1")).sub == "u1"
    assert verifier.verify(rs256(rsa_key, claims(sub="u2"), kid="key-1")).sub == "u2"
    # The key set is cached, not fetched for every request.
    assert jwks_server.hits == 1


def test_jwks_rejects_unknown_kid_and_foreign_signature(rsa_key, other_rsa_key, jwks_server):
    verifier = JwtVerifier(jwks_config(jwks_server.url))
    with pytest.raises(AuthError, match="Kunci penanda tangan token tidak dikenal"):
        verifier.verify(rs256(rsa_key, claims(), kid="key-404"))
    with pytest.raises(AuthError, match="Tanda tangan token tidak sah"):
        verifier.verify(rs256(other_rsa_key, claims(), kid="key-1"))
    with pytest.raises(AuthError, match="Algoritma token tidak diterima"):
        verifier.verify(jwt.encode(claims(), SECRET, algorithm="HS256", headers={"kid": "key-1"}))


def test_jwks_still_checks_claims(rsa_key, jwks_server):
    verifier = JwtVerifier(jwks_config(jwks_server.url))
    with pytest.raises(AuthError, match="Audiens"):
        verifier.verify(rs256(rsa_key, claims(aud="elsewhere"), kid="key-1"))


def test_jwks_unreachable_is_an_auth_error(rsa_key):
    server = JwksServer([])
    url = server.url
    server.stop()
    verifier = JwtVerifier(jwks_config(url))
    with pytest.raises(AuthError, match="tidak dapat diambil"):
        verifier.verify(rs256(rsa_key, claims(), kid="key-1"))


def test_pem_key_backs_up_jwks(rsa_key, other_rsa_key, jwks_server):
    # JWKS serves rsa_key; the PEM setting holds a second, older key without a kid.
    config = jwks_config(jwks_server.url, jwt_public_key=public_pem(other_rsa_key))
    verifier = JwtVerifier(config)
    assert verifier.verify(rs256(rsa_key, claims(), kid="key-1")).sub == "u1"
    assert verifier.verify(rs256(other_rsa_key, claims())).sub == "u1"
    with pytest.raises(AuthError, match="Tanda tangan token tidak sah"):
        verifier.verify(rs256(rsa_key, claims(), kid="key-404"))
    jwks_server.stop()
    offline = JwtVerifier(config)
    assert offline.verify(rs256(other_rsa_key, claims(), kid="key-1")).sub == "u1"


def test_jwks_url_must_be_http():
    with pytest.raises(jwt.PyJWKClientError):
        JwtVerifier(jwks_config("file:///etc/passwd"))


# --- Flask -----------------------------------------------------------------------------------


class CountingVerifier(JwtVerifier):
    def __init__(self, config):
        super().__init__(config)
        self.calls = 0

    def verify(self, token):
        self.calls += 1
        return super().verify(token)


@pytest.fixture()
def flask_app():
    app = Flask(__name__)
    app.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.0.3", TESTING=True)
    api = Api(app)
    blp = Blueprint("t", __name__, url_prefix="/api/v1")

    @blp.route("/me")
    @login_required
    def me():
        first, second = current_principal(), current_principal()
        assert first is second
        return jsonify(sub=first.sub, roles=sorted(first.roles), opd=first.opd)

    @blp.route("/notices")
    @roles_required("ppid_utama", "ppid_pelaksana")
    def notices():
        return jsonify(ok=True)

    @blp.route("/public")
    def public():
        principal = current_principal()
        return jsonify(sub=principal.sub if principal else None)

    api.register_blueprint(blp)
    verifier = CountingVerifier(make_config())
    init_auth(app, verifier, api)
    app.verifier = verifier
    app.api = api
    return app


def bearer(**kwargs):
    defaults = dict(sub="u1", roles=["ppid_pelaksana"], opd="dinkes")
    defaults.update(kwargs)
    return {"Authorization": f"Bearer {mint_token(make_config(), **defaults)}"}


def test_missing_token_is_401_with_challenge(flask_app):
    response = flask_app.test_client().get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.get_json() == {
        "code": 401,
        "status": "Unauthorized",
        "message": LOGIN_REQUIRED,
    }


@pytest.mark.parametrize(
    "header",
    [
        f"Bearer {jwt.encode(claims(exp=1), SECRET, algorithm='HS256')}",
        "Bearer not.a.token",
        "Basic dTE6cGFzcw==",
        "Bearer",
    ],
)
def test_invalid_credentials_are_401_invalid_token(flask_app, header):
    client = flask_app.test_client()
    for path in ("/api/v1/me", "/api/v1/public"):
        response = client.get(path, headers={"Authorization": header})
        assert response.status_code == 401
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith('Bearer error="invalid_token"')
        assert response.get_json()["message"] in challenge


def test_expired_token_message_reaches_the_client(flask_app):
    token = jwt.encode(claims(exp=1), SECRET, algorithm="HS256")
    response = flask_app.test_client().get(
        "/api/v1/me", headers={"Authorization": f"bearer {token}"}
    )
    assert response.get_json()["message"] == "Token sudah kedaluwarsa; silakan masuk kembali."


def test_valid_token_reaches_the_view_and_is_verified_once(flask_app):
    response = flask_app.test_client().get("/api/v1/me", headers=bearer())
    assert response.status_code == 200
    assert response.get_json() == {"sub": "u1", "roles": ["ppid_pelaksana"], "opd": "dinkes"}
    assert flask_app.verifier.calls == 1


def test_principal_is_not_shared_between_requests(flask_app):
    client = flask_app.test_client()
    assert client.get("/api/v1/public", headers=bearer(sub="a")).get_json() == {"sub": "a"}
    assert client.get("/api/v1/public").get_json() == {"sub": None}
    assert client.get("/api/v1/public", headers=bearer(sub="b")).get_json() == {"sub": "b"}


def test_roles_required(flask_app):
    client = flask_app.test_client()
    assert client.get("/api/v1/notices").status_code == 401
    wrong = client.get("/api/v1/notices", headers=bearer(roles=["lapor_admin"]))
    assert wrong.status_code == 403
    assert wrong.get_json()["code"] == 403
    assert "ppid_utama" in wrong.get_json()["message"]
    assert client.get("/api/v1/notices", headers=bearer(roles=["ppid_utama"])).status_code == 200
    assert client.get("/api/v1/notices", headers=bearer()).status_code == 200


def test_roles_required_needs_roles():
    with pytest.raises(ValueError):
        roles_required()


def test_openapi_marks_protected_operations(flask_app):
    spec = flask_app.api.spec.to_dict()
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    assert spec["paths"]["/api/v1/me"]["get"]["security"] == [{"bearerAuth": []}]
    assert spec["paths"]["/api/v1/notices"]["get"]["security"] == [{"bearerAuth": []}]
    assert spec["paths"]["/api/v1/notices"]["get"]["x-roles"] == ["ppid_utama", "ppid_pelaksana"]
    assert "x-roles" not in spec["paths"]["/api/v1/me"]["get"]
    assert "security" not in spec["paths"]["/api/v1/public"]["get"]


def test_current_principal_without_init_auth_is_a_programming_error():
    app = Flask(__name__)
    with app.test_request_context(headers={"Authorization": "Bearer x"}):
        with pytest.raises(RuntimeError, match="init_auth"):
            current_principal()


# --- Command line ----------------------------------------------------------------------------


def test_cli_main_prints_a_verifiable_token(capsys):
    env = {"JWT_SECRET": SECRET, "JWT_ISSUER": ISSUER}
    assert (
        auth.main(
            ["token", "--sub", "u1", "--role", "ppid_pelaksana", "--role", "humas", "--opd", "dinkes"], env
        )
        == 0
    )
    token = capsys.readouterr().out.strip()
    principal = JwtVerifier(make_config()).verify(token)
    assert principal == Principal("u1", None, frozenset({"ppid_pelaksana", "humas"}), "dinkes")


def test_cli_token_carries_name_and_nip(capsys):
    env = {"JWT_SECRET": SECRET, "JWT_ISSUER": ISSUER}
    argv = ["token", "--sub", "u2", "--role", "atasan_ppid", "--opd", "dinkes",
            "--name", "dr. Maria Ulfah", "--nip", "197805122005012004"]
    assert auth.main(argv, env) == 0
    principal = JwtVerifier(make_config()).verify(capsys.readouterr().out.strip())
    assert (principal.name, principal.nip) == ("dr. Maria Ulfah", "197805122005012004")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--role", "ppid_pelaksana"], "bertugas untuk satu OPD"),
        (["--role", "atasan_ppid"], "bertugas untuk satu OPD"),
        (["--role", "ppid_utama", "--role", "humas"], "humas bertugas untuk satu OPD"),
        (["--role", "nobody", "--opd", "dinkes"], "Peran tidak dikenal: nobody"),
        (["--role", "ppid_pelaksana", "--opd", "nosuchopd"], "Kode OPD tidak dikenal: nosuchopd"),
        ([], "paling sedikit satu peran"),
    ],
)
def test_cli_refuses_tokens_that_name_no_one_real(capsys, argv, message):
    env = {"JWT_SECRET": SECRET, "JWT_ISSUER": ISSUER}
    assert auth.main(["token", "--sub", "u3", *argv], env) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert "Token tidak dibuat" in out.err and message in out.err


def test_nip_claim_is_optional_text():
    verifier = JwtVerifier(make_config())
    assert verifier.verify(jwt.encode(claims(), SECRET, algorithm="HS256")).nip is None
    with_nip = jwt.encode(claims(nip="198703122010012003"), SECRET, algorithm="HS256")
    assert verifier.verify(with_nip).nip == "198703122010012003"
    for bad in (12345, "", ["1"]):
        with pytest.raises(AuthError, match="Klaim nip"):
            verifier.verify(jwt.encode(claims(nip=bad), SECRET, algorithm="HS256"))


@pytest.mark.parametrize(
    ("variables", "refusal"),
    [
        (["ROLE=ppid_pelaksana"], "bertugas untuk satu OPD"),
        (["ROLE=bupati", "OPD=dinkes"], "Peran tidak dikenal: bupati"),
        (["ROLE=opd_head"], "bertugas untuk satu OPD"),
    ],
)
def test_make_token_refuses(variables, refusal):
    result = subprocess.run(
        ["make", "-s", "token", *variables], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0 and result.stdout == ""
    assert refusal in result.stderr


def test_make_token_accepts_name_and_nip():
    from services.common.settings import DEV_JWT_SECRET

    env = {k: v for k, v in os.environ.items() if not k.startswith("JWT_")}
    result = subprocess.run(
        ["make", "-s", "token", "ROLE=ppid_pelaksana", "OPD=dinkes", "NAME=Siti O'Rahma", "NIP=198703122010012003"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
    )
    config = make_config(jwt_secret=DEV_JWT_SECRET, jwt_issuer="simpul-dev")
    principal = JwtVerifier(config).verify(result.stdout.strip())
    assert principal == Principal(
        "dev-user", "Siti O'Rahma", frozenset({"ppid_pelaksana"}), "dinkes", nip="198703122010012003"
    )


def test_cli_module_entry_point_uses_env_defaults():
    from services.common.settings import DEV_JWT_SECRET

    env = {k: v for k, v in os.environ.items() if not k.startswith("JWT_")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.common.auth",
            "token",
            "--role",
            "ppid_utama",
            "--sub",
            "u7",
            "--name",
            "Ani",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    config = make_config(jwt_secret=DEV_JWT_SECRET, jwt_issuer="simpul-dev")
    principal = JwtVerifier(config).verify(result.stdout.strip())
    assert principal == Principal("u7", "Ani", frozenset({"ppid_utama"}), None)
    assert principal.is_regency_level


def test_a_token_naming_an_opd_outside_the_directory_is_refused():
    app = Flask(__name__)
    app.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.0.3", TESTING=True)
    api = Api(app)
    blp = Blueprint("opds", __name__, url_prefix="/api/v1")

    @blp.route("/me")
    @login_required
    def me():
        return jsonify(opd=current_principal().opd)

    api.register_blueprint(blp)
    init_auth(app, JwtVerifier(make_config()), api, opds={"dinkes", "disdik"})
    client = app.test_client()
    refused = client.get("/api/v1/me", headers=bearer(opd="nosuchopd"))
    assert refused.status_code == 403
    assert refused.get_json()["message"] == (
        "OPD pada token tidak terdaftar di direktori OPD; minta admin memperbaiki akun Anda."
    )
    assert client.get("/api/v1/me", headers=bearer(opd="dinkes")).get_json() == {"opd": "dinkes"}
    # Regency-level tokens name no OPD and are not the directory's to judge.
    assert client.get("/api/v1/me", headers=bearer(opd=None, roles=["ppid_utama"])).status_code == 200
