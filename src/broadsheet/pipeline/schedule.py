"""When to check a feed again: often for a feed that publishes often, rarely for one that
rarely does (Miniflux's "entry frequency" scheduler), within the operator's bounds."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

WINDOW = timedelta(days=7)


def adaptive_interval(
    published: Iterable[datetime | None],
    *,
    now: datetime,
    current: int,
    minimum: int,
    maximum: int,
) -> int:
    """Seconds until the next check: the mean gap between the entries of the last week, measured
    from the oldest of them to now (feeds carry only their latest items, so the span they cover,
    not the whole week, is what a rate is measured over). An hourly publisher is checked hourly,
    a daily one daily. A feed with no dated entry in the week has gone quiet: ``current`` doubles.
    """
    recent = [p for p in published if p is not None and now - WINDOW <= p <= now]
    if recent:
        span = max((now - min(recent)).total_seconds(), 60.0)
        interval = int(span / len(recent))
    else:
        interval = current * 2
    return max(minimum, min(maximum, interval))
