"""The sitemap (sitemaps.org 0.9) of the published articles, from plain (URL, last change) pairs."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from xml.sax.saxutils import escape

NAMESPACE = "http://www.sitemaps.org/schemas/sitemap/0.9"
CONTENT_TYPE = "application/xml; charset=utf-8"
# The protocol's limit for one file: a larger site needs a sitemap index.
MAX_URLS = 50_000


def sitemap(urls: Iterable[tuple[str, datetime | None]]) -> bytes:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<urlset xmlns="{NAMESPACE}">']
    for count, (location, changed) in enumerate(urls):
        if count >= MAX_URLS:
            break
        lines.append(f"<url><loc>{escape(location)}</loc>")
        if changed is not None:
            stamp = changed.astimezone(UTC).replace(microsecond=0).isoformat()
            lines.append(f"<lastmod>{stamp.replace('+00:00', 'Z')}</lastmod>")
        lines.append("</url>")
    lines.append("</urlset>")
    return "\n".join(lines).encode("utf-8")
