"""Read the date text a forum page shows ("20 жовтня", "вчора о 14:05", "2 hours ago",
"Nov. 22, 2026, 5:58 p.m.", ISO 8601) as the aware UTC moment it means.

ISO 8601, dd.mm.yyyy and the relative forms of uk/ru/en ("щойно", "2 години тому",
"Сегодня, 13:24") are read here, exactly and DST-correctly; everything else goes to dateparser,
whose answer is checked so that a misread ("32 жовтня" as 1932) raises instead of passing as a date.

Conventions: naive times are wall-clock times in the forum's zone; "N seconds/minutes/hours/days/
weeks ago" count back exactly from `now`, months and years by the calendar; a day without a time
("вчора", "20 жовтня") means the start of that day in the forum's zone; a date without a year is
the most recent such date not after `now`.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateparser.date import DateDataParser

TABLE_LANGUAGES = ("uk", "ru", "en")  # the languages read here; also the auto-detect set
MAX_LENGTH = 100  # longer text is a paragraph, not a date
HALF_HOUR = timedelta(minutes=30)
FIX = "check the forum's `language`, or teach scrapers/dates.py this form"


class UnparseableDate(ValueError):
    """text could not be read as a date; str() names the text, the language and the fix"""

    def __init__(self, text: str, language: str) -> None:
        self.text = text
        self.language = language
        super().__init__(f"cannot read {text!r} as a date (language {language!r}); {FIX}")


# Whitespace browsers show as a space, zero-width marks, and apostrophes to one spelling.
_SPACES = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")
_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'", "‘": "'"})

_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(?:[t ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?"
    r"(?:z|[+-]\d{2}(?::?\d{2})?)?"
)
_TIME = (
    r"(?P<h>\d{1,2})[:.](?P<mi>\d{2})(?::(?P<s>\d{2}))?"
    r"(?:\s*(?P<ampm>[ap])\.?\s?m\.?)?"
)
_AT = r"(?:\s*,\s*|\s+)(?:(?:о|об|в|во|at|@),?\s*)?"  # between a day and its time
_NUMERIC = re.compile(
    rf"(?P<d>\d{{1,2}})\.(?P<mo>\d{{1,2}})\.(?P<y>\d{{4}}|\d{{2}})(?:\s*(?:р|г)\.?)?(?:{_AT}{_TIME})?"
)
_WEEKDAY = re.compile(
    r"(?:понеділок|вівторок|середа|четвер|п'ятниця|субота|неділя"
    r"|понедельник|вторник|среда|четверг|пятница|суббота|воскресенье"
    r"|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    r"|пн|вт|ср|чт|пт|сб|нд|вс|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)\.?(?:\s*,\s*|\s+)"
)

# "just now" and other fixed spans back from now.
_SPANS: dict[str, timedelta] = {
    **dict.fromkeys(("щойно", "тільки що", "тільки-но", "зараз", "тільки зараз"), timedelta()),
    **dict.fromkeys(("только что", "сейчас", "прямо сейчас"), timedelta()),
    **dict.fromkeys(("just now", "now", "right now", "a moment ago", "moments ago"), timedelta()),
    **dict.fromkeys(("пів години тому", "півгодини тому", "пів години назад"), HALF_HOUR),
    **dict.fromkeys(("полчаса назад", "пол часа назад", "half an hour ago"), HALF_HOUR),
}

# "N <unit> ago": per language, the suffix, how "one" is spelled, and each unit's spellings.
_AGO: dict[str, tuple[str, str, dict[str, str]]] = {
    "uk": (
        r"тому|назад",
        r"одну|один|одна",
        {
            "seconds": r"сек(?:унд[уи]?)?\.?",
            "minutes": r"хв(?:илин[уи]?)?\.?",
            "hours": r"год(?:ин[уи]?)?\.?",
            "days": r"день|дні|днів|дн\.?|добу|доби|діб",
            "weeks": r"тиж(?:день|ні|нів)?\.?",
            "months": r"місяц[ьіяів]*|міс\.?",
            "years": r"рік|роки|років|р\.",
        },
    ),
    "ru": (
        r"назад",
        r"одну|один|одна",
        {
            "seconds": r"сек(?:унд[уы]?)?\.?",
            "minutes": r"мин(?:ут[уы]?)?\.?",
            "hours": r"ч(?:ас(?:а|ов)?)?\.?",
            "days": r"день|дня|дней|дн\.?|сутки|суток",
            "weeks": r"недел[юиь]|нед\.?",
            "months": r"месяц(?:а|ев)?|мес\.?",
            "years": r"год(?:а)?|лет|г\.",
        },
    ),
    "en": (
        r"ago",
        r"an?|one",
        {
            "seconds": r"s|secs?|seconds?",
            "minutes": r"m|mins?|minutes?",
            "hours": r"h|hrs?|hours?",
            "days": r"d|days?",
            "weeks": r"w|wks?|weeks?",
            "months": r"mo|mos|months?",
            "years": r"y|yrs?|years?",
        },
    ),
}
# Days named relative to today, optionally with a time.
_DAY_WORDS: dict[str, dict[str, int]] = {
    "uk": {"завтра": -1, "сьогодні": 0, "вчора": 1, "учора": 1, "позавчора": 2},
    "ru": {"завтра": -1, "сегодня": 0, "вчера": 1, "позавчера": 2},
    "en": {
        "tomorrow": -1,
        "today": 0,
        "yesterday": 1,
        "the day before yesterday": 2,
        "day before yesterday": 2,
    },
}


def _compile_ago(suffix: str, one: str, units: dict[str, str]) -> re.Pattern[str]:
    unit = "|".join(f"(?P<{name}>{spelling})" for name, spelling in units.items())
    return re.compile(rf"(?:(?P<n>\d+)|(?:{one}))?\s*(?:{unit})\s+(?:{suffix})")


def _compile_day(words: dict[str, int]) -> re.Pattern[str]:
    spelled = "|".join(sorted(map(re.escape, words), key=len, reverse=True))
    return re.compile(rf"(?P<day>{spelled})(?:{_AT}{_TIME})?")


_AGO_RE = {language: _compile_ago(*spec) for language, spec in _AGO.items()}
_DAY_RE = {language: _compile_day(words) for language, words in _DAY_WORDS.items()}

# A 1-2 digit number next to a month name is the day: dateparser's answer must keep it.
_MONTH = (
    r"(?:січ|лют|бер|квіт|трав|черв|лип|серп|вер|жовт|лист|груд"
    r"|янв|фев|мар|апр|ма[йя]|июн|июл|авг|сен|окт|ноя|дек"
    r"|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
)
_DAY_BEFORE_MONTH = re.compile(rf"(?<![\d:.])(\d{{1,2}})[\s-]+{_MONTH}")
_DAY_AFTER_MONTH = re.compile(rf"(?<![^\W\d_]){_MONTH}[^\W\d_]*\.?\s+(\d{{1,2}})(?![\d:])")
_ONE_DIGIT_HOUR = re.compile(r"(?<![\d:.])(\d:\d\d)")
_HAS_DATE_SHAPE = re.compile(r"[^\W\d_]|\d\s*[:./-]\s*\d")  # a letter, or digits with a separator


# Django's default English DATETIME_FORMAT ("N j, Y, P"), which Django forums (Spirit, Misago)
# print: "nov. 22, 2026, 5:58 p.m.", "sept. 2, 2026, noon", "march 30, 2026, 8 a.m.". Read here,
# exactly and fast: dateparser takes milliseconds per date and pages hold hundreds.
_EN_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DJANGO = re.compile(
    r"(?P<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? (?P<d>\d{1,2}), "
    r"(?P<y>\d{4})(?:,? (?:(?P<noon>noon)|(?P<midnight>midnight)|"
    r"(?P<h>\d{1,2})(?::(?P<mi>\d\d))? ?(?P<ampm>[ap])\.?m\.?))?"
)


def _django(match: re.Match[str], zone: ZoneInfo) -> datetime:
    day = datetime(int(match["y"]), _EN_MONTHS.index(match["mon"]) + 1, int(match["d"]))
    if match["noon"]:
        day = day.replace(hour=12)
    elif match["h"] is not None:
        hour = int(match["h"])
        if not 1 <= hour <= 12:
            raise ValueError(f"hour {hour} with a.m./p.m.")
        hour = hour % 12 + (12 if match["ampm"] == "p" else 0)
        day = day.replace(hour=hour, minute=int(match["mi"] or 0))
    return day.replace(tzinfo=zone)


def parse_forum_date(text: str, *, language: str, timezone: str, now: datetime) -> datetime:
    """The moment a forum page's date text means, as an aware UTC datetime.
    `text` as shown on the page (or an attribute value such as ISO 8601 `datetime=`),
    `language` the forum's (uk, ru, en, ...), `timezone` an IANA zone the forum writes its times in
    (naive times are local there), `now` the fetch time (aware) that relative forms count back from.
    Raises UnparseableDate, never returns a guess such as now for text it cannot read."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"`now` must be an aware datetime, got {now!r}")
    zone = _zone(timezone)
    cleaned = _SPACES.sub(" ", text).strip().translate(_APOSTROPHES).lower()
    if not cleaned or len(cleaned) > MAX_LENGTH or not _HAS_DATE_SHAPE.search(cleaned):
        raise UnparseableDate(text, language)
    if _WEEKDAY.match(cleaned):
        cleaned = _WEEKDAY.sub("", cleaned, count=1)
    table, parser_languages = _languages(language)
    try:
        moment = _read_here(cleaned, table, zone, now)
    except (ValueError, OverflowError):  # a shape we know holding impossible numbers
        raise UnparseableDate(text, language) from None
    if moment is None:
        moment = _read_with_dateparser(cleaned, parser_languages, timezone, zone, now)
    if moment is None:
        raise UnparseableDate(text, language)
    return moment.astimezone(UTC)


