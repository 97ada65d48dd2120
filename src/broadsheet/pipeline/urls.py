"""URL identity: the canonical form of an article URL and the stable id derived from it.

Article ids are stored and linked to, so ``article_id`` must never change: it is the first 32 hex
digits of the SHA-256 of the canonical URL's UTF-8 bytes. Changing ``canonicalize_url`` changes
which URLs share an id, never the id of a canonical URL already stored.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import SplitResult, unquote, urljoin, urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
_TRACKING = frozenset({"fbclid", "gclid", "mc_cid", "mc_eid", "ocid", "cmpid"})
# Browsers drop these from URLs before parsing them: "java\tscript:" is "javascript:".
_STRIPPED = re.compile(r"[\t\n\r]")
# What no URL may carry: other C0 controls (NUL breaks PostgreSQL text) and lone surrogates
# (unencodable, so SQLite's driver raises on them). Percent-encoded forms are fine.
_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _is_tracking(pair: str) -> bool:
    key = unquote(pair.split("=", 1)[0]).strip().lower()
    return key.startswith("utm_") or key in _TRACKING


def _netloc(parts: SplitResult) -> str:
    host = (parts.hostname or "").rstrip(".")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port  # ValueError for a non-numeric or out-of-range port
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        host = f"{host}:{port}"
    if parts.username is not None:
        userinfo = parts.netloc.rpartition("@")[0]
        host = f"{userinfo}@{host}"
    return host


def canonicalize_url(url: str) -> str:
    """The form of ``url`` under which an article is known.

    Lowercases scheme and host, drops the default port, the fragment and tracking parameters
    (``utm_*``, ``fbclid``, ``gclid``, ``mc_cid``, ``mc_eid``, ``ocid``, ``cmpid``), sorts the
    remaining query parameters (kept exactly as encoded) and turns an empty path into ``/``.
    Idempotent. Raises ``ValueError`` for a URL that cannot be parsed or carries control
    characters or lone surrogates.
    """
    if _UNSAFE.search(url):
        raise ValueError(f"control character or lone surrogate in URL {url!r}")
    parts = urlsplit(_STRIPPED.sub("", url.strip()))
    pairs = sorted(p for p in parts.query.split("&") if p and not _is_tracking(p))
    path = parts.path or ("/" if parts.netloc else "")
    return urlunsplit((parts.scheme.lower(), _netloc(parts), path, "&".join(pairs), ""))


def article_id(canonical_url: str) -> str:
    """Stable 32-hex id of an article: sha256(canonical URL, UTF-8)[:32]. Never change this."""
    return hashlib.sha256(canonical_url.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def host_of(url: str) -> str:
    """Lowercase host of ``url`` without port or brackets; "" when it has none."""
    try:
        return (urlsplit(url.strip()).hostname or "").rstrip(".")
    except ValueError:
        return ""


def resolve_url(base: str, href: str) -> str | None:
    """``href`` made absolute against ``base``; None unless the result is an http(s) URL."""
    if _UNSAFE.search(href):
        return None
    try:
        resolved = urljoin(base, _STRIPPED.sub("", href.strip()))
        parts = urlsplit(resolved)
    except ValueError:
        return None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return resolved
