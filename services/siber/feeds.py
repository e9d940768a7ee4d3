"""Feeds of published articles: RSS 2.0 and Atom (feedgen) and JSON Feed 1.1, from plain values.

Nothing here reads the database or the request: the public API hands in a `FeedInfo` and the
newest `FeedEntry`s and gets back the document and its validators. An entry's id is its
tag: URI, fixed when the article was first published and never its title or slug, so a
reader that saw it once never shows it twice. The ETag is computed from the entries' ids
and update instants alone, so a conditional GET is answered before a document is built.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from feedgen.feed import FeedGenerator

RSS = "rss"
ATOM = "atom"
JSON = "json"
FORMATS = (RSS, ATOM, JSON)
CONTENT_TYPES = {
    RSS: "application/rss+xml; charset=utf-8",
    ATOM: "application/atom+xml; charset=utf-8",
    JSON: "application/feed+json; charset=utf-8",
}
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
LANGUAGE = "id"
GENERATOR = "SIBER"


@dataclass(frozen=True)
class FeedEntry:
    id: str
    url: str
    title: str
    summary: str
    content_html: str
    published: datetime
    updated: datetime
    author: str
    tags: tuple[str, ...] = ()
    image: str | None = None


@dataclass(frozen=True)
class FeedInfo:
    id: str
    title: str
    description: str
    home_url: str
    feed_urls: dict[str, str] = field(default_factory=dict)
    author: str = ""


def tag_uri(authority: str, since: datetime, path: str) -> str:
    """An RFC 4151 tag URI: `tag:<authority>,<YYYY-MM-DD>:<path>`."""
    return f"tag:{authority},{since.astimezone(UTC).date().isoformat()}:{path}"


def last_modified(entries: Sequence[FeedEntry]) -> datetime | None:
    return max((entry.updated for entry in entries), default=None)


def etag(kind: str, info_id: str, entries: Sequence[FeedEntry]) -> str:
    """A weak validator: the same entries give an equivalent document whatever its build time."""
    digest = hashlib.sha256(f"{kind}\n{info_id}".encode())
    for entry in entries:
        digest.update(f"\n{entry.id}\t{entry.updated.astimezone(UTC).isoformat()}".encode())
    return f'W/"{digest.hexdigest()[:32]}"'


def _generator(kind: str, info: FeedInfo, entries: Sequence[FeedEntry], built_at: datetime
               ) -> FeedGenerator:
    generator = FeedGenerator()
    generator.id(info.id)
    generator.title(info.title)
    generator.subtitle(info.description)
    generator.description(info.description)
    generator.language(LANGUAGE)
    generator.generator(GENERATOR)
    generator.author({"name": info.author or info.title})
    # feedgen gives RSS's one channel <link> the last link set: the site, not the feed.
    if kind in info.feed_urls:
        generator.link(href=info.feed_urls[kind], rel="self")
    generator.link(href=info.home_url, rel="alternate")
    updated = last_modified(entries) or built_at
    generator.updated(updated)
    generator.lastBuildDate(updated)
    for item in entries:
        entry = generator.add_entry(order="append")
        entry.id(item.id)
        entry.guid(item.id, permalink=False)
        entry.title(item.title)
        entry.link(href=item.url, rel="alternate")
        entry.summary(item.summary or item.title)
        entry.content(item.content_html, type="html")
        entry.published(item.published)
        entry.updated(item.updated)
        entry.author({"name": item.author})
        for tag in item.tags:
            entry.category(term=tag, label=tag)
    return generator


def rss(info: FeedInfo, entries: Sequence[FeedEntry], *, built_at: datetime) -> bytes:
    return _generator(RSS, info, entries, built_at).rss_str(pretty=False)


def atom(info: FeedInfo, entries: Sequence[FeedEntry], *, built_at: datetime) -> bytes:
    return _generator(ATOM, info, entries, built_at).atom_str(pretty=False)


def json_feed(info: FeedInfo, entries: Sequence[FeedEntry]) -> dict:
    """A JSON Feed 1.1 document (https://jsonfeed.org/version/1.1)."""
    document: dict = {
        "version": JSON_FEED_VERSION,
        "title": info.title,
        "home_page_url": info.home_url,
        "description": info.description,
        "language": LANGUAGE,
        "authors": [{"name": info.author or info.title}],
        "items": [_json_item(entry) for entry in entries],
    }
    if JSON in info.feed_urls:
        document["feed_url"] = info.feed_urls[JSON]
    return document


def _json_item(entry: FeedEntry) -> dict:
    item = {
        "id": entry.id,
        "url": entry.url,
        "title": entry.title,
        "summary": entry.summary,
        "content_html": entry.content_html,
        "date_published": entry.published.isoformat(),
        "date_modified": entry.updated.isoformat(),
        "authors": [{"name": entry.author}],
        "tags": list(entry.tags),
        "language": LANGUAGE,
    }
    if entry.image:
        item["image"] = entry.image
    return item


def render(kind: str, info: FeedInfo, entries: Sequence[FeedEntry], *, built_at: datetime
           ) -> bytes | dict:
    if kind == RSS:
        return rss(info, entries, built_at=built_at)
    if kind == ATOM:
        return atom(info, entries, built_at=built_at)
    if kind == JSON:
        return json_feed(info, entries)
    raise ValueError(f"unknown feed format {kind!r}")
