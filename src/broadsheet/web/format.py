"""How times and counts read on the page: "35 minutes ago", "28 Apr 2025, 05:38 AM IST"."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

_UNITS = (
    (365 * 86_400, "year"),
    (30 * 86_400, "month"),
    (7 * 86_400, "week"),
    (86_400, "day"),
    (3_600, "hour"),
    (60, "minute"),
)


def relative_time(when: datetime, now: datetime) -> str:
    seconds = int((now - when).total_seconds())
    if seconds < 0:
        return "just now" if seconds > -120 else "in the future"
    if seconds < 60:
        return "just now"
    for size, unit in _UNITS:
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'' if n == 1 else 's'} ago"
    raise AssertionError("unreachable")  # pragma: no cover


def absolute_time(when: datetime, zone: ZoneInfo) -> str:
    """A reader's absolute time with the zone spelled out, as news sites print it."""
    local = when.astimezone(zone)
    return local.strftime("%d %b %Y, %I:%M %p ") + (local.tzname() or zone.key)


def iso(when: datetime) -> str:
    return when.isoformat(timespec="seconds")
