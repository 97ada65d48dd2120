from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from broadsheet.pipeline.cluster import StoryGrouper, tokens

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
