"""The pure rules of the newsroom: transitions, who may take them, who edits when, slugs, tags."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from services.common.errors import Conflict, Forbidden
from services.siber import domain
from services.siber.domain import (
    APPROVED,
    AUTHOR,
    DRAFT,
    IN_REVIEW,
    NEWSROOM,
    PUBLISHED,
    REJECTED,
    REVISION_REQUESTED,
    SCHEDULED,
    SUBMITTED,
    TAKEN_DOWN,
)


def principal(*roles, opd=None):
    return SimpleNamespace(roles=frozenset(roles), opd=opd, sub="x", name="X",
                           has_role=lambda *wanted: any(r in roles for r in wanted))


@pytest.mark.parametrize(("status", "action", "actor", "target"), [
    (DRAFT, "submit", AUTHOR, SUBMITTED),
    (REVISION_REQUESTED, "resubmit", AUTHOR, SUBMITTED),
    (SUBMITTED, "claim", NEWSROOM, IN_REVIEW),
    (SUBMITTED, "request_revision", NEWSROOM, REVISION_REQUESTED),
    (IN_REVIEW, "request_revision", NEWSROOM, REVISION_REQUESTED),
    (IN_REVIEW, "approve", NEWSROOM, APPROVED),
    (APPROVED, "schedule", NEWSROOM, SCHEDULED),
    (SCHEDULED, "schedule", NEWSROOM, SCHEDULED),
    (SCHEDULED, "publish", NEWSROOM, PUBLISHED),
    (IN_REVIEW, "publish", NEWSROOM, PUBLISHED),
    (PUBLISHED, "correct", NEWSROOM, PUBLISHED),
    (PUBLISHED, "take_down", NEWSROOM, TAKEN_DOWN),
    (REVISION_REQUESTED, "reject", NEWSROOM, REJECTED),
])
def test_allowed_transitions(status, action, actor, target):
    assert domain.check_transition(status, action, actor) == target


@pytest.mark.parametrize(("status", "action"), [
    (DRAFT, "publish"), (DRAFT, "approve"), (REJECTED, "publish"), (REJECTED, "resubmit"),
    (TAKEN_DOWN, "publish"), (PUBLISHED, "reject"), (APPROVED, "claim"), (SUBMITTED, "correct"),
])
def test_impossible_transitions_are_conflicts(status, action):
    actor = domain.TRANSITIONS[action].actor
    with pytest.raises(Conflict):
        domain.check_transition(status, action, actor)


def test_only_editors_move_past_submitted_and_only_authors_submit():
    with pytest.raises(Forbidden, match="redaktur"):
        domain.check_transition(SUBMITTED, "approve", AUTHOR)
    with pytest.raises(Forbidden, match="humas"):
        domain.check_transition(DRAFT, "submit", NEWSROOM)
    with pytest.raises(Forbidden):
        domain.check_transition(DRAFT, "submit", None)


def test_who_edits_in_which_state():
    domain.check_editable(DRAFT, AUTHOR)
    domain.check_editable(REVISION_REQUESTED, AUTHOR)
    domain.check_editable(IN_REVIEW, NEWSROOM)
    with pytest.raises(Forbidden):
        domain.check_editable(DRAFT, NEWSROOM)
    with pytest.raises(Forbidden):
        domain.check_editable(SUBMITTED, AUTHOR)
    for final in (PUBLISHED, REJECTED, TAKEN_DOWN):
        with pytest.raises(Conflict):
            domain.check_editable(final, NEWSROOM)


def test_the_review_is_answered_when_the_article_leaves_the_editors_queue():
    assert domain.answers_review(SUBMITTED, REVISION_REQUESTED)
    assert domain.answers_review(IN_REVIEW, APPROVED)
    assert domain.answers_review(SUBMITTED, PUBLISHED)
    assert not domain.answers_review(SUBMITTED, IN_REVIEW)  # a claim is no answer
    assert not domain.answers_review(APPROVED, PUBLISHED)


def test_actors_and_scopes():
    humas = principal("humas", opd="dinkes")
    editor = principal("siber_editor")
    head = principal("opd_head", opd="dinkes")
    assert domain.actor_of(humas) == AUTHOR and domain.actor_of(editor) == NEWSROOM
    assert domain.actor_of(principal("humas")) is None  # a humas token without its OPD
    assert domain.actor_of(head) is None
    assert domain.scope_of(humas).allows("dinkes") and not domain.scope_of(humas).allows("disdik")
    assert domain.scope_of(editor).allows("disdik")
    assert domain.scope_of(head).allows("dinkes") and not domain.scope_of(head).allows("dlh")
    with pytest.raises(Forbidden):
        domain.check_author_opd(humas, "disdik")
    domain.check_author_opd(editor, "disdik")


def test_allowed_actions_follow_the_rules():
    assert domain.allowed_actions(DRAFT, AUTHOR) == ["edit", "submit"]
    assert domain.allowed_actions(SUBMITTED, AUTHOR) == []
    assert set(domain.allowed_actions(SUBMITTED, NEWSROOM)) == {
        "edit", "claim", "request_revision", "approve", "publish", "reject"}
    assert domain.allowed_actions(PUBLISHED, NEWSROOM) == ["correct", "take_down"]
    assert domain.allowed_actions(REJECTED, NEWSROOM) == []


@pytest.mark.parametrize(("title", "slug"), [
    ("Bupati Resmikan Jembatan Tumbang Nusa", "bupati-resmikan-jembatan-tumbang-nusa"),
    ("  HUT ke-76 RI: Upacara di Alun-Alun!  ", "hut-ke-76-ri-upacara-di-alun-alun"),
    ("Café Désa — Pelatihan UMKM", "cafe-desa-pelatihan-umkm"),
    ("!!!", "berita"),
    ("کاپواس", "berita"),
])
def test_slugs(title, slug):
    assert domain.slugify(title) == slug


def test_slugs_are_bounded_and_tags_normalised():
    assert len(domain.slugify("kata " * 100)) <= domain.SLUG_WORDS_MAX
    assert domain.unique_slug("posyandu", 42) == "posyandu-42"
    assert domain.normalise_tags(["Kesehatan Ibu", "kesehatan-ibu", "  ", "UMKM", "Désa"]) == [
        "kesehatan-ibu", "umkm", "desa"]
