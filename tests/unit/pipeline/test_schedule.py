from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from broadsheet.pipeline.schedule import adaptive_interval

NOW = datetime(2025, 6, 1, tzinfo=UTC)
HOUR = 3600


def _every(step: timedelta, n: int) -> list[datetime | None]:
    """n entries, ``step`` apart, the newest half a step ago."""
    return [NOW - step * (i + 0.5) for i in range(n)]


@pytest.mark.parametrize(
    ("published", "current", "expected"),
    [
        (_every(timedelta(hours=1), 200), 900, HOUR),  # hourly publisher: hourly checks
        (_every(timedelta(days=1), 10), 900, 24 * HOUR),  # daily: daily
        (_every(timedelta(hours=12), 10), 900, 12 * HOUR),  # a short feed: its own span counts
        (_every(timedelta(minutes=1), 500), 900, 300),  # floor
        (_every(timedelta(days=30), 3), 900, 1800),  # quiet for a week: back off from current
        ([None, None], 50_000, 86_400),  # undated, and already slow: ceiling
        ([NOW + timedelta(days=3)], 900, 1800),  # dated in the future: not counted
    ],
)
def test_adaptive_interval(published: list[datetime | None], current: int, expected: int) -> None:
    got = adaptive_interval(published, now=NOW, current=current, minimum=300, maximum=86_400)
    assert got == pytest.approx(expected, rel=0.1)
