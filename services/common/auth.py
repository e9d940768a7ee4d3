"""Staff authentication with bearer JWTs.

Staff log in at the regency's identity provider, never here: a service only verifies the
token it is handed. Development signs tokens with a shared secret (HS256); production
verifies RS256 signatures with the provider's public key, as PEM text or from its JWKS URL.
Every algorithm a token may use is listed in the settings, and each algorithm is checked
with its own key only, so a token cannot pick a weaker algorithm or trick the verifier into
using the RSA public key as an HMAC secret (the classic algorithm-confusion attack).

Authorisation here is coarse: who is logged in and which roles they hold. Whether an
officer may see or touch one particular case is the service's decision, stated as a
`services.common.scope.ScopeRule` and asked of its `OpdScope`.

Citizens have no account and never authenticate here: their case tokens are
`services.common.citizen`'s.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable
from copy import deepcopy
from dataclasses import dataclass
from functools import wraps
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TypeVar

from flask import Flask, current_app, g, request
from flask_smorest import abort

# PyJWT imports cryptography whenever it is installed, some 10 MB in every process, even
# for HS256: it is imported where a token is first read or signed, so a web worker that
# only ever answers citizens never loads it. RS256 loads cryptography at startup, with its key.
if TYPE_CHECKING:
    import jwt
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

log = logging.getLogger(__name__)

SUPPORTED_ALGORITHMS = frozenset({"HS256", "RS256"})
REQUIRED_CLAIMS = ("exp", "aud", "iss", "sub")
MAX_SUBJECT_CHARS = 255
EXTENSION_KEY = "simpul_auth"
OPDS_KEY = "simpul_auth_opds"
SECURITY_SCHEME_NAME = "bearerAuth"
# Far above any real token; a bound keeps a hostile header from costing much parsing work.
MAX_TOKEN_LENGTH = 8192
# A JWKS fetch happens inside a staff request, so it must fail fast when the identity
# provider is unreachable rather than hold a web worker for PyJWT's default 30 s.
JWKS_TIMEOUT_SECONDS = 5.0
JWKS_CACHE_SECONDS = 300

# What a caller is told, in Bahasa Indonesia like every error of the API. They also travel
# in the WWW-Authenticate header's quoted error_description, so they hold no double quote
# or backslash and stay ASCII.
LOGIN_REQUIRED = "Perlu masuk: sertakan token Bearer staf pada header Authorization."
EXPIRED = "Token sudah kedaluwarsa; silakan masuk kembali."
MALFORMED = "Token tidak berbentuk JWT yang sah."
UNKNOWN_KEY = "Kunci penanda tangan token tidak dikenal."
UNKNOWN_OPD = (
    "OPD pada token tidak terdaftar di direktori OPD; minta admin memperbaiki akun Anda."
)

_F = TypeVar("_F", bound=Callable[..., Any])
_UNSET = object()


class AuthError(Exception):
    """Any failure to authenticate. The message is safe to show to the caller.

    `status` 401 is a token that proves nothing; 403 a valid token whose account cannot be
    served as it stands (it names an OPD the directory does not know).
    """

    def __init__(self, message: str, status: int = 401):
        super().__init__(message)
        self.message = message
        self.status = status


class JwtConfig(Protocol):
    """The settings attributes the verifier reads (the service settings provide them)."""

    jwt_algorithms: tuple[str, ...]
    jwt_secret: str | None
    jwt_public_key: str | None
    jwt_jwks_url: str | None
    jwt_audience: str
    jwt_issuer: str
    jwt_leeway_seconds: int


@dataclass(frozen=True)
class Principal:
    """An authenticated staff member, as the token describes them."""

    sub: str
    name: str | None
    roles: frozenset[str]
    opd: str | None
    # The civil servant's number (Nomor Induk Pegawai), printed under the signature of the
    # letters the officer signs; optional, as not every identity provider carries it.
    nip: str | None = None

    def has_role(self, *roles: str) -> bool:
        """True when the principal holds at least one of `roles`."""
        return any(role in self.roles for role in roles)

    @property
    def is_regency_level(self) -> bool:
        # Regency-level staff (the PPID Utama, the complaints coordinator, the editor in
        # chief) belong to no single OPD, and their tokens say so with a null `opd`.
        return self.opd is None


class JwtVerifier:
    """Verifies staff bearer tokens against the configured algorithms and keys.

    Built once per process from the settings; thread-safe (the JWKS client locks its own
    cache).
    """

    def __init__(self, config: JwtConfig):
        algorithms = tuple(config.jwt_algorithms)
        unknown = set(algorithms) - SUPPORTED_ALGORITHMS
        if not algorithms or unknown:
            raise ValueError(
                f"jwt_algorithms must be a non-empty subset of {sorted(SUPPORTED_ALGORITHMS)}"
            )
        if not config.jwt_audience or not config.jwt_issuer:
            raise ValueError("jwt_audience and jwt_issuer are required")
        self.algorithms = algorithms
        self.audience = config.jwt_audience
        self.issuer = config.jwt_issuer
        self.leeway = int(config.jwt_leeway_seconds)

        self._secret: str | None = None
        if "HS256" in algorithms:
            if not config.jwt_secret:
                raise ValueError("HS256 needs jwt_secret")
            self._secret = config.jwt_secret

        self._public_key: RSAPublicKey | None = None
        self._jwks: jwt.PyJWKClient | None = None
        if "RS256" in algorithms:
            if not (config.jwt_public_key or config.jwt_jwks_url):
                raise ValueError("RS256 needs jwt_public_key or jwt_jwks_url")
            if config.jwt_public_key:
                self._public_key = _load_rsa_public_key(config.jwt_public_key)
            if config.jwt_jwks_url:
                import jwt

                # Only the key set is cached, for a bounded time: PyJWT's per-key cache
                # never expires, so a key the provider withdrew would stay trusted.
                self._jwks = jwt.PyJWKClient(
                    config.jwt_jwks_url,
                    cache_keys=False,
                    cache_jwk_set=True,
                    lifespan=JWKS_CACHE_SECONDS,
                    timeout=JWKS_TIMEOUT_SECONDS,
                )

    def verify(self, token: str) -> Principal:
        """Return the principal of a valid token; raise `AuthError` for anything else."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise AuthError(MALFORMED)
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AuthError(MALFORMED) from exc
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise AuthError("Algoritma token tidak diterima.")
        key = self._key_for(alg, token)
        try:
            claims = jwt.decode(
                token,
                key,
                # Only the allow-listed algorithm that chose this key; a key never serves
                # a second algorithm.
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError(EXPIRED) from exc
        except jwt.ImmatureSignatureError as exc:
            raise AuthError("Token belum berlaku.") from exc
        except jwt.InvalidAudienceError as exc:
            raise AuthError("Audiens (aud) token tidak diterima.") from exc
        except jwt.InvalidIssuerError as exc:
            raise AuthError("Penerbit (iss) token tidak diterima.") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError(_lacks(exc.claim)) from exc
        except jwt.InvalidSignatureError as exc:
            raise AuthError("Tanda tangan token tidak sah.") from exc
        except jwt.PyJWTError as exc:
            raise AuthError("Token tidak sah.") from exc
        return _principal_from_claims(claims)

    def _key_for(self, alg: str, token: str) -> Any:
        if alg == "HS256":
            return self._secret
        if self._jwks is not None:
            import jwt

            try:
                signing_key = self._jwks.get_signing_key_from_jwt(token)
            except jwt.PyJWTError as exc:
                unreachable = isinstance(exc, jwt.PyJWKClientConnectionError)
                if unreachable:
                    log.warning("JWKS endpoint unreachable: %s", exc)
                # A configured PEM key is the fallback for tokens the key set cannot place.
                if self._public_key is not None:
                    return self._public_key
                if unreachable:
                    raise AuthError("Kunci penanda tangan token tidak dapat diambil; coba lagi nanti.") from exc
                raise AuthError(UNKNOWN_KEY) from exc
            if signing_key.key_type != "RSA":
                raise AuthError(UNKNOWN_KEY)
            # A PyJWK carries its own algorithm and PyJWT refuses a token whose header
            # disagrees with it.
            return signing_key
        return self._public_key


def _lacks(claim: str) -> str:
    return f"Token tidak memuat klaim {claim}."


def _load_rsa_public_key(pem: str) -> RSAPublicKey:
    # An RS256 deployment needs cryptography and loads it here, at startup, where a bad key
    # fails the process.
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(pem.encode())
    except ValueError as exc:
        raise ValueError("jwt_public_key is not a PEM public key") from exc
    if not isinstance(key, RSAPublicKey):
        raise ValueError("jwt_public_key must be an RSA public key for RS256")
    return key


def _principal_from_claims(claims: dict[str, Any]) -> Principal:
    sub = claims["sub"]
    # Services record the subject beside what an officer did, in columns of 255 characters.
    if not isinstance(sub, str) or not sub or len(sub) > MAX_SUBJECT_CHARS or "\x00" in sub:
        raise AuthError("Subjek (sub) token tidak sah.")
    roles = claims.get("roles", _UNSET)
    if roles is _UNSET:
        raise AuthError(_lacks("roles"))
    # A bare string is iterable too; accepting it would turn "admin" into five roles.
    if not isinstance(roles, list) or not all(isinstance(r, str) and r for r in roles):
        raise AuthError("Klaim roles token harus berupa daftar nama peran.")
    # `opd` must be present even when null: a token that merely forgot it must not be
    # read as regency-level, which would open every OPD's cases.
    if "opd" not in claims:
        raise AuthError(_lacks("opd"))
    opd = claims["opd"]
    if opd is not None and (not isinstance(opd, str) or not opd):
        raise AuthError("Klaim opd token harus berupa kode OPD atau null.")
    name = claims.get("name")
    if name is not None and not isinstance(name, str):
        raise AuthError("Klaim name token harus berupa teks.")
    nip = claims.get("nip")
    if nip is not None and (not isinstance(nip, str) or not nip.strip()):
        raise AuthError("Klaim nip token harus berupa teks NIP atau null.")
    return Principal(sub=sub, name=name, roles=frozenset(roles), opd=opd, nip=nip)


def mint_token(
    config: Any,
    sub: str,
    roles: Iterable[str],
    opd: str | None,
    name: str | None = None,
    ttl_seconds: int = 3600,
    nip: str | None = None,
) -> str:
    """Sign a development token with the shared HS256 secret (for `make token` and tests)."""
    if not config.jwt_secret:
        raise ValueError("minting a token needs jwt_secret")
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub,
        "roles": list(roles),
        "opd": opd,
        "aud": config.jwt_audience,
        "iss": config.jwt_issuer,
        "iat": now,
        "exp": now + int(ttl_seconds),
    }
    if name is not None:
        claims["name"] = name
    if nip is not None:
        claims["nip"] = nip
    import jwt

    return jwt.encode(claims, config.jwt_secret, algorithm="HS256")


