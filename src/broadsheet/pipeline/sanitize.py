"""The last step before publisher HTML reaches a reader: an allowlist sanitizer (nh3/ammonia).

trafilatura's HTML keeps ``javascript:`` links in every spelling and mutated markup can smuggle an
``onerror`` through (KNOWN-FAULTS), and regexes cannot fix that: a real HTML5 parser with an
allowlist can. Everything that is not listed below is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import nh3

ALLOWED_TAGS = frozenset(
    {
        "p", "h2", "h3", "h4", "ul", "ol", "li", "blockquote", "a", "em", "strong", "b", "i",
        "figure", "figcaption", "img", "br", "hr", "q", "cite", "code", "pre",
        "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption",
    }
)  # fmt: skip

ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "th": {"colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
}

URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"

# Dropped with their content (not just unwrapped): their text is code, not prose.
_CLEAN_CONTENT_TAGS = frozenset(
    {"script", "style", "template", "iframe", "noscript", "object", "embed", "svg", "math",
     "textarea", "select", "button", "form", "frameset", "frame", "noembed", "xmp"}
)  # fmt: skip


def _url_filter(base_url: str | None) -> Callable[[str, str, str], str | None]:
    def attribute_filter(tag: str, attr: str, value: str) -> str | None:
        if attr not in {"href", "src"}:
            return value
        # ammonia has already refused bad schemes; only relative URLs are left to resolve. The
        # resolved URL is checked again because resolution is where a scheme could appear.
        url = urljoin(base_url, value.strip()) if base_url else value.strip()
        scheme = urlsplit(url).scheme.lower()
        allowed = {"http", "https"} if tag == "img" else URL_SCHEMES
        if scheme and scheme not in allowed:
            return None
        if not scheme and url.startswith("//"):
            return None  # protocol-relative with no base: host unknown, drop
        return url

    return attribute_filter


def sanitize_html(html: str, base_url: str | None = None) -> str:
    """Return ``html`` reduced to the allowlist, with links made safe and absolute.

    Relative ``href``/``src`` values are resolved against ``base_url`` when one is given; links get
    ``rel="noopener noreferrer nofollow"``. Safe to call on any string, however hostile.
    """
    if not html:
        return ""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(_CLEAN_CONTENT_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
        attribute_filter=_url_filter(base_url),
    )
