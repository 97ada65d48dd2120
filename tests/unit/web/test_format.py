from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from broadsheet.web.format import absolute_time, relative_time

NOW = datetime(2025, 4, 28, 0, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=20), "just now"),
        (timedelta(minutes=1), "1 minute ago"),
        (timedelta(minutes=35), "35 minutes ago"),
        (timedelta(hours=1, minutes=59), "1 hour ago"),
        (timedelta(hours=5), "5 hours ago"),
        (timedelta(days=1), "1 day ago"),
        (timedelta(days=9), "1 week ago"),
        (timedelta(days=400), "1 year ago"),
        (timedelta(seconds=-30), "just now"),  # small clock skew between publisher and us
        (timedelta(days=-2), "in the future"),
    ],
)
def test_relative_time(delta: timedelta, text: str) -> None:
    assert relative_time(NOW - delta, NOW) == text


def test_absolute_time_names_the_zone() -> None:
    when = datetime(2025, 4, 28, 0, 8, tzinfo=UTC)
    assert absolute_time(when, ZoneInfo("Asia/Kolkata")) == "28 Apr 2025, 05:38 AM IST"
    assert absolute_time(when, ZoneInfo("UTC")) == "28 Apr 2025, 12:08 AM UTC"