# --- Flask integration -------------------------------------------------------------------


def init_auth(app: Flask, verifier: JwtVerifier, api: Any = None, *, opds: Any = None) -> None:
    """Attach the verifier to the app; with a flask-smorest `api`, also declare the bearer
    security scheme that the decorators reference in the OpenAPI document.

    `opds` (anything answering `code in opds`, the runtime's `OpdRegistry`, which follows
    the directory) refuses tokens whose `opd` claim names an OPD it does not know: such an
    officer's cases would belong to an OPD no one else can see.
    """
    app.extensions[EXTENSION_KEY] = verifier
    app.extensions[OPDS_KEY] = opds
    if api is not None:
        register_security_scheme(api)


def register_security_scheme(api: Any) -> None:
    api.spec.components.security_scheme(
        SECURITY_SCHEME_NAME, {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )


def current_principal() -> Principal | None:
    """The staff member making this request, or None when no credentials were sent.

    Credentials that were sent but are invalid end the request with 401 rather than
    falling back to anonymous: a staff client with an expired token must learn so instead
    of seeing a public view of the data (RFC 6750, `invalid_token`).
    """
    outcome = _authenticate()
    if isinstance(outcome, AuthError):
        if outcome.status == 403:
            abort(403, message=outcome.message)
        _abort_unauthenticated(outcome.message, invalid_token=True)
    return outcome


def authenticated_principal() -> Principal | None:
    """The staff member of this request when its credentials are valid, else None, without
    ending the request.

    For decisions taken before the view, such as whether the citizen rate limit applies:
    they must rest on the very result authentication reaches (an `Authorization` header
    that is present but proves nothing is no staff member), not on the header's presence.
    """
    outcome = _authenticate()
    return None if isinstance(outcome, AuthError) else outcome


def _authenticate() -> Principal | AuthError | None:
    # Once per request: the rate limiter and the view ask the same question.
    cached = g.get("_simpul_principal", _UNSET)
    if cached is _UNSET:
        try:
            cached = principal_from_header(_verifier(), request.headers.get("Authorization"))
            if cached is not None:
                _check_opd(cached)
        except AuthError as exc:
            cached = exc
        g._simpul_principal = cached
    return cached


def _check_opd(principal: Principal) -> None:
    opds = current_app.extensions.get(OPDS_KEY)
    if opds is not None and principal.opd is not None and principal.opd not in opds:
        log.warning("token names an OPD outside the directory", extra={"sub": principal.sub})
        raise AuthError(UNKNOWN_OPD, status=403)


def principal_from_header(verifier: JwtVerifier, header: str | None) -> Principal | None:
    """Parse an `Authorization` header value: None when absent, AuthError when unusable."""
    if header is None or not header.strip():
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("Header Authorization harus berbentuk Bearer <token>.")
    return verifier.verify(token.strip())


def login_required(view: _F) -> _F:
    """Refuse the request with 401 unless a valid staff token came with it.

    Place it directly under `@blp.route` (above `@blp.arguments`) so an anonymous caller
    is refused before its body is parsed.
    """

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _require_principal()
        return current_app.ensure_sync(view)(*args, **kwargs)

    _document_security(wrapper)
    return wrapper  # type: ignore[return-value]


def roles_required(*roles: str) -> Callable[[_F], _F]:
    """Refuse with 401 when not logged in, with 403 unless the principal holds at least
    one of `roles`."""
    if not roles:
        raise ValueError("roles_required needs at least one role")

    def decorator(view: _F) -> _F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = _require_principal()
            if not principal.has_role(*roles):
                abort(403, message=f"Tindakan ini memerlukan salah satu peran: {', '.join(roles)}.")
            return current_app.ensure_sync(view)(*args, **kwargs)

        _document_security(wrapper, roles)
        return wrapper  # type: ignore[return-value]

    return decorator


def _verifier() -> JwtVerifier:
    verifier = current_app.extensions.get(EXTENSION_KEY)
    if verifier is None:
        raise RuntimeError("init_auth(app, verifier) was not called for this app")
    return verifier


def _require_principal() -> Principal:
    principal = current_principal()
    if principal is None:
        _abort_unauthenticated(LOGIN_REQUIRED)
    return principal


def _abort_unauthenticated(message: str, *, invalid_token: bool = False) -> NoReturn:
    challenge = "Bearer"
    if invalid_token:
        # Our messages carry no double quotes, so they sit safely inside the parameter.
        challenge += f' error="invalid_token", error_description="{message}"'
    abort(401, message=message, headers={"WWW-Authenticate": challenge})
    raise AssertionError("abort() returned")  # for type checkers: abort always raises


def _document_security(wrapper: Any, roles: Iterable[str] = ()) -> None:
    # flask-smorest reads `_apidoc` when the route is registered; copy before changing it
    # because `wraps` shares the dict with the wrapped view.
    apidoc = deepcopy(getattr(wrapper, "_apidoc", {}))
    manual = apidoc.setdefault("manual_doc", {})
    manual["security"] = [{SECURITY_SCHEME_NAME: []}]
    if roles:
        # The roles an operation serves, for the people building frontends against it.
        manual["x-roles"] = list(roles)
    wrapper._apidoc = apidoc


# --- Command line: development tokens -------------------------------------------------------

# The staff roles of docs/chassis.md, and whether each acts for one OPD. A development token
# for an OPD role without its OPD would be a Pelaksana who sees nothing (or, in a service
# that forgot the check, everything), so the command refuses it instead of minting it.
STAFF_ROLES: dict[str, bool] = {
    "admin": False,
    "ppid_utama": False,
    "ppid_pelaksana": True,
    "atasan_ppid": True,
    "lapor_admin": False,
    "lapor_liaison": True,
    "siber_editor": False,
    "humas": True,
    "opd_head": True,
    "sekda": False,
}
OPD_ROLES = frozenset(role for role, scoped in STAFF_ROLES.items() if scoped)


class TokenRequestError(ValueError):
    """A development token that must not be minted; the message says why, in Indonesian."""


def check_token_request(roles: Iterable[str], opd: str | None, known_opds: Iterable[str]) -> None:
    """Refuse unknown roles, an OPD role without an OPD and an OPD the regency does not have."""
    roles = list(roles)
    if not roles:
        raise TokenRequestError("Sebutkan paling sedikit satu peran (ROLE=...).")
    unknown = [role for role in roles if role not in STAFF_ROLES]
    if unknown:
        raise TokenRequestError(
            f"Peran tidak dikenal: {', '.join(unknown)}. Peran yang ada: {', '.join(STAFF_ROLES)}."
        )
    scoped = [role for role in roles if role in OPD_ROLES]
    if scoped and not opd:
        raise TokenRequestError(
            f"Peran {', '.join(scoped)} bertugas untuk satu OPD: sebutkan kodenya (OPD=...)."
        )
    if opd and opd not in set(known_opds):
        raise TokenRequestError(f"Kode OPD tidak dikenal: {opd}.")


def _cli_config(environ: dict[str, str]) -> SimpleNamespace:
    # Imported here so the module itself does not depend on the settings module.
    from services.common.settings import DEV_JWT_SECRET

    # The development secret is the default only because the embedded mode uses it too;
    # production settings refuse that secret, so tokens minted with it open nothing there.
    return SimpleNamespace(
        jwt_secret=environ.get("JWT_SECRET") or DEV_JWT_SECRET,
        jwt_audience=environ.get("JWT_AUDIENCE") or "simpul",
        jwt_issuer=environ.get("JWT_ISSUER") or "simpul-dev",
    )


def _known_opds(environ: dict[str, str]) -> tuple[str, ...]:
    from services.common.opd import OpdRegistry, default_opd_path

    return OpdRegistry.from_file(environ.get("OPD_FILE") or default_opd_path()).codes()


def main(argv: list[str] | None = None, environ: dict[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.common.auth", description="Development helpers for staff auth."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    token = commands.add_parser("token", help="print an HS256 staff token")
    token.add_argument("--sub", required=True, help="subject (staff user id)")
    token.add_argument(
        "--role", action="append", default=[], help=f"a role; repeat for more ({', '.join(STAFF_ROLES)})"
    )
    token.add_argument("--opd", default=None, help="OPD code; omit for regency-level staff")
    token.add_argument("--name", default=None, help="display name, printed on signed letters")
    token.add_argument("--nip", default=None, help="the officer's NIP, printed on signed letters")
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    args = parser.parse_args(argv)

    environ = dict(os.environ if environ is None else environ)
    opd = args.opd or None
    try:
        check_token_request(args.role, opd, _known_opds(environ))
    except TokenRequestError as exc:
        print(f"Token tidak dibuat: {exc}", file=sys.stderr)
        return 2
    config = _cli_config(environ)
    print(
        mint_token(
            config, args.sub, args.role, opd, name=args.name or None, ttl_seconds=args.ttl,
            nip=args.nip or None,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
