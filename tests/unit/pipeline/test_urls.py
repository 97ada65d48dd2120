from __future__ import annotations

import pytest

from broadsheet.pipeline.urls import article_id, canonicalize_url, host_of, resolve_url


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTPS://News.Example.COM:443/a/b?x=1#top", "https://news.example.com/a/b?x=1"),
        ("http://example.com:80", "http://example.com/"),
        ("http://example.com:8080/", "http://example.com:8080/"),
        ("https://example.com/path/", "https://example.com/path/"),
        ("https://example.com/path", "https://example.com/path"),
        (
            "https://example.com/a?utm_source=x&b=2&UTM_Medium=y&a=1&fbclid=z&gclid=g",
            "https://example.com/a?a=1&b=2",
        ),
        ("https://example.com/a?mc_cid=1&mc_eid=2&ocid=3&cmpid=4", "https://example.com/a"),
        ("https://example.com/a?q=a%20b&q=a+b", "https://example.com/a?q=a%20b&q=a+b"),
        ("https://example.com/a?", "https://example.com/a"),
        ("https://example.com./x", "https://example.com/x"),
        ("https://[2001:DB8::1]:443/x", "https://[2001:db8::1]/x"),
        ("  https://example.com/x\n", "https://example.com/x"),
    ],
)
def test_canonicalize_url(url: str, canonical: str) -> None:
    assert canonicalize_url(url) == canonical
    assert canonicalize_url(canonical) == canonical  # idempotent


def test_canonicalize_invalid_port() -> None:
    with pytest.raises(ValueError, match="ort"):
        canonicalize_url("https://example.com:99999/")


def test_article_id_is_pinned() -> None:
    # Stored ids depend on this exact value: never change it.
    assert article_id("https://example.com/") == "0f115db062b7c0dd030b16878c99dea5"
    ident = article_id(canonicalize_url("HTTPS://Example.com/a?utm_source=x#f"))
    assert ident == article_id("https://example.com/a")
    assert len(ident) == 32
    assert all(c in "0123456789abcdef" for c in ident)


def test_host_of() -> None:
    assert host_of("https://News.Example.com:8443/a") == "news.example.com"
    assert host_of("http://[::1]:80/") == "::1"
    assert host_of("/relative") == ""
    assert host_of("http://[bad") == ""


@pytest.mark.parametrize(
    ("base", "href", "expected"),
    [
        ("https://a.example/x/y", "z", "https://a.example/x/z"),
        ("https://a.example/x/y", "/z", "https://a.example/z"),
        ("https://a.example/x/y", "//b.example/z", "https://b.example/z"),
        ("https://a.example/x/y", "http://c.example/", "http://c.example/"),
        ("https://a.example/", "javascript:alert(1)", None),
        ("https://a.example/", "java\tscript:alert(1)", None),
        ("https://a.example/", "data:text/html,x", None),
        ("https://a.example/", "mailto:x@y", None),
        ("https://a.example/", "http://[bad", None),
        ("file:///etc/", "passwd", None),
    ],
)
def test_resolve_url(base: str, href: str, expected: str | None) -> None:
    assert resolve_url(base, href) == expected


@pytest.mark.parametrize(
    "bad", ["https://ex.com/a\x00b", "https://ex.com/\ud800", "https://ex.com/\x1b[0m"]
)
def test_control_characters_and_surrogates_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="control character"):
        canonicalize_url(bad)
    assert resolve_url("https://ex.com/", bad) is None
