"""Fuzz extract_article: on any HTML-ish input it returns an article or raises ExtractionError
(NotAnArticle included), never anything else, and never hangs. Bounded: 30 examples a test."""

from __future__ import annotations

import time

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from broadsheet.errors import ExtractionError  # noqa: E402
from broadsheet.models import ExtractedArticle  # noqa: E402
from broadsheet.pipeline.extract import extract_article  # noqa: E402

TAGS = ["p", "div", "a", "b", "i", "span", "article", "main", "nav", "script", "style", "table",
        "tr", "td", "ul", "li", "h1", "h2", "br", "img", "figure", "button", "meta", "time",
        "template", "svg", "iframe", "section", "aside"]  # fmt: skip
ATTRS = ["class", "id", "href", "src", "style", "hidden", "onerror", "data-x", "datetime", "lang"]
WORDS = st.sampled_from(
    ["The", "minister", "said", "on", "Tuesday", "that", "drones", "Advertisement", "read more",
     "Live Events", "&amp;", "&#xD800;", "&w=3840&q=100)", "23392", "é", "中文", "\x00", "\u202e",
     "javascript:alert(1)", "<!--", "-->", "<![CDATA[", "]]>", ".", ",", " ", "\n"]
)  # fmt: skip


@st.composite
def html_ish(draw: st.DrawFn, depth: int = 0) -> str:
    parts: list[str] = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.integers(0, 4))
        if kind == 0 or depth > 4:
            parts.append(" ".join(draw(st.lists(WORDS, max_size=30))))
        elif kind == 1:
            parts.append(draw(st.text(max_size=40)))
        else:
            tag = draw(st.sampled_from(TAGS))
            attrs = "".join(
                f' {a}="{draw(st.text(max_size=12))}"'
                for a in draw(st.lists(st.sampled_from(ATTRS), max_size=3))
            )
            inner = draw(html_ish(depth + 1))
            close = draw(st.sampled_from([f"</{tag}>", "", "</b>", "</div></div>"]))
            parts.append(f"<{tag}{attrs}>{inner}{close}")
    return "".join(parts)


def _check(data: str | bytes) -> None:
    start = time.monotonic()
    try:
        article = extract_article(data, "https://example.com/news/story")
    except ExtractionError:
        pass
    else:
        assert isinstance(article, ExtractedArticle)
        assert article.text.strip()
        assert "<script" not in article.html.lower()
    assert time.monotonic() - start < 10


FUZZ = settings(
    max_examples=30, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


@pytest.mark.timeout(90)
@FUZZ
@given(body=html_ish(), head=st.sampled_from(["", "<html><head><meta charset=latin-1>", "<?xml"]))
def test_html_ish_never_crashes(head: str, body: str) -> None:
    _check(head + "<body>" + body)


@pytest.mark.timeout(90)
@FUZZ
@given(data=st.binary(max_size=2_000))
def test_random_bytes_never_crash(data: bytes) -> None:
    _check(data)


@pytest.mark.timeout(90)
@FUZZ
@given(body=html_ish(), prefix=st.binary(max_size=8))
def test_mislabelled_bytes_never_crash(prefix: bytes, body: str) -> None:
    _check(prefix + body.encode("utf-16-le", errors="surrogatepass"))
