"""The kinds of value a config holds, each read leniently and checked strictly: durations
("2h", "1h30m"), sizes ("8MB"), shares ("50%"), category refs, time zones, chat ids.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BeforeValidator,
)

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|min|w|d|h|m|s)(?![a-z])", re.IGNORECASE)


_UNITS = {
    "ms": "milliseconds",
    "w": "weeks",
    "d": "days",
    "h": "hours",
    "m": "minutes",
    "min": "minutes",
    "s": "seconds",
}


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_duration(value: Any) -> timedelta:
    """'2h', '30m', '1d', '1h30m', '90s' → timedelta."""
    if isinstance(value, timedelta):
        return value
    text = str(value).strip()
    parts = _DURATION_PART.findall(text)
    if not parts or _DURATION_PART.sub("", text).strip():
        raise ValueError(f"{value!r} is not a duration; write it like 2h, 30m, 1d or 1h30m")
    return sum(
        (timedelta(**{_UNITS[unit.lower()]: float(n)}) for n, unit in parts), start=timedelta()
    )


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def format_duration(delta: timedelta) -> str:
    """timedelta → '1d2h', '1h30m', '90s' → '1m30s', '0s': how the config writes durations."""
    rest = int(delta.total_seconds())
    if rest <= 0:
        return f"{rest}s"
    text = ""
    for unit, seconds in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, rest = divmod(rest, seconds)
        text += f"{count}{unit}" if count else ""
    return text


def parse_size(value: Any) -> int:
    """'8MB', '512 KiB', '2m', 1048576 → bytes (K, M and G count in powers of 1024)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a size; write it like 8MB, 512KB or 1GB")
    unit = (match.group(2) or "b").lower()[0]
    return int(float(match.group(1)) * 1024 ** "bkmg".index(unit))


ByteSize = Annotated[int, BeforeValidator(parse_size)]


def _share(value: Any) -> Any:
    """0.5 or "50%" → 0.5."""
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            return float(value.strip()[:-1]) / 100
        except ValueError:
            raise ValueError(f"{value!r} is not a percentage; write e.g. 50%") from None
    return value


Share = Annotated[float, BeforeValidator(_share)]  # a fraction, or a percentage like "50%"


def _positive(delta: timedelta) -> timedelta:
    if delta <= timedelta(0):
        raise ValueError("must be longer than zero; write it like 20s, 30m or 2h")
    return delta


PositiveDuration = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_positive)]


def _stringify(value: Any) -> Any:
    return [str(v) for v in value] if isinstance(value, list) else value


CategoryRefs = Annotated[list[str], BeforeValidator(_stringify)]  # slugs or numeric ids


def require_unique(what: str, ids: list[str]) -> None:
    """For configs built in code; `load_config` reports each repeat at its own line instead."""
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        used = ", ".join(repr(i) for i in repeated)
        verb = "is" if len(repeated) == 1 else "are each"
        raise ValueError(f"{what} id {used} {verb} used more than once; ids must be unique")


def local_time(moment: datetime, zone: str) -> str:
    """`moment` as people of `zone` read it: "2026-03-07 14:00 +02:00", or "… UTC" in UTC."""
    if zone == "UTC":
        return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    local = moment.astimezone(ZoneInfo(zone))
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]}"


def known_zone(zone: str) -> str:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{zone!r} is not a known time zone; use e.g. Europe/Kyiv") from None
    return zone


ChatIds = list[int]  # Telegram chat ids: a user's id, or a group's (negative)
