"""The digest in the forum's language and time zone, right from the first day: a real SQLite
store filled by real cycles against the loopback sample forum, its digest rendered in uk, ru
and en; a day before forumwatch's first run judged from the posts as they stood at its end; a
day not over judged at the moment the digest is built, and saying so."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from digests.build import build_digest
from digests.phrases import PHRASES
from digests.render import render_html, render_text
from digests.send import digest_email, telegram_summary
from digests.words import Phrases
from forumwatch.config.channels import SmtpConfig
from forumwatch.config.load import load_config
from forumwatch.config.models import Config
from forumwatch.cycle.run import run_cycle
from forumwatch.sample_forum.server import SampleForumServer
from forumwatch.store import Store
from tests.conftest import NOW, write_config

YESTERDAY = NOW.date() - timedelta(days=1)  # 2026-03-03: before forumwatch's first run
LANGUAGES = ("uk", "ru", "en")


def filled(
    tmp_path: Path, url: str, extra: str = "", *, at: datetime = NOW
) -> tuple[Config, Store]:
    """A store whose only cycle ran at `at`: forumwatch installed that day."""
    config = load_config(write_config(tmp_path, url, extra=extra))
    store = Store(config.database)
    run_cycle(store, config, at, active=[])
    return config, store


def english_fragments() -> set[str]:
    """The English catalogue's words that no other language shares: each phrase's fixed text
    between placeholders and plural forms, of two words or more."""
    others = {text for language in ("uk", "ru") for text in PHRASES[language].values()}
    fragments = set()
    for key, text in PHRASES["en"].items():
        if key in ("months", "weekdays"):
            fragments |= set(text.split("|"))
            continue
        for part in re.split(r"\{[^}]*\}|\|", text):
            part = part.strip(" .,:;()")
            if " " in part and not any(part in other for other in others):
                fragments.add(part)
    return fragments


def test_every_language_has_every_phrase_with_the_same_placeholders() -> None:
    def fields(text: str) -> set[str]:
        return set(re.findall(r"\{(\w*)\}", text))

    for language in LANGUAGES:
        assert set(PHRASES[language]) == set(PHRASES["en"]), language
        for key, text in PHRASES[language].items():
            assert fields(text) == fields(PHRASES["en"][key]), (language, key)
            forms = text.count("|") + 1
            if key not in ("months", "weekdays", "units") and forms > 1:  # plurals
                assert forms == (2 if language == "en" else 3), (language, key)
    for language in LANGUAGES:
        words = PHRASES[language]
        assert len(words["months"].split("|")) == 12 and len(words["weekdays"].split("|")) == 7


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_digest_speaks_the_configs_language(
    tmp_path: Path, forum: SampleForumServer, language: str
) -> None:
    config, store = filled(tmp_path, forum.url, f"language: {language}\n")
    built = build_digest(store, config, NOW.date(), now=NOW)
    page, text = render_html(built), render_text(built)
    words = Phrases(language)

    assert f'<html lang="{language}">' in page
    title = words.t("title", date=words.date(NOW.date(), weekday=False))
    assert f"<title>{html.escape(title)}</title>" in page and text.startswith(title + "\n")
    assert words.rule("masked_silence") in text and words.rule("unanswered") in text
    for heading in ("ignored_heading", "answered_heading", "closed_heading", "failed_heading"):
        assert html.escape(words.t(heading)) in page
        assert f"\n\n{words.t(heading).upper()}\n" in text  # a blank line before each heading
    if language != "en":
        seen = html.unescape(page) + text
        leftovers = [f for f in english_fragments() if f.casefold() in seen.casefold()]
        assert leftovers == []
        assert not re.search(r"\d (h|min)\b", text)  # waits in its own units


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_mail_and_the_telegram_headline_speak_it_too(
    tmp_path: Path, forum: SampleForumServer, language: str
) -> None:
    config, store = filled(tmp_path, forum.url, f"language: {language}\n")
    built = build_digest(store, config, NOW.date(), now=NOW)
    words = Phrases(language)
    smtp = SmtpConfig.model_validate({"host": "h", "from": "a@b.c", "to": ["d@e.f"]})

    subject = digest_email(built, render_html(built), render_text(built), smtp)["Subject"]
    summary = telegram_summary(built)

    assert subject.startswith(words.t("title", date=words.date(NOW.date(), weekday=False)))
    assert words.count(built.ignored_total, "open_ignored") in subject
    assert words.t("tg_ignored", n=built.ignored_total) in summary
    if language != "en":
        assert not [f for f in english_fragments() if f in subject + summary]


def test_install_day_yesterday_lists_the_topics_waiting_at_its_end(
    tmp_path: Path, forum: SampleForumServer
) -> None:
    """The first cycle ran today; yesterday's digest judges the stored posts as they stood at
    yesterday's end: "Підпис файлів" (asked 30 h before NOW, only an integrator's comment by
    then) was waiting 18 h at midnight, never "no topic is being ignored"."""
    config, store = filled(tmp_path, forum.url, "language: en\n")
    built = build_digest(store, config, YESTERDAY, now=NOW)

    assert built.end == datetime.combine(NOW.date(), datetime.min.time(), NOW.tzinfo)
    listed = {i.finding.key.topic_id: i for i in built.ignored}
    assert "102" in listed, [i.title for i in built.ignored]
    assert built.ignored_total == len(built.ignored) >= 1
    assert built.end - listed["102"].finding.opened_at == timedelta(hours=18)
    text = render_text(built)
    assert "waiting 18 h" in text and "No topic is being ignored" not in text
    assert "101" not in listed  # asked 5 h before NOW: not there yet at yesterday's end
    assert not built.so_far
    # the chart has no count for the days before forumwatch read the forum, not a false 0
    assert [p.open_ignored for p in built.trend] == [None] * 13 + [built.ignored_total]


def test_today_is_judged_at_now_and_says_so(tmp_path: Path, forum: SampleForumServer) -> None:
    """At 12:00 the topic asked at 07:00 has waited 5 h, not the 17 h it would have waited by
    the day's end; the digest says the day is not over."""
    config, store = filled(tmp_path, forum.url, "language: en\n")
    built = build_digest(store, config, NOW.date(), now=NOW)

    listed = {i.finding.key.topic_id: i for i in built.ignored}
    assert "101" in listed
    assert NOW <= built.end < NOW + timedelta(minutes=1) and built.so_far
    text = render_text(built)
    assert "So far today, as of 12:00 (UTC)" in text
    assert "101 Звіт не формується після оновлення\n  no answer at all; waiting 5 h\n" in text
    assert "waiting 17 h" not in text


