"""The editorial workflow through the API: draft to publication, revision, rejection,
scheduling, correction and take-down, with the events and clocks each step writes."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.siber.support import EDITOR, HUMAS, WIB, headers


def _sla(event: dict) -> dict:
    return event["data"].get("sla", {})


def test_an_article_goes_from_draft_through_revision_to_publication(siber):
    article = siber.create("dinkes")
    assert article["status"] == "draft"
    assert article["allowed_actions"] == ["edit", "submit"]
    assert siber.get(article["id"]).get_json()["allowed_actions"] == []  # the editor waits

    submitted = siber.submit(article["id"])
    assert submitted["status"] == "submitted"
    assert submitted["submitted_at"] is not None

    claimed = siber.act(article["id"], "claim")
    assert claimed.status_code == 200, claimed.get_json()
    assert claimed.get_json()["status"] == "in_review"

    returned = siber.act(article["id"], "request-revision", {"notes": "Tambahkan nama kecamatan."})
    assert returned.get_json()["status"] == "revision_requested"
    assert returned.get_json()["revision_notes"] == "Tambahkan nama kecamatan."

    edited = siber.update(article["id"], {"body_html": "<p>Di Kecamatan Selat dan Kapuas Hilir.</p>"})
    assert edited.status_code == 200, edited.get_json()
    siber.clock.advance(hours=1)
    again = siber.act(article["id"], "resubmit", role=HUMAS, opd="dinkes")
    assert again.get_json()["status"] == "submitted"
    assert again.get_json()["submitted_at"] == submitted["submitted_at"]  # the first one counts

    assert siber.act(article["id"], "approve").get_json()["status"] == "approved"
    published = siber.act(article["id"], "publish")
    assert published.get_json()["status"] == "published"

    mine = [e["type"] for e in siber.events() if e["subject"] == f"articles/{article['id']}"]
    assert mine == [
        "siber.article.submitted", "siber.article.claimed", "siber.article.revision_requested",
        "siber.article.resubmitted", "siber.article.approved", "siber.article.published",
    ]


def test_review_clock_starts_at_submission_and_stops_at_the_editors_answer(siber):
    article = siber.create("disdik")
    siber.submit(article["id"], "disdik")
    siber.act(article["id"], "reject", {"reason": "Bukan kegiatan OPD."})
    mine = [e for e in siber.events() if e["subject"] == f"articles/{article['id']}"]
    submitted, rejected = mine
    start = _sla(submitted)["start"][0]
    assert start["clock"] == "siber.review"
    assert start["role"] == EDITOR and start["opd"] == "diskominfo"
    # one working day after Monday 2 March 2026: Tuesday 23:59:59 WIB
    assert start["due_at"] == "2026-03-03T16:59:59Z"
    assert _sla(rejected) == {"stop": [{"clock": "siber.review"}]}
    assert siber.act(article["id"], "publish").status_code == 409  # rejected is final


def test_only_editors_move_past_submitted_and_humas_act_for_their_own_opd(siber):
    article = siber.create("dinkes")
    assert siber.act(article["id"], "submit", role=HUMAS, opd="disdik").status_code == 404
    siber.submit(article["id"])
    assert siber.act(article["id"], "approve", role=HUMAS, opd="dinkes").status_code == 403
    assert siber.update(article["id"], {"title": "Judul yang diubah penulis"}).status_code == 403
    editor_edit = siber.update(article["id"], {"title": "Judul yang Disunting Redaktur"}, role=EDITOR, opd=None)
    assert editor_edit.status_code == 200


def test_a_stale_etag_is_refused_and_a_missing_one_required(siber):
    article = siber.create("dinkes")
    old = siber.etag(article["id"])
    assert siber.update(article["id"], {"title": "Perubahan pertama judul"}, etag=old).status_code == 200
    stale = siber.update(article["id"], {"title": "Perubahan kedua judul"}, etag=old)
    assert stale.status_code == 412
    assert stale.get_json()["message"].startswith("Data telah diubah")
    response = siber.http.patch(f"/api/v1/articles/{article['id']}", json={"title": "Tanpa ETag sama sekali"},
                                headers=headers(HUMAS, "dinkes"))
    assert response.status_code == 428


def test_scheduled_articles_publish_on_time_once(siber):
    from services.siber import workflow

    article = siber.create("dinkes")
    siber.submit(article["id"])
    siber.act(article["id"], "approve")
    at = datetime(2026, 3, 2, 15, 0, tzinfo=WIB)
    scheduled = siber.act(article["id"], "schedule", {"publish_at": at.isoformat()})
    assert scheduled.get_json()["status"] == "scheduled"
    assert workflow.publish_due(siber.rt) == []
    siber.clock.set(at + timedelta(minutes=1))
    assert workflow.publish_due(siber.rt) == [article["id"]]
    assert workflow.publish_due(siber.rt) == []
    assert siber.get(article["id"]).get_json()["status"] == "published"


def test_a_published_article_is_corrected_then_taken_down(siber):
    article = siber.published("dinkes")
    corrected = siber.act(article["id"], "correct", {"note": "Jumlah balita diperbaiki.",
                                                     "body_html": "<p>Sebanyak 1.250 balita ditimbang.</p>"})
    assert corrected.status_code == 200, corrected.get_json()
    body = corrected.get_json()
    assert body["status"] == "published" and body["correction_note"] == "Jumlah balita diperbaiki."
    down = siber.act(article["id"], "take-down", {"reason": "Atas permintaan OPD."})
    assert down.get_json()["status"] == "taken_down"
    assert down.get_json()["takedown_reason"] == "Atas permintaan OPD."


def test_a_correction_changes_only_what_it_names(siber):
    article = siber.published("dinkes")
    corrected = siber.act(article["id"], "correct", {"note": "Tempat kegiatan diperbaiki.", "body_html": "   "})
    assert corrected.status_code == 200, corrected.get_json()
    assert corrected.get_json()["body_html"] == article["body_html"]
    revisions = siber.http.get(f"/api/v1/articles/{article['id']}/revisions", headers=headers(EDITOR)).get_json()
    assert revisions[-1]["author_role"] == "newsroom"
