from __future__ import annotations

import pytest

from broadsheet.pipeline.entities import (
    ORGANISATION,
    PERSON,
    PLACE,
    TOPIC,
    Tag,
    fold,
    merge_tags,
    tag_article,
)


def _kinds(tags: list[Tag]) -> dict[str, str]:
    return {t.slug: t.kind for t in tags}


def test_one_tag_for_kim_jong_un_however_written() -> None:
    tags = tag_article(
        "Kim Jong-un meets Xi Jinping in Beijing",
        "North Korea's leader Kim Jong Un arrived in Beijing on Monday. Kim was greeted by "
        "President Xi Jinping, state media said.",
    )
    kinds = _kinds(tags)
    assert [t.slug for t in tags].count("kim-jong-un") == 1
    assert "kim" not in kinds
    assert kinds["kim-jong-un"] == PERSON
    assert kinds["xi-jinping"] == PERSON
    assert kinds["beijing"] == PLACE


def test_people_organisations_places_and_hashtags() -> None:
    tags = tag_article(
        "EBay rejects Carl Icahn's board nominees",
        "The company said on Monday that Icahn's candidates were not qualified. "
        "Apple Inc and the European Central Bank were not involved. Shares rose in New York. "
        "#Markets",
        keywords=["Technology"],
    )
    kinds = _kinds(tags)
    assert kinds["carl-icahn"] == PERSON
    assert kinds["apple-inc"] == ORGANISATION
    assert kinds["european-central-bank"] == ORGANISATION
    assert kinds["new-york"] == PLACE
    assert kinds["technology"] == TOPIC and kinds["markets"] == TOPIC
    assert "icahn" not in kinds  # resolved to Carl Icahn
    assert "the-company" not in kinds and "shares" not in kinds and "monday" not in kinds


def test_demonyms_and_aliases_tag_the_place() -> None:
    kinds = _kinds(tag_article("Ukrainian drones hit Russian bombers", "The U.S. said little."))
    assert kinds.get("ukraine") == PLACE and kinds.get("russia") == PLACE
    assert kinds.get("united-states") == PLACE


def test_title_case_headline_runs_need_support_in_the_text() -> None:
    tags = tag_article("Bitcoin Exchange Mt. Gox Seeks US Bankruptcy", "Mark Karpeles said so.")
    slugs = {t.slug for t in tags}
    assert "bitcoin-exchange-mt-gox-seeks-us-bankruptcy" not in slugs
    assert "mark-karpeles" in slugs


def test_story_tags_merge_short_mentions_across_articles() -> None:
    story = merge_tags(
        [
            [Tag("kim-jong-un", "Kim Jong Un", PERSON)],
            [Tag("kim-jong-un", "Kim Jong-un", PERSON), Tag("seoul", "Seoul", PLACE)],
            [Tag("kim", "Kim", "other")],
        ]
    )
    assert [t.slug for t in story] == ["kim-jong-un", "seoul"]
    assert story[0].kind == PERSON


def test_fold() -> None:
    assert fold("Kim Jong-un") == fold("kim jong un") == "kim jong un"
    assert fold("Müller's") == "muller"


def test_language_detection() -> None:
    pytest.importorskip("py3langid")
    from broadsheet.pipeline.language import detect_language, normalise_tag

    assert detect_language("Mt. Gox files for bankruptcy in the United States") == "en"
    assert detect_language("Le gouvernement a annoncé une nouvelle loi sur le climat") == "fr"
    # a confident detector overrides a wrong declaration; a short text keeps the declaration
    assert detect_language("Die Regierung hat am Montag ein neues Gesetz angekündigt", "en") == "de"
    assert detect_language("OK", "en-GB") == "en"
    assert normalise_tag("EN_us") == "en" and normalise_tag("") is None