def test_without_now_a_day_not_over_is_judged_at_the_clock(
    tmp_path: Path, forum: SampleForumServer
) -> None:
    """`forumwatch digest --date <today>` passes no `now`: the builder reads the clock, so the
    day is judged as it stands, not at a midnight still to come."""
    config, store = filled(tmp_path, forum.url, "language: en\n")
    before = datetime.now(UTC)
    built = build_digest(store, config, before.date())

    assert built.so_far and before <= built.end <= datetime.now(UTC) + timedelta(seconds=1)
    assert "So far today, as of" in render_text(built)


def test_times_are_shown_in_the_configs_timezone(tmp_path: Path, forum: SampleForumServer) -> None:
    config, store = filled(tmp_path, forum.url, "language: en\ntimezone: Europe/Kyiv\n")

    today = render_text(build_digest(store, config, NOW.date(), now=NOW))
    day_before = build_digest(store, config, YESTERDAY, now=NOW)

    assert "as of 14:00 (Europe/Kyiv, UTC+02:00)" in today  # 12:00 UTC
    assert "UTC)" not in today.replace("UTC+02:00)", "")
    # yesterday in Kyiv ended at 22:00 UTC: the topic asked at 06:00 UTC had waited 16 h
    listed = {i.finding.key.topic_id: i for i in day_before.ignored}
    assert day_before.end - listed["102"].finding.opened_at == timedelta(hours=16)
    assert "(midnight, Europe/Kyiv, UTC+02:00)" in render_text(day_before)


def test_a_digest_reads_the_same_in_its_own_language_when_rebuilt(
    tmp_path: Path, forum: SampleForumServer
) -> None:
    """Rebuilt after the next cycle, yesterday's digest still tells yesterday's end."""
    config, store = filled(tmp_path, forum.url, "language: uk\n")
    first = render_text(build_digest(store, config, YESTERDAY, now=NOW))
    run_cycle(store, config, NOW + timedelta(hours=1), active=[])
    assert (
        render_text(build_digest(store, config, YESTERDAY, now=NOW + timedelta(hours=1))) == first
    )


@pytest.mark.parametrize(
    ("stored", "ukrainian"),
    [
        (
            "answered by dev_ivan after 3 h, then closed",
            "відповів dev_ivan через 3 год, потім закрито",
        ),
        (
            "confirmed by the author after 5 h (answer by integrator_oleg, #2)",
            "автор підтвердив через 5 год (відповідь integrator_oleg, #2)",
        ),
        (
            "marked solved without an answer after 11 h of waiting",
            "позначено вирішеною без відповіді після 11 год очікування",
        ),
        ("topic deleted after 45 min of waiting", "тему видалено після 45 хв очікування"),
        ("something a later version wrote", "something a later version wrote"),
    ],
)
def test_stored_resolutions_are_told_in_the_digests_language(stored: str, ukrainian: str) -> None:
    """The cycle stores how a wait ended in English (cycle/resolution.py); the digest retells it."""
    assert Phrases("uk").resolution(stored) == ukrainian
