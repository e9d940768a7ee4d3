"""Authoring beyond the workflow: revisions and their diff, threaded comments, the staff
list, and assignments closed by the article that covers them."""

from __future__ import annotations

from datetime import datetime

from tests.siber.support import API, EDITOR, HUMAS, WIB, headers
from tests.support import search_plan


def test_every_save_is_a_revision_and_any_two_can_be_compared(siber):
    article = siber.create("dinkes", body_html="<p>Paragraf satu.</p><p>Paragraf dua.</p>")
    siber.update(article["id"], {"body_html": "<p>Paragraf satu.</p><p>Paragraf dua diubah.</p>", "tags": ["gizi"]})
    siber.submit(article["id"])
    siber.update(article["id"], {"title": "Judul Hasil Suntingan Redaktur"}, role=EDITOR, opd=None)
    listed = siber.http.get(f"{API}/articles/{article['id']}/revisions", headers=headers(HUMAS, "dinkes")).get_json()
    assert [(r["number"], r["author_role"]) for r in listed] == [(1, "author"), (2, "author"), (3, "newsroom")]
    second = siber.http.get(f"{API}/articles/{article['id']}/revisions/2", headers=headers(EDITOR)).get_json()
    assert second["tags"] == ["gizi"] and "diubah" in second["body_html"]

    diff = siber.http.get(f"{API}/articles/{article['id']}/diff?base=1&to=3", headers=headers(EDITOR))
    assert diff.status_code == 200, diff.get_json()
    changes = {c["field"]: c["diff"] for c in diff.get_json()["changes"]}
    assert set(changes) == {"title", "body_html", "tags"}
    assert "-<p>Paragraf dua.</p>" in changes["body_html"] and "+<p>Paragraf dua diubah.</p>" in changes["body_html"]
    assert " <p>Paragraf satu.</p>" in changes["body_html"]
    assert "+Judul Hasil Suntingan Redaktur" in changes["title"]
    missing = siber.http.get(f"{API}/articles/{article['id']}/diff?base=1&to=99", headers=headers(EDITOR))
    assert missing.status_code == 404


def test_comments_are_threaded_and_private_to_staff(siber):
    article = siber.create("dinkes")
    url = f"{API}/articles/{article['id']}/comments"
    first = siber.http.post(url, json={"body": "Mohon tambahkan foto kegiatan."}, headers=headers(EDITOR))
    assert first.status_code == 201
    reply = siber.http.post(url, json={"body": "Baik, segera.", "parent_id": first.get_json()["id"]},
                            headers=headers(HUMAS, "dinkes"))
    assert reply.status_code == 201
    thread = siber.http.get(url, headers=headers(HUMAS, "dinkes")).get_json()
    assert len(thread) == 1 and thread[0]["replies"][0]["body"] == "Baik, segera."
    assert siber.http.get(url).status_code == 401
    assert siber.http.get(url, headers=headers(HUMAS, "disdik")).status_code == 404
    other = siber.create("dinkes")
    stray = siber.http.post(f"{API}/articles/{other['id']}/comments", headers=headers(EDITOR),
                            json={"body": "Balasan salah tempat.", "parent_id": first.get_json()["id"]})
    assert stray.status_code == 422 and "parent_id" in stray.get_json()["errors"]


def test_the_staff_list_is_scoped_filtered_and_searched(siber):
    siber.create("dlh", title="Penanaman Mangrove di Pesisir Kapuas")
    siber.create("dishub", title="Uji Kelayakan Angkutan Sungai")
    mine = siber.http.get(f"{API}/articles?page_size=100", headers=headers(HUMAS, "dlh")).get_json()
    assert mine and {a["opd"] for a in mine} == {"dlh"}
    found = siber.http.get(f"{API}/articles?q=mangrove", headers=headers(EDITOR)).get_json()
    assert [a["title"] for a in found] == ["Penanaman Mangrove di Pesisir Kapuas"]
    elsewhere = siber.http.get(f"{API}/articles?opd=dishub", headers=headers(HUMAS, "dlh")).get_json()
    assert elsewhere == []
    drafts = siber.http.get(f"{API}/articles?status=draft&opd=dishub", headers=headers(EDITOR))
    assert drafts.status_code == 200 and {a["status"] for a in drafts.get_json()} == {"draft"}
    assert "X-Pagination" in drafts.headers


