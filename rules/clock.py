"""The SLA clock: when a duration measured from some moment runs out.

Calendar time when a forum has no business hours; otherwise working time in the forum's own
time zone, skipping non-working weekdays, holidays and the hours outside opening times. Pure:
no clock is read here, every moment is an argument.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from forumwatch.model import BusinessHours

# A calendar with no working day for this long has no working time at all (e.g. a holiday list
# covering every working weekday); stop instead of walking the calendar forever.
_MAX_IDLE_DAYS = 3660


def deadline(start: datetime, duration: timedelta, hours: BusinessHours | None) -> datetime:
    """The aware UTC moment when `duration` of (working) time has passed since `start`."""
    _require_aware(start)
    if hours is None or duration <= timedelta(0):
        return (start + max(duration, timedelta(0))).astimezone(UTC)
    remaining = duration
    cursor = start.astimezone(UTC)
    for opens, closes in working_periods(start, hours):
        cursor = max(cursor, opens)
        available = closes - cursor
        if remaining <= available:
            return cursor + remaining
        remaining -= available
    raise AssertionError("unreachable: working_periods is endless or raises")  # pragma: no cover


def working_periods(start: datetime, hours: BusinessHours) -> Iterator[tuple[datetime, datetime]]:
    """Working periods (opens, closes) in aware UTC that end after `start`, in order; endless."""
    _require_aware(start)
    _require_valid(hours)
    zone = ZoneInfo(hours.timezone)
    holidays = {date.fromisoformat(day) for day in hours.holidays}
    day = start.astimezone(zone).date()
    idle_days = 0
    while idle_days < _MAX_IDLE_DAYS:
        if day.weekday() in hours.weekdays and day not in holidays:
            opens, closes = _opening_times(day, hours, zone)
            idle_days = 0
            if closes > start:
                yield opens, closes
        else:
            idle_days += 1
        day += timedelta(days=1)
    raise ValueError(f"business hours {hours!r} have no working day in {_MAX_IDLE_DAYS} days")


def is_working_time(moment: datetime, hours: BusinessHours | None) -> bool:
    """True when the SLA clock runs at `moment` (always, for calendar time)."""
    if hours is None:
        return True
    opens, closes = next(working_periods(moment, hours))
    return opens <= moment < closes


def _opening_times(day: date, hours: BusinessHours, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """One working day's opening and closing moments in UTC (an end of 00:00 means midnight)."""
    opens = datetime.combine(day, hours.start, tzinfo=zone)
    close_day = day + timedelta(days=1) if hours.end == time(0) else day
    closes = datetime.combine(close_day, hours.end, tzinfo=zone)
    return opens.astimezone(UTC), closes.astimezone(UTC)


def _require_valid(hours: BusinessHours) -> None:
    if not hours.weekdays:
        raise ValueError("business hours need at least one working weekday")
    if not set(hours.weekdays) <= set(range(7)):
        raise ValueError(f"business hours weekdays must be 0 (Monday) to 6: {hours.weekdays}")
    if hours.end != time(0) and hours.start >= hours.end:
        raise ValueError(
            f"business hours must open before they close: {hours.start} to {hours.end}"
            " (hours spanning midnight are not supported)"
        )


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"the SLA clock needs an aware datetime, got naive {moment.isoformat()}")


def wait_text(waited: timedelta) -> str:
    """A waiting time for people: '45 min' under an hour, else whole hours ('31 h')."""
    minutes = max(0, int(waited.total_seconds() // 60))
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h"
