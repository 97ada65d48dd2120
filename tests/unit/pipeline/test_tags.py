from __future__ import annotations

import pytest

from broadsheet.pipeline.tags import MAX_TAGS, hashtags, slugify


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Kim Jong Un", "kim-jong-un"),
        ("São Paulo", "sao-paulo"),
        ("  #AI & Ethics ", "ai-ethics"),
        ("<script>", "script"),
    ],
)
def test_slugify(text: str, slug: str) -> None:
    assert slugify(text) == slug


def test_hashtags_split_dedupe_and_cap() -> None:
    got = hashtags(["Ukraine, Russia; ukraine", "#Drones", "2025", "", "x" * 61])
    assert got == [
        ("ukraine", "Ukraine", "topic"),
        ("russia", "Russia", "topic"),
        ("drones", "Drones", "topic"),
    ]
    assert len(hashtags([f"tag{i}" for i in range(20)])) == MAX_TAGS