@lru_cache(maxsize=64)
def _zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        problem = f"unknown time zone {timezone!r}: use an IANA name such as Europe/Kyiv"
        raise ValueError(problem) from error


@lru_cache(maxsize=64)
def _languages(language: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The languages for our tables and for dateparser; unknown codes try uk, ru and en."""
    code = re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0]
    if code == "en":
        return ("en",), ("en",)
    if code in TABLE_LANGUAGES:
        return (code, "en"), (code, "en")
    try:
        DateDataParser(languages=[code]).get_date_data("2000")  # checks the code, lazily
    except ValueError:
        return TABLE_LANGUAGES, TABLE_LANGUAGES
    return ("en",), (code, "en")


def _read_here(text: str, table: tuple[str, ...], zone: ZoneInfo, now: datetime) -> datetime | None:
    """The fast, exact paths; None when the text is none of their shapes."""
    if _ISO.fullmatch(text):
        moment = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)
    if match := _NUMERIC.fullmatch(text):
        year = int(match["y"]) + (2000 if len(match["y"]) == 2 else 0)
        naive = datetime(year, int(match["mo"]), int(match["d"]))
        return _at_time(naive, match).replace(tzinfo=zone)
    if match := _DJANGO.fullmatch(text):
        return _django(match, zone)
    if text in _SPANS:
        return now.astimezone(UTC) - _SPANS[text]
    for language in table:
        if match := _AGO_RE[language].fullmatch(text):
            return _back_from(now, match, zone)
        if match := _DAY_RE[language].fullmatch(text):
            today = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
            day = today.replace(tzinfo=None) - timedelta(days=_DAY_WORDS[language][match["day"]])
            return _at_time(day, match).replace(tzinfo=zone)
    return None


def _at_time(day: datetime, match: re.Match[str]) -> datetime:
    """`day` at the time a match caught (hours, minutes, seconds, a.m./p.m.), if any."""
    if match["h"] is None:
        return day
    hour = int(match["h"])
    if match["ampm"]:
        if not 1 <= hour <= 12:
            raise ValueError(f"hour {hour} with a.m./p.m.")
        hour = hour % 12 + (12 if match["ampm"] == "p" else 0)
    return day.replace(hour=hour, minute=int(match["mi"]), second=int(match["s"] or 0))


def _back_from(now: datetime, match: re.Match[str], zone: ZoneInfo) -> datetime:
    """now minus "N units": exact for seconds to weeks, by the calendar for months and years."""
    count = int(match["n"] or 1)
    unit = next(name for name in _AGO["en"][2] if match[name] is not None)
    if unit not in ("months", "years"):  # in UTC: aware arithmetic in a zone is wall-clock
        return now.astimezone(UTC) - timedelta(**{unit: count})
    local = now.astimezone(zone).replace(tzinfo=None)
    months = local.year * 12 + local.month - 1 - count * (12 if unit == "years" else 1)
    year, month = divmod(months, 12)
    day = min(local.day, calendar.monthrange(year, month + 1)[1])
    return local.replace(year=year, month=month + 1, day=day).replace(tzinfo=zone)


@lru_cache(maxsize=32)
def _parser(languages: tuple[str, ...], timezone: str, base: datetime) -> DateDataParser:
    """One dateparser per forum and fetch: a page holds hundreds of dates."""
    settings: dict[str, object] = {
        "TIMEZONE": timezone,
        "TO_TIMEZONE": "UTC",
        "RETURN_AS_TIMEZONE_AWARE": True,
        "RELATIVE_BASE": base,
        "PREFER_DATES_FROM": "past",
    }
    if languages[0] in ("uk", "ru"):
        settings["DATE_ORDER"] = "DMY"
    return DateDataParser(languages=list(languages), settings=settings, use_given_order=True)


def _read_with_dateparser(
    text: str, languages: tuple[str, ...], timezone: str, zone: ZoneInfo, now: datetime
) -> datetime | None:
    """dateparser's reading, or None when it has none, names no single day, or lost the day."""
    base = now.astimezone(zone).replace(tzinfo=None)
    text = _ONE_DIGIT_HOUR.sub(r"0\1", text)  # it misses "25-май-20 8:25" but reads "08:25"
    data = _parser(languages, timezone, base).get_date_data(text)
    moment = data.date_obj
    if (
        not isinstance(moment, datetime)
        or moment.tzinfo is None
        or data.period in ("month", "year")
    ):
        return None  # "жовтня 2025" is a month: dateparser would fill in today's day
    days = {moment.astimezone(zone).day, moment.astimezone(UTC).day}
    named = _DAY_BEFORE_MONTH.findall(text) + _DAY_AFTER_MONTH.findall(text)
    if any(int(day) not in days for day in named):
        return None  # "32 жовтня" read as October 1932
    return moment
