"""SIBER's pure rules: the article workflow, who may do what, slugs. No I/O, no clock.

    draft ─submit→ submitted ─claim→ in_review ─request_revision→ revision_requested
                                                    ─resubmit→ submitted …
    submitted / in_review ─approve→ approved ─schedule→ scheduled ─(time)→ published
    submitted / in_review / approved / scheduled ─publish→ published
    published ─correct→ published (a visible note) · published ─take_down→ taken_down
    submitted / in_review / revision_requested / approved / scheduled ─reject→ rejected (final)

Only editors move an article past `submitted`; only the author's OPD edits a draft or a
returned article; editors edit what waits for them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from services.common.errors import Conflict, Forbidden
from services.common.scope import OpdScope, ScopeRule

HUMAS, EDITOR, ADMIN, OPD_HEAD = "humas", "siber_editor", "admin", "opd_head"
STAFF_ROLES = (HUMAS, EDITOR, ADMIN)

DRAFT, SUBMITTED, IN_REVIEW = "draft", "submitted", "in_review"
REVISION_REQUESTED, APPROVED, SCHEDULED = "revision_requested", "approved", "scheduled"
PUBLISHED, REJECTED, TAKEN_DOWN = "published", "rejected", "taken_down"
ARTICLE_STATES = (
    DRAFT, SUBMITTED, IN_REVIEW, REVISION_REQUESTED, APPROVED, SCHEDULED, PUBLISHED, REJECTED, TAKEN_DOWN,
)
# States the public may see (a taken-down article is kept for the record, its body hidden).
PUBLIC_STATES = (PUBLISHED,)

OPEN, FULFILLED, CANCELLED = "open", "fulfilled", "cancelled"
ASSIGNMENT_STATES = (OPEN, FULFILLED, CANCELLED)

# Who acts: the author's OPD (humas) or the newsroom (editors, the administrator).
AUTHOR, NEWSROOM = "author", "newsroom"


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[str, ...]
    target: str
    actor: str


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition("submit", (DRAFT,), SUBMITTED, AUTHOR),
        Transition("resubmit", (REVISION_REQUESTED,), SUBMITTED, AUTHOR),
        Transition("claim", (SUBMITTED,), IN_REVIEW, NEWSROOM),
        Transition("request_revision", (SUBMITTED, IN_REVIEW), REVISION_REQUESTED, NEWSROOM),
        Transition("approve", (SUBMITTED, IN_REVIEW), APPROVED, NEWSROOM),
        Transition("schedule", (APPROVED, SCHEDULED), SCHEDULED, NEWSROOM),
        Transition("publish", (SUBMITTED, IN_REVIEW, APPROVED, SCHEDULED), PUBLISHED, NEWSROOM),
        Transition("correct", (PUBLISHED,), PUBLISHED, NEWSROOM),
        Transition("take_down", (PUBLISHED,), TAKEN_DOWN, NEWSROOM),
        Transition(
            "reject", (SUBMITTED, IN_REVIEW, REVISION_REQUESTED, APPROVED, SCHEDULED), REJECTED, NEWSROOM
        ),
    )
}

# The states in which an editor still owes the author an answer (the `siber.review` clock runs).
AWAITING_EDITOR = (SUBMITTED, IN_REVIEW)
# Who may change the text in each state.
EDITABLE_BY = {
    DRAFT: AUTHOR,
    REVISION_REQUESTED: AUTHOR,
    SUBMITTED: NEWSROOM,
    IN_REVIEW: NEWSROOM,
    APPROVED: NEWSROOM,
    SCHEDULED: NEWSROOM,
}

STATE_LABELS = {
    DRAFT: "draf",
    SUBMITTED: "diajukan",
    IN_REVIEW: "sedang ditinjau",
    REVISION_REQUESTED: "perlu revisi",
    APPROVED: "disetujui",
    SCHEDULED: "dijadwalkan",
    PUBLISHED: "terbit",
    REJECTED: "ditolak",
    TAKEN_DOWN: "diturunkan",
}

# Editors and the administrator see every OPD; humas and heads of office their own.
SCOPE_RULE = ScopeRule.of(everywhere={EDITOR, ADMIN}, regency={EDITOR, ADMIN}, own_opd={HUMAS, OPD_HEAD})


def scope_of(principal) -> OpdScope:
    return SCOPE_RULE.scope_of(principal)


def actor_of(principal) -> str | None:
    """Whether `principal` acts as the newsroom, as an OPD's author, or neither."""
    if principal is None:
        return None
    if principal.has_role(EDITOR, ADMIN):
        return NEWSROOM
    if principal.has_role(HUMAS) and principal.opd:
        return AUTHOR
    return None


