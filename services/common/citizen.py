"""Citizen access to a case: the secret a submission hands out, and everything around it.

Citizens have no account. A submission returns the case's number and a random access token,
shown once; the service stores only the token's hash. Whoever presents the token in the
`X-Access-Token` header may follow that one case. Staff use their bearer token instead and
are judged by role and OPD, never by a case token.

The token carries 256 random bits, so a plain SHA-256 is enough to store it: slow password
hashes exist to resist guessing low-entropy human passwords, and no amount of guessing
reaches a 256-bit value. A fast hash keeps each check cheap under load; the comparison is
constant-time all the same.

A citizen who lost the token asks for a new one with the case number and the e-mail address
given in the submission (`reissue_token`). If the address matches, a new token replaces the
stored hash, so the old one stops working at once, and is mailed to that address. The
caller's answer never says whether the number or the address matched, and since the work
runs after the answer (`run_detached`), neither does its timing. Nothing of it is logged
but the case number.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Flask, current_app, request
from marshmallow import Schema, fields, pre_load
from sqlalchemy import Table, update
from sqlalchemy.orm import Session

from services.common import forms
from services.common.auth import Principal, authenticated_principal, current_principal
from services.common.errors import DomainError, Forbidden
from services.common.http import public_rate_limited, runtime
from services.common.mailer import MailContent, Mailer, MailError

log = logging.getLogger("simpul.citizen")

TOKEN_HEADER = "X-Access-Token"  # noqa: S105 - a header name, not a secret
TOKEN_BYTES = 32
_EXTENSION_KEY = "simpul_detached"


class Unauthenticated(DomainError):
    """No credentials at all: neither a staff bearer token nor the case's access token."""

    status = 401


# -- the secret ------------------------------------------------------------------------------


def issue_token() -> tuple[str, str]:
    """Return (secret to show the citizen once, hash to store)."""
    secret = secrets.token_urlsafe(TOKEN_BYTES)
    return secret, hash_token(secret)


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_matches(secret: str | None, stored_hash: str | None) -> bool:
    """Constant-time check of a presented secret against the stored hash."""
    if not isinstance(secret, str) or not secret or not isinstance(stored_hash, str):
        return False
    return hmac.compare_digest(hash_token(secret).encode(), stored_hash.encode())


def token_doc(case_noun: str) -> dict[str, Any]:
    """OpenAPI documentation of the header, for `@blp.doc(**token_doc("permohonan"))`."""
    return {
        "parameters": [
            {
                "in": "header",
                "name": TOKEN_HEADER,
                "required": False,
                "schema": {"type": "string"},
                "description": f"Token akses {case_noun} (diberikan sekali saat pengajuan).",
            }
        ]
    }


@dataclass(frozen=True)
class CitizenAccess:
    """One service's citizen access: its wording and the staff roles that replace a token.

    `case_noun` names the case as a citizen knows it ("permohonan", "laporan"); `service`
    is the name staff know the service by.
    """

    case_noun: str
    service: str
    staff_roles: tuple[str, ...]

    @property
    def doc(self) -> dict[str, Any]:
        return token_doc(self.case_noun)

    def check(self, secret: str | None, stored_hash: str | None) -> None:
        """403 unless `secret` is the token of the case whose hash is `stored_hash`."""
        if not token_matches(secret, stored_hash):
            raise Forbidden(f"Token akses tidak sesuai untuk {self.case_noun} ini.")

    def caller(self) -> tuple[Principal | None, str | None]:
        """(staff, None) for a valid bearer token, (None, token) for a citizen's token.

        401 with neither; 403 for staff whose roles do not reach this service. A bearer
        token that is sent but invalid is a 401 too (never a fallback to the case token).
        """
        principal = current_principal()
        if principal is not None:
            if not principal.has_role(*self.staff_roles):
                raise Forbidden(f"Peran Anda tidak mencakup layanan {self.service}.")
            return principal, None
        token = request.headers.get(TOKEN_HEADER)
        if not token:
            raise Unauthenticated(
                f"Sertakan token akses {self.case_noun} pada header {TOKEN_HEADER}, "
                "atau masuk sebagai petugas."
            )
        return None, token

    def token(self) -> str:
        """The citizen's token for an action only the citizen takes; 401 without one."""
        token = request.headers.get(TOKEN_HEADER)
        if not token:
            raise Unauthenticated(
                f"Sertakan token akses {self.case_noun} pada header {TOKEN_HEADER}."
            )
        return token


def citizen_rate_limited(view: Callable) -> Callable:
    """The public rate limit for citizens; staff with a valid bearer token are not
    throttled, as a whole office may share one address.

    The decision is authentication's own result, not the header's presence: a header that
    authentication reads as no credentials (one non-breaking space) or refuses (a forged
    or expired token, an unknown OPD) is counted like any citizen's request."""
    limited = public_rate_limited(view)

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if authenticated_principal() is not None:
            return view(*args, **kwargs)
        return limited(*args, **kwargs)

    wrapper.rate_limited = True  # type: ignore[attr-defined]
    return wrapper


# -- a lost token ----------------------------------------------------------------------------


