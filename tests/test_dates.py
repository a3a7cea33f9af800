"""parse_forum_date: every form forums show, read to the exact UTC moment, and garbage refused."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from scrapers.dates import UnparseableDate, parse_forum_date

KYIV = ZoneInfo("Europe/Kyiv")
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=KYIV)  # a Tuesday in winter (UTC+2): 10:00 UTC


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, *rest: int) -> datetime:
    second, micro = (*rest, 0, 0)[:2]
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


def parse(text: str, language: str, now: datetime = NOW) -> datetime:
    return parse_forum_date(text, language=language, timezone="Europe/Kyiv", now=now)


FORMS = [
    # dates without a year: the most recent such date not after now
    ("uk", "20 жовтня", utc(2026, 10, 19, 21), "uk-day-month-no-year"),
    ("uk", "20 грудня", utc(2025, 12, 19, 22), "uk-no-year-would-be-future-so-last-year"),
    ("uk", "20 жовтня, 14:05", utc(2026, 10, 20, 11, 5), "uk-day-month-time-no-year"),
    # dates with a year, in words and in numbers
    ("ru", "20 октября 2025", utc(2025, 10, 19, 21), "ru-day-month-year"),
    ("ru", "10-Апр-26 15:31", utc(2026, 4, 10, 12, 31), "ru-dd-mon-yy-time"),
    ("ru", "25-Май-20 8:25", utc(2020, 5, 25, 5, 25), "ru-dd-mon-yy-one-digit-hour"),
    ("uk", "20 жовтня 2025 р. о 14:05", utc(2025, 10, 20, 11, 5), "uk-year-r-o-time"),
    ("uk", "20 жовтня 2025 року", utc(2025, 10, 19, 21), "uk-year-roku"),
    ("ru", "20 окт. 2025 г., 14:05", utc(2025, 10, 20, 11, 5), "ru-abbrev-year-g-time"),
    ("ru", "20 октября 2025 в 14:05", utc(2025, 10, 20, 11, 5), "ru-year-v-time"),
    ("uk", "20.10.2025 14:05", utc(2025, 10, 20, 11, 5), "numeric-date-time"),
    ("uk", "20.10.2025", utc(2025, 10, 19, 21), "numeric-date"),
    ("ru", "20.10.25 14:05", utc(2025, 10, 20, 11, 5), "numeric-two-digit-year"),
    # Django's default English format
    ("en", "Nov. 22, 2026, 5:58 p.m.", utc(2026, 11, 22, 15, 58), "django-pm"),
    ("en", "Nov. 22, 2026, noon", utc(2026, 11, 22, 10), "django-noon"),
    ("en", "Nov. 22, 2026, midnight", utc(2026, 11, 21, 22), "django-midnight"),
    ("en", "Nov. 22, 2026, 12:30 a.m.", utc(2026, 11, 21, 22, 30), "django-half-past-midnight"),
    ("en", "May 3, 2026, 9 a.m.", utc(2026, 5, 3, 6), "django-am-without-minutes"),
    ("en", "Sept. 5, 2026, 5:58 p.m.", utc(2026, 9, 5, 14, 58), "django-sept"),
    # ISO 8601
    ("en", "2026-11-22T17:58:00+00:00", utc(2026, 11, 22, 17, 58), "iso-offset"),
    ("en", "2026-11-22T17:58:00+02:00", utc(2026, 11, 22, 15, 58), "iso-offset-kyiv"),
    ("en", "2026-11-22T17:58:00.123456Z", utc(2026, 11, 22, 17, 58, 0, 123456), "iso-z-micro"),
    ("uk", "2026-11-22T17:58:00", utc(2026, 11, 22, 15, 58), "iso-naive-is-local"),
    ("uk", "2026-11-22", utc(2026, 11, 21, 22), "iso-date-only"),
    ("en", "22 Nov 2026 23:30 +0000", utc(2026, 11, 22, 23, 30), "words-with-offset"),
    # just now
    ("uk", "щойно", utc(2026, 11, 24, 10), "uk-just-now"),
    ("ru", "только что", utc(2026, 11, 24, 10), "ru-just-now"),
    ("en", "just now", utc(2026, 11, 24, 10), "en-just-now"),
    # N units ago: exactly that long before now
    ("uk", "2 години тому", utc(2026, 11, 24, 8), "uk-2-hours-ago"),
    ("uk", "годину тому", utc(2026, 11, 24, 9), "uk-hour-ago"),
    ("uk", "хвилину тому", utc(2026, 11, 24, 9, 59), "uk-minute-ago"),
    ("uk", "3 дні тому", utc(2026, 11, 21, 10), "uk-3-days-ago"),
    ("uk", "тиждень тому", utc(2026, 11, 17, 10), "uk-week-ago"),
    ("uk", "півгодини тому", utc(2026, 11, 24, 9, 30), "uk-half-hour-ago"),
    ("ru", "5 минут назад", utc(2026, 11, 24, 9, 55), "ru-5-minutes-ago"),
    ("ru", "5 мин. назад", utc(2026, 11, 24, 9, 55), "ru-5-min-abbrev-ago"),
    ("ru", "час назад", utc(2026, 11, 24, 9), "ru-hour-ago"),
    ("ru", "1 день назад", utc(2026, 11, 23, 10), "ru-1-day-ago"),
    ("ru", "неделю назад", utc(2026, 11, 17, 10), "ru-week-ago"),
    ("en", "2 hours ago", utc(2026, 11, 24, 8), "en-2-hours-ago"),
    ("en", "an hour ago", utc(2026, 11, 24, 9), "en-an-hour-ago"),
    ("en", "5m ago", utc(2026, 11, 24, 9, 55), "en-5m-ago"),
    # months and years ago go by the calendar (24 September is summer time, UTC+3)
    ("uk", "2 місяці тому", utc(2026, 9, 24, 9), "uk-2-months-ago"),
    ("uk", "рік тому", utc(2025, 11, 24, 10), "uk-year-ago"),
    ("ru", "2 года назад", utc(2024, 11, 24, 10), "ru-2-years-ago"),
    # today / yesterday / the day before, with a time or as the start of that day
    ("uk", "вчора о 14:05", utc(2026, 11, 23, 12, 5), "uk-yesterday-o-time"),
    ("uk", "Вчора об 11:00", utc(2026, 11, 23, 9), "uk-yesterday-ob-time"),
    ("uk", "позавчора", utc(2026, 11, 21, 22), "uk-day-before-yesterday"),
    ("uk", "сьогодні", utc(2026, 11, 23, 22), "uk-today"),
    ("ru", "Сегодня, 13:24", utc(2026, 11, 24, 11, 24), "ru-today-comma-time"),
    ("ru", "Вчера, 09:15", utc(2026, 11, 23, 7, 15), "ru-yesterday-comma-time"),
    ("ru", "позавчера в 23:59", utc(2026, 11, 22, 21, 59), "ru-day-before-yesterday-time"),
    ("en", "yesterday at 14:05", utc(2026, 11, 23, 12, 5), "en-yesterday-at-time"),
    ("en", "yesterday at 2:05 p.m.", utc(2026, 11, 23, 12, 5), "en-yesterday-at-pm"),
]


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [pytest.param(language, text, expected, id=name) for language, text, expected, name in FORMS],
)
def test_reads_form_to_exact_utc(language: str, text: str, expected: datetime) -> None:
    result = parse(text, language)
    assert result == expected
    assert result.tzinfo is UTC


DECORATED = [
    ("uk", "вівторок, 20 жовтня 2025 р. о 14:05", utc(2025, 10, 20, 11, 5), "uk-weekday-words"),
    ("ru", "Пн, 20 окт. 2025 г., 14:05", utc(2025, 10, 20, 11, 5), "ru-weekday-abbrev"),
    ("uk", "Пн, 20.10.2025 14:05", utc(2025, 10, 20, 11, 5), "uk-weekday-numeric"),
    ("en", "Sun, Nov. 22, 2026, 5:58 p.m.", utc(2026, 11, 22, 15, 58), "en-weekday-django"),
    ("uk", "  20.10.2025 14:05\n", utc(2025, 10, 20, 11, 5), "spaces-and-newline"),
    (
        "uk",
        "\u00a020 жовтня\u00a02025 р.\u00a0о\u00a014:05\u00a0",
        utc(2025, 10, 20, 11, 5),
        "nbsp",
    ),
    ("uk", "\t2 години\u202fтому ", utc(2026, 11, 24, 8), "tab-and-narrow-nbsp"),
    ("ru", "\u200bСегодня,  13:24", utc(2026, 11, 24, 11, 24), "zero-width-and-double-space"),
    ("en", " 2026-11-22T17:58:00Z ", utc(2026, 11, 22, 17, 58), "iso-padded"),
]


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [pytest.param(lang, text, expected, id=name) for lang, text, expected, name in DECORATED],
)
def test_weekdays_and_whitespace_are_ignored(language: str, text: str, expected: datetime) -> None:
    assert parse(text, language) == expected


DST = [
    # the same wall-clock time is UTC+3 in summer and UTC+2 in winter, whichever path reads it
    ("uk", "2026-07-20T14:05:00", utc(2026, 7, 20, 11, 5), "iso-summer"),
    ("uk", "2026-12-20T14:05:00", utc(2026, 12, 20, 12, 5), "iso-winter"),
    ("uk", "20.07.2026 14:05", utc(2026, 7, 20, 11, 5), "numeric-summer"),
    ("uk", "20.12.2025 14:05", utc(2025, 12, 20, 12, 5), "numeric-winter"),
    ("uk", "20 липня 2026 р. о 14:05", utc(2026, 7, 20, 11, 5), "words-summer"),
    ("uk", "20 грудня 2025 р. о 14:05", utc(2025, 12, 20, 12, 5), "words-winter"),
    ("en", "July 20, 2026, 2:05 p.m.", utc(2026, 7, 20, 11, 5), "django-summer"),
    ("en", "Dec. 20, 2025, 2:05 p.m.", utc(2025, 12, 20, 12, 5), "django-winter"),
    ("ru", "10-Июл-26 15:31", utc(2026, 7, 10, 12, 31), "dd-mon-yy-summer"),
    ("ru", "10-Янв-26 15:31", utc(2026, 1, 10, 13, 31), "dd-mon-yy-winter"),
]


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [pytest.param(lang, text, expected, id=name) for lang, text, expected, name in DST],
)
def test_local_times_use_the_offset_of_their_own_date(
    language: str, text: str, expected: datetime
) -> None:
    assert parse(text, language) == expected


AFTER_AUTUMN_CHANGE = datetime(2026, 10, 25, 12, 0, tzinfo=KYIV)  # clocks went back at 04:00
AFTER_SPRING_CHANGE = datetime(2026, 3, 29, 12, 0, tzinfo=KYIV)  # clocks went forward at 03:00


@pytest.mark.parametrize(
    ("now", "text", "expected"),
    [
        # yesterday was still summer time: 12:00 then is 09:00 UTC (dateparser says 10:00)
        pytest.param(AFTER_AUTUMN_CHANGE, "вчора о 12:00", utc(2026, 10, 24, 9), id="autumn-yday"),
        pytest.param(AFTER_AUTUMN_CHANGE, "10 годин тому", utc(2026, 10, 25, 0), id="autumn-hours"),
        pytest.param(AFTER_AUTUMN_CHANGE, "позавчора", utc(2026, 10, 22, 21), id="autumn-day"),
        pytest.param(AFTER_SPRING_CHANGE, "вчора о 12:00", utc(2026, 3, 28, 10), id="spring-yday"),
        pytest.param(AFTER_SPRING_CHANGE, "2 години тому", utc(2026, 3, 29, 7), id="spring-hours"),
        pytest.param(AFTER_SPRING_CHANGE, "сьогодні", utc(2026, 3, 28, 22), id="spring-today"),
    ],
)
def test_relative_forms_across_a_clock_change(now: datetime, text: str, expected: datetime) -> None:
    assert parse(text, "uk", now) == expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # 00:30 on 20 December in Kyiv is still 19 December in UTC: the year comes from Kyiv's day
        pytest.param(datetime(2026, 12, 20, 0, 30, tzinfo=KYIV), utc(2026, 12, 19, 22), id="today"),
        pytest.param(datetime(2026, 12, 19, 23, 30, tzinfo=KYIV), utc(2025, 12, 19, 22), id="eve"),
    ],
)
def test_year_is_inferred_from_the_forum_local_day(now: datetime, expected: datetime) -> None:
    assert parse("20 грудня", "uk", now) == expected


def test_now_in_any_zone_means_the_same_moment() -> None:
    for text in ("вчора о 14:05", "2 години тому", "20 грудня", "Сегодня, 13:24"):
        language = "ru" if text.startswith("Сегодня") else "uk"
        assert parse(text, language, NOW.astimezone(UTC)) == parse(text, language, NOW)


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        pytest.param("xx", "20 октября 2025", utc(2025, 10, 19, 21), id="unknown-code-ru"),
        pytest.param("xx", "2 години тому", utc(2026, 11, 24, 8), id="unknown-code-uk"),
        pytest.param("xx", "2 hours ago", utc(2026, 11, 24, 8), id="unknown-code-en"),
        pytest.param("", "вчора о 14:05", utc(2026, 11, 23, 12, 5), id="empty-code"),
        pytest.param("uk-UA", "вчора о 14:05", utc(2026, 11, 23, 12, 5), id="region-subtag"),
        pytest.param("UK", "20 жовтня 2025", utc(2025, 10, 19, 21), id="upper-case-code"),
        pytest.param("uk", "Nov. 22, 2026, 5:58 p.m.", utc(2026, 11, 22, 15, 58), id="en-fallback"),
        pytest.param("de", "20. Oktober 2025", utc(2025, 10, 19, 21), id="other-dateparser-code"),
    ],
)
def test_language_codes(language: str, text: str, expected: datetime) -> None:
    assert parse(text, language) == expected


GARBAGE = [
    ("", "empty"),
    ("   \u00a0", "blank"),
    ("—", "dash"),
    ("abc", "letters"),
    ("32 жовтня", "day-32-no-year"),  # dateparser reads October 1932
    ("32 жовтня 2025", "day-32"),
    ("31 лютого", "31-february-no-year"),
    ("31 лютого 2026", "31-february"),
    ("Nov. 32, 2026", "en-day-32"),
    ("жовтня 2025", "month-only"),  # dateparser fills in today's day
    ("2025", "year-only"),
    ("1", "bare-number"),
    ("2 відповіді", "reply-count"),
    ("25.13.2025", "month-13"),
    ("2026-02-30", "iso-30-february"),
    ("вчора о 25:00", "hour-25"),
    ("yesterday at 13:05 p.m.", "hour-13-pm"),
    ("20 жовтня " * 20, "too-long"),
]


@pytest.mark.parametrize("text", [pytest.param(text, id=name) for text, name in GARBAGE])
def test_garbage_raises_naming_the_text(text: str) -> None:
    with pytest.raises(UnparseableDate) as caught:
        parse(text, "uk")
    assert caught.value.text == text
    assert caught.value.language == "uk"
    assert repr(text) in str(caught.value)
    assert "'uk'" in str(caught.value)
    assert "scrapers/dates.py" in str(caught.value)  # the fix
    assert isinstance(caught.value, ValueError)


def test_naive_now_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="aware") as caught:
        parse("2 години тому", "uk", NOW.replace(tzinfo=None))
    assert not isinstance(caught.value, UnparseableDate)


def test_unknown_time_zone_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="Europe/Kyiv") as caught:
        parse_forum_date("20.10.2025", language="uk", timezone="Europe/Kiyv", now=NOW)
    assert not isinstance(caught.value, UnparseableDate)


def test_other_forum_zone() -> None:
    moment = parse_forum_date("вчора о 14:05", language="uk", timezone="UTC", now=NOW)
    assert moment == utc(2026, 11, 23, 14, 5)
    assert parse_forum_date(
        "20.10.2025 14:05", language="ru", timezone="Europe/Moscow", now=NOW
    ) == utc(2025, 10, 20, 11, 5)
    assert parse_forum_date(
        "Nov. 22, 2026, 5:58 p.m.", language="en", timezone="America/New_York", now=NOW
    ) == utc(2026, 11, 22, 22, 58)
