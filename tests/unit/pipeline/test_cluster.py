from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from broadsheet.pipeline.cluster import CLUSTER_LEAD_CHARS, StoryGrouper, cluster_text, tokens

T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


def _grouper() -> StoryGrouper:
    return StoryGrouper(threshold=0.3, window=timedelta(hours=48))


def test_tokens_drop_stopwords_and_fold_plurals_and_accents() -> None:
    assert tokens("The Drones hit Russia's bombers at Belaya") == [
        "drone",
        "hit",
        "russia",
        "bomber",
        "belaya",
    ]
    assert tokens("Café crème") == ["cafe", "creme"]


def test_same_event_joins_and_other_event_starts_new() -> None:
    g = _grouper()
    g.add(
        1,
        "a",
        title="Ukraine drone attack destroys Russian bombers at air bases",
        lead="Ukrainian drones hit bombers parked at four Russian air bases.",
        at=T0,
    )
    g.add(
        2,
        "b",
        title="Central bank holds interest rates at 4.5 percent",
        lead="The central bank left its benchmark rate unchanged.",
        at=T0,
    )
    assert (
        g.place(
            title="Russian bombers hit by Ukrainian drones in surprise attack",
            lead="Drones launched from trucks struck bombers at air bases.",
            at=T0 + timedelta(hours=2),
        )
        == 1
    )
    assert (
        g.place(
            title="Bank keeps rates on hold as inflation cools",
            lead="Interest rates stay at 4.5 percent, the central bank said.",
            at=T0 + timedelta(hours=1),
        )
        == 2
    )
    assert (
        g.place(
            title="Local team wins the cup final on penalties",
            lead="The match ended 2-2 after extra time.",
            at=T0,
        )
        is None
    )


def test_story_outside_the_window_is_not_joined() -> None:
    g = _grouper()
    g.add(
        1,
        "a",
        title="Wildfire forces evacuation of hill towns",
        lead="Thousands left their homes as the wildfire spread.",
        at=T0,
    )
    later = T0 + timedelta(hours=49)
    assert (
        g.place(
            title="Wildfire forces evacuation of hill towns",
            lead="Thousands left their homes as the wildfire spread.",
            at=later,
        )
        is None
    )


def test_representative_title_is_the_most_central_headline() -> None:
    g = _grouper()
    g.add(1, "a", title="Flood waters rise in river city", lead="", at=T0)
    g.add(1, "b", title="River city flood: thousands evacuated as waters rise", lead="", at=T0)
    g.add(1, "c", title="Evacuated thousands return", lead="", at=T0)
    assert g.representative_title(1) == "River city flood: thousands evacuated as waters rise"


@pytest.mark.parametrize("title", ["", "the of and", "!!!"])
def test_empty_headlines_start_their_own_story(title: str) -> None:
    g = _grouper()
    g.add(1, "a", title="the of and", lead="", at=T0)
    assert g.place(title=title, lead="", at=T0) is None


# -- with embeddings, eviction and merges ----------------------------------------------------


def _vec(*hot: int, dim: int = 8) -> list[float]:
    v = [0.0] * dim
    for i in hot:
        v[i] = 1.0
    return v


def test_vectors_decide_when_headlines_share_no_words() -> None:
    g = StoryGrouper(threshold=0.3, window=timedelta(hours=48))
    g.add(1, "a", title="Quake shakes capital", lead="", at=T0, vector=_vec(0))
    g.add(2, "b", title="Cup final tonight", lead="", at=T0, vector=_vec(5))
    # no word in common with story 1, but the embedding says it is the same event
    assert g.place(title="Tremor hits city", lead="", at=T0, vector=_vec(0)) == 1
    assert g.place(title="Tremor hits city", lead="", at=T0, vector=_vec(3)) is None


def test_old_stories_are_evicted_so_cost_follows_the_window() -> None:
    g = StoryGrouper(threshold=0.3, window=timedelta(hours=10))
    for hour in range(100):
        g.add(
            hour,
            f"a{hour}",
            title=f"Event {hour} happens",
            lead="",
            at=T0 + timedelta(hours=hour),
            vector=_vec(hour % 8),
        )
    assert len(g) <= 11
    assert g.place(title="Event 3 happens", lead="", at=T0 + timedelta(hours=100)) is None


def test_quiet_story_needs_more_evidence_than_a_running_one() -> None:
    g = StoryGrouper(threshold=0.3, window=timedelta(hours=72), decay_per_hour=0.01)
    g.add(1, "a", title="Storm floods coastal towns", lead="", at=T0, vector=_vec(0))
    g.add(
        2,
        "b",
        title="Storm floods coastal towns",
        lead="",
        at=T0 + timedelta(hours=40),
        vector=_vec(0),
    )
    assert (
        g.place(
            title="Storm floods coastal towns", lead="", at=T0 + timedelta(hours=41), vector=_vec(0)
        )
        == 2
    )


def test_merge_candidates_and_merge() -> None:
    g = StoryGrouper(threshold=0.3, window=timedelta(hours=48))
    g.add(1, "a", title="Mt. Gox files for US bankruptcy", lead="", at=T0, vector=_vec(0))
    g.add(
        2,
        "b",
        title="Mt. Gox files for US bankruptcy protection",
        lead="",
        at=T0 + timedelta(hours=1),
        vector=_vec(0),
    )
    g.add(3, "c", title="Cup final tonight", lead="", at=T0, vector=_vec(5))
    proposals = g.merge_candidates(min_score=0.6)
    assert [(p.keep, p.absorb) for p in proposals] == [(1, 2)]
    g.merge(1, 2)
    assert len(g) == 2 and sorted(g.members(1)) == ["a", "b"]
    assert g.place(title="Mt. Gox bankruptcy", lead="", at=T0, vector=_vec(0)) == 1


def test_representative_title_with_vectors_is_nearest_the_centroid() -> None:
    g = StoryGrouper(threshold=0.3, window=timedelta(hours=48))
    g.add(1, "a", title="Off topic", lead="", at=T0, vector=_vec(1))
    g.add(1, "b", title="Central", lead="", at=T0, vector=_vec(0, 1))
    g.add(1, "c", title="Other side", lead="", at=T0, vector=_vec(0))
    assert g.representative_title(1) == "Central"


def test_cluster_text_keeps_the_headline_and_cuts_a_long_lead_at_a_word() -> None:
    lead = "word " * 100
    text = cluster_text("Flood  hits\nthe coast", lead)
    assert text.startswith("Flood hits the coast. word")
    assert len(text) <= len("Flood hits the coast. ") + CLUSTER_LEAD_CHARS
    assert text.endswith("word")
    assert cluster_text("Headline", "") == "Headline"
    assert cluster_text("", "Short lead.") == "Short lead."