def check_author_opd(principal, opd: str) -> None:
    """A humas writes for its own OPD only."""
    if actor_of(principal) == AUTHOR and principal.opd != opd:
        raise Forbidden("Operator humas hanya dapat menulis berita untuk OPD-nya sendiri.")


def check_transition(status: str, action: str, actor: str | None) -> str:
    """The state `action` leads to from `status` when `actor` takes it; raises otherwise."""
    transition = TRANSITIONS[action]
    if actor != transition.actor:
        if transition.actor == NEWSROOM:
            raise Forbidden("Hanya redaktur Diskominfo yang dapat melakukan tindakan ini.")
        raise Forbidden("Hanya operator humas OPD penulis yang dapat melakukan tindakan ini.")
    if status not in transition.sources:
        raise Conflict(
            f"Berita berstatus {STATE_LABELS[status]} tidak dapat "
            f"{ACTION_LABELS[action]}."
        )
    return transition.target


ACTION_LABELS = {
    "submit": "diajukan",
    "resubmit": "diajukan kembali",
    "claim": "diambil untuk ditinjau",
    "request_revision": "dikembalikan untuk revisi",
    "approve": "disetujui",
    "schedule": "dijadwalkan",
    "publish": "diterbitkan",
    "correct": "dikoreksi",
    "take_down": "diturunkan",
    "reject": "ditolak",
}


def check_editable(status: str, actor: str | None) -> None:
    """Whether `actor` may change the article's text in `status`."""
    allowed = EDITABLE_BY.get(status)
    if allowed is None:
        raise Conflict(f"Berita berstatus {STATE_LABELS[status]} tidak dapat diubah lagi.")
    if actor != allowed:
        if allowed == AUTHOR:
            raise Forbidden("Berita ini sedang di tangan penulisnya; redaktur tidak dapat mengubahnya.")
        raise Forbidden("Berita ini sedang di tangan redaktur; penulis tidak dapat mengubahnya.")


def answers_review(status_before: str, status_after: str) -> bool:
    """An editor's answer ends the review duty: the article leaves the editors' queue."""
    return status_before in AWAITING_EDITOR and status_after not in AWAITING_EDITOR


def is_public(status: str) -> bool:
    return status in PUBLIC_STATES


_NOT_SLUG = re.compile(r"[^a-z0-9]+")
SLUG_WORDS_MAX = 120


def slugify(title: str) -> str:
    """`Bupati Resmikan Jembatan Tumbang Nusa` → `bupati-resmikan-jembatan-tumbang-nusa`."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_SLUG.sub("-", ascii_title.lower()).strip("-")
    return slug[:SLUG_WORDS_MAX].rstrip("-") or "berita"


def unique_slug(base: str, article_id: int) -> str:
    """Slugs are unique: the article's id follows its words (`…-nusa-42`)."""
    return f"{base}-{article_id}"


_TAG = re.compile(r"[^a-z0-9]+")


def normalise_tag(tag: str) -> str:
    """Tags are compared as lower-case words joined with hyphens (`Kesehatan Ibu` → `kesehatan-ibu`)."""
    ascii_tag = unicodedata.normalize("NFKD", tag).encode("ascii", "ignore").decode("ascii")
    return _TAG.sub("-", ascii_tag.lower()).strip("-")[:50].rstrip("-")


def normalise_tags(tags: list[str]) -> list[str]:
    seen: list[str] = []
    for tag in tags:
        code = normalise_tag(tag)
        if code and code not in seen:
            seen.append(code)
    return seen


def allowed_actions(status: str, actor: str | None) -> list[str]:
    """What `actor` can do to an article in `status`: `edit` and the workflow's actions."""
    actions = ["edit"] if actor is not None and EDITABLE_BY.get(status) == actor else []
    actions += [t.action for t in TRANSITIONS.values() if t.actor == actor and status in t.sources]
    return actions
