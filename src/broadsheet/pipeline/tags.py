"""Hashtags from what the publisher says an article is about (keywords and feed categories).

Named entities and statistical tagging come with the stories issue; this stage already fixes
the normal form, so a tag page keeps its address when better taggers arrive.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

MAX_TAGS = 8
_SPLIT = re.compile(r"\s*[,;|]\s*")
_NON_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NON_SLUG.sub("-", folded.lower()).strip("-")


def hashtags(keywords: Iterable[str]) -> list[tuple[str, str, str]]:
    """(slug, display name, kind) for each distinct keyword, in the publisher's order."""
    seen: set[str] = set()
    out: list[tuple[str, str, str]] = []
    for raw in keywords:
        for part in _SPLIT.split(raw):
            name = " ".join(part.strip().lstrip("#").split())
            slug = slugify(name)
            if not slug or slug in seen or len(name) > 60 or slug.isdigit():
                continue
            seen.add(slug)
            out.append((slug, name, "topic"))
            if len(out) == MAX_TAGS:
                return out
    return out
