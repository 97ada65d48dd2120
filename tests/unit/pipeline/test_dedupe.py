from __future__ import annotations

from datetime import UTC, datetime, timedelta

from broadsheet.pipeline.dedupe import (
    DuplicateIndex,
    MinHasher,
    content_hash,
    duplicate_groups,
    estimated_jaccard,
    jaccard,
    shingles,
)

T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)

WIRE = (
    "WASHINGTON (AP) — The Federal Reserve left its benchmark interest rate unchanged on "
    "Wednesday, saying inflation remains elevated even as the job market cools. Fed Chair "
    "Jerome Powell told reporters that officials want more evidence that price growth is "
    "slowing before they cut borrowing costs. Markets had expected the decision, and stocks "
    "rose modestly after the announcement. Several officials projected two cuts this year."
)
# The same wire copy as a member paper runs it: new dateline and byline, a sentence trimmed,
# typography changed, a line of furniture added.
REPRINT = (
    "By The Associated Press. WASHINGTON - The Federal Reserve left its benchmark interest "
    "rate unchanged on Wednesday, saying inflation remains elevated even as the job market "
    "cools. Fed Chair Jerome Powell told reporters that officials want more evidence that price "
    "growth is slowing before they cut borrowing costs. Markets had expected the decision, and "
    "stocks rose modestly after the announcement. Copyright 2025 The Associated Press."
)
# Same event, written independently: not a duplicate.
OWN_REPORT = (
    "The US central bank kept rates on hold for a fourth straight meeting, with Jerome Powell "
    "signalling patience. Policymakers said inflation was still too high and pencilled in two "
    "reductions before December, while traders pushed equities slightly higher afterwards."
)


def test_exact_hash_ignores_case_spacing_and_punctuation() -> None:
    assert content_hash("Fed holds rates — again!") == content_hash("fed holds  rates again")
    assert content_hash("Fed holds rates") != content_hash("Fed cuts rates")


def test_minhash_estimates_jaccard() -> None:
    hasher = MinHasher()
    a, b = shingles(WIRE), shingles(REPRINT)
    estimate = estimated_jaccard(hasher.signature(WIRE), hasher.signature(REPRINT))
    assert abs(estimate - jaccard(a, b)) < 0.12
    assert (hasher.signature(WIRE) == MinHasher().signature(WIRE)).all()  # stable, storable


def test_wire_reprint_is_a_near_duplicate_and_own_report_is_not() -> None:
    index = DuplicateIndex()
    assert index.check("ap", WIRE, T0) is None
    match = index.check("paper", REPRINT, T0 + timedelta(hours=1))
    assert match is not None and match.original == "ap" and not match.exact
    assert index.check("own", OWN_REPORT, T0 + timedelta(hours=2)) is None
    exact = index.check("copy", WIRE.upper(), T0 + timedelta(hours=3))
    assert exact is not None and exact.exact and exact.original == "ap"


def test_duplicate_of_a_duplicate_links_to_the_original() -> None:
    index = DuplicateIndex()
    index.check("ap", WIRE, T0)
    index.check("paper", REPRINT, T0)
    third = REPRINT.replace("Copyright 2025 The Associated Press.", "Read more: business.")
    match = index.check("third", third, T0)
    assert match is not None and match.original == "ap"


def test_index_is_bounded_by_window_and_capacity() -> None:
    index = DuplicateIndex(window=timedelta(days=1), capacity=3)
    index.check("ap", WIRE, T0)
    assert index.check("late", REPRINT, T0 + timedelta(days=2)) is None  # the original expired
    for i in range(10):
        index.check(f"x{i}", f"{OWN_REPORT} story number {i} " * 2, T0 + timedelta(days=2))
    assert len(index) <= 3


def test_short_texts_only_match_exactly() -> None:
    labels = duplicate_groups(["Fed holds rates", "Fed holds rates!", "Fed cuts rates"])
    assert labels == [0, 0, 2]