class ReissueSchema(forms.Base):
    """The body of a request for a new token: the address given in the submission."""

    email = forms.Email(
        required=True, metadata={"description": "Alamat email yang dicantumkan saat pengajuan."}
    )

    @pre_load
    def _strip(self, data: Any, **_: Any) -> Any:
        # An address pasted with a stray space is still the address.
        if isinstance(data, dict) and isinstance(data.get("email"), str):
            return {**data, "email": data["email"].strip()}
        return data


class ReissueAnswerSchema(Schema):
    message = fields.String(metadata={"description": "Jawaban yang sama untuk setiap permintaan."})


REISSUE_ANSWER = (
    "Jika nomor dan alamat email sesuai dengan data pengajuan, token akses baru dikirim ke "
    "alamat itu dalam beberapa menit, dan token yang lama tidak berlaku lagi. Periksa juga "
    "folder spam."
)


@dataclass(frozen=True)
class LostToken:
    """What a service supplies for re-issuing its case tokens.

    contact_email(session, number): the e-mail address the citizen gave, or None (no such
        case, or none given). A malformed number is simply None.
    store_hash(session, number, token_hash): replace the case's stored hash.
    mail(number, secret): the wording of the mail carrying the new token.
    """

    contact_email: Callable[[Session, str], str | None]
    store_hash: Callable[[Session, str, str], None]
    mail: Callable[[str, str], MailContent]


def hash_stored_in(table: Table) -> Callable[[Session, str, str], None]:
    """`LostToken.store_hash` for a case table with `number` and `access_token_hash`.

    A table update rather than the ORM's: the token is no part of what staff edit, so the
    record's version (its ETag) stays as it is.
    """

    def store(session: Session, number: str, token_hash: str) -> None:
        session.execute(update(table).where(table.c.number == number).values(access_token_hash=token_hash))

    return store


def normalise_email(address: str | None) -> str:
    """The form two addresses are compared in: trimmed, case folded."""
    return (address or "").strip().casefold()


def same_address(given: str | None, stored: str | None) -> bool:
    """Constant-time comparison of two e-mail addresses after normalising them.

    Both sides are hashed first so that not even their lengths show in the timing; an
    absent address matches nothing.
    """
    a, b = normalise_email(given), normalise_email(stored)
    equal = hmac.compare_digest(hashlib.sha256(a.encode()).digest(), hashlib.sha256(b.encode()).digest())
    return equal and bool(a) and bool(b)


def reissue_token(rt: Any, number: str, email: str, lost: LostToken) -> bool:
    """Give the case `number` a new token and mail it, if `email` is the case's address.

    The mail goes out before the new hash is stored: if it cannot be sent, the old token
    keeps working and nothing changed; once it is sent, the old token stops working with
    the next commit. Returns whether a token was sent, for tests: callers must not tell.
    """
    mailer = Mailer(rt.settings)
    if not mailer.enabled:
        log.warning("access token not re-issued: mail is off (SMTP_HOST unset)",
                    extra={"number": number})
        return False
    with rt.uow() as uow:
        stored = lost.contact_email(uow.session, number)
    if not same_address(email, stored):
        return False
    secret, token_hash = issue_token()
    content = lost.mail(number, secret)
    try:
        with mailer:
            mailer.send_message(mailer.compose(stored, content.subject, content.text, content.html))
    except MailError as exc:
        # The server's own text may quote the address, so only the verdict is logged.
        log.warning("access token not re-issued: the mail was not sent",
                    extra={"number": number, "permanent": exc.permanent})
        return False
    with rt.uow() as uow:
        lost.store_hash(uow.session, number, token_hash)
        uow.commit()
    log.info("access token re-issued", extra={"number": number})
    return True


# -- work after the answer -------------------------------------------------------------------


def run_detached(work: Callable[[], Any], app: Flask | None = None) -> Future:
    """Run `work` on the app's one background thread, after the current answer.

    For work whose duration must not show in the answer (a lookup that may or may not
    match) or must not hold a web worker (an SMTP round trip). Work queued when the process
    stops still runs before it exits; failures are logged, never raised to the caller.
    """
    app = app or current_app._get_current_object()
    state = app.extensions.setdefault(_EXTENSION_KEY, {"lock": threading.Lock(), "futures": set()})
    with state["lock"]:
        executor = state.get("executor")
        if executor is None:
            # Created on first use, so in the worker process after gunicorn's fork.
            executor = state["executor"] = ThreadPoolExecutor(1, thread_name_prefix="detached")
        future = executor.submit(_logged, work)
        state["futures"].add(future)
    future.add_done_callback(state["futures"].discard)
    return future


def reissue_after_answer(reissue: Callable[[Any, str, str], Any], number: str, email: str) -> dict[str, str]:
    """The answer to a lost-token request, the same whether anything matched; the
    service's `reissue(rt, number, email)` runs after it, so its timing tells nothing."""
    rt = runtime()
    run_detached(lambda: reissue(rt, number, email))
    return {"message": REISSUE_ANSWER}


def wait_detached(app: Flask, timeout: float = 30.0) -> bool:
    """Wait until the app's detached work is done; True when nothing is left running."""
    state = app.extensions.get(_EXTENSION_KEY)
    if not state:
        return True
    with state["lock"]:
        pending: Iterable[Future] = list(state["futures"])
    _, not_done = wait(pending, timeout=timeout)
    return not not_done


def _logged(work: Callable[[], Any]) -> Any:
    try:
        return work()
    except Exception:
        log.exception("detached work failed")
        raise
