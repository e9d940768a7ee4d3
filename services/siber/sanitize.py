"""The article body as the public site may show it: nh3 (ammonia) with a small tag set.

What survives is structure and emphasis; no script, style, iframe, form, event handler or
`javascript:` link. Disallowed tags are removed (their text kept), the contents of `script`
and `style` dropped entirely, and every link opened without giving the target page a handle
on ours.
"""

from __future__ import annotations

TAGS = frozenset({
    "p", "br", "strong", "b", "em", "i", "u", "s", "sub", "sup",
    "h2", "h3", "h4", "blockquote", "ul", "ol", "li", "a",
    "table", "thead", "tbody", "tr", "th", "td", "caption", "hr",
})
ATTRIBUTES = {"a": {"href", "title"}, "th": {"colspan", "rowspan"}, "td": {"colspan", "rowspan"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Removed with what they contain: their text is code or styling, never news.
CLEAN_CONTENT_TAGS = frozenset({"script", "style", "noscript", "template", "iframe", "object", "svg", "math"})


def sanitize_html(html: str) -> str:
    """`html` reduced to the safe tag set; the same input always gives the same output."""
    # nh3 loads with the first article a worker saves: the public site only reads bodies
    # sanitised when they were written, and need not carry the library.
    import nh3

    return nh3.clean(
        html,
        tags=set(TAGS),
        clean_content_tags=set(CLEAN_CONTENT_TAGS),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    ).strip()


def plain_text(html: str) -> str:
    """The body's words without any tag, for search and summaries."""
    import nh3

    return nh3.clean(html, tags=set(), clean_content_tags=set(CLEAN_CONTENT_TAGS)).strip()