def test_an_assignment_is_fulfilled_by_the_article_that_covers_it(siber):
    due = datetime(2026, 3, 10, 12, 0, tzinfo=WIB)
    body = {"opd": "dinkes", "title": "Peluncuran Vaksinasi HPV", "event_date": "2026-03-09", "due_at": due.isoformat()}
    assert siber.http.post(f"{API}/assignments", json=body, headers=headers(HUMAS, "dinkes")).status_code == 403
    created = siber.http.post(f"{API}/assignments", json=body, headers=headers(EDITOR))
    assert created.status_code == 201, created.get_json()
    assignment = created.get_json()
    assert siber.http.get(f"{API}/assignments", headers=headers(HUMAS, "disdik")).get_json() == []
    article = siber.create("dinkes", title="Vaksinasi HPV Diluncurkan di Kapuas")
    cover = f"{API}/assignments/{assignment['id']}/fulfilment"
    draft = siber.http.post(cover, json={"article_id": article["id"]},
                            headers={**headers(HUMAS, "dinkes"), "If-Match": created.headers["ETag"]})
    assert draft.status_code == 422  # a draft covers nothing yet
    siber.submit(article["id"])
    done = siber.http.post(cover, json={"article_id": article["id"]},
                           headers={**headers(HUMAS, "dinkes"), "If-Match": created.headers["ETag"]})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["status"] == "fulfilled" and done.get_json()["article_id"] == article["id"]
    mine = [e for e in siber.events() if e["subject"] == f"assignments/{assignment['id']}"]
    assert [e["type"] for e in mine] == ["siber.assignment.created", "siber.assignment.fulfilled"]
    start = mine[0]["data"]["sla"]["start"][0]
    assert start["clock"] == "siber.assignment" and start["due_at"] == "2026-03-10T05:00:00Z"
    assert start["role"] == "humas" and start["opd"] == "dinkes"
    assert mine[1]["data"]["sla"] == {"stop": [{"clock": "siber.assignment"}]}


def test_an_assignment_in_the_past_is_refused_and_one_can_be_cancelled(siber):
    past = {"opd": "dinkes", "title": "Kegiatan yang sudah lewat", "event_date": "2026-03-01",
            "due_at": "2026-03-01T10:00:00+07:00"}
    refused = siber.http.post(f"{API}/assignments", json=past, headers=headers(EDITOR))
    assert refused.status_code == 422 and "due_at" in refused.get_json()["errors"]
    created = siber.http.post(f"{API}/assignments", headers=headers(EDITOR), json={
        **past, "event_date": "2026-03-04", "due_at": "2026-03-05T10:00:00+07:00"})
    url = f"{API}/assignments/{created.get_json()['id']}/cancellation"
    cancelled = siber.http.post(url, headers={**headers(EDITOR), "If-Match": created.headers["ETag"]})
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    again = siber.http.post(url, headers={**headers(EDITOR), "If-Match": cancelled.headers["ETag"]})
    assert again.status_code == 409
    last = siber.events()[-1]
    assert last["type"] == "siber.assignment.cancelled"
    assert last["data"]["sla"] == {"stop": [{"clock": "siber.assignment", "outcome": "cancelled"}]}


def test_postgresql_answers_q_from_the_index_the_migration_built(make_pg_database):
    from services.common.migrations import upgrade
    from services.siber.models import ARTICLE_SEARCH, Article

    url = make_pg_database("simpul_siber")
    upgrade("siber", url)
    plan = search_plan(url, ARTICLE_SEARCH, Article.id, "posyandu")
    assert "ix_articles_search" in plan, plan
