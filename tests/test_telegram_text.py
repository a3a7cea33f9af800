"""Telegram HTML messages: escaping, each stage in each language, and safe splitting."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from forumwatch.model import (
    Change,
    Evidence,
    Finding,
    PostKind,
    Role,
    Stage,
    StoredFinding,
    TopicKey,
    Transition,
)
from forumwatch.telegram_bot.links import ForumHome, Links, rebase_url
from forumwatch.telegram_bot.split import html_length, split_message
from forumwatch.telegram_bot.text import (
    StatusTopic,
    finding_message,
    rule_words,
    status_lines,
    status_messages,
    summary_message,
    trim_words,
    wait_words,
)
from rules.clock import wait_text

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
OPENED = NOW - timedelta(hours=31)
TITLE = "<b>Fix & ship</b>"
URL = 'https://forum.example/t/fix-ship/42?x="1"&y=2'
ALLOWED_TAGS = {"b", "i", "u", "s", "a", "code", "pre", "blockquote"}


def _finding(rule: str = "masked_silence", stage: Stage = Stage.DUE, **kw: object) -> Finding:
    evidence = tuple(
        Evidence(n, f"user{n}", Role.OTHER, OPENED + timedelta(hours=n), PostKind.REPLY)
        for n in (2, 3, 4)
    )
    base = Finding(
        key=TopicKey("market", "42"),
        rule=rule,
        stage=stage,
        opened_at=OPENED,
        due_at=OPENED + timedelta(hours=2),
        escalate_at=OPENED + timedelta(hours=24),
        evidence=evidence,
        summary="No answer from the developer (dev_ivan)",
        silent=("dev_ivan", "<anna>"),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def _transition(
    change: Change, finding: Finding | None = None, *, resolution: str = "", url: str = URL
) -> Transition:
    finding = finding or _finding()
    resolved_at = NOW if change is Change.RESOLVED else None
    stored = StoredFinding(finding, 1, OPENED, None, resolved_at, TITLE, url, resolution)
    return Transition(change, stored)


class _Checker(HTMLParser):
    """Collects text content and checks that tags are allowed and balanced."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in ALLOWED_TAGS, tag
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, (self.stack, tag)
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _check(html: str) -> str:
    """The text content of `html`, asserting its tags are allowed and balanced."""
    checker = _Checker()
    checker.feed(html)
    checker.close()
    assert checker.stack == [], checker.stack
    return "".join(checker.text)


def _entities_whole(html: str) -> bool:
    """Every '&' starts a complete entity."""
    return all(
        re.match(r"&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);", html[m.start() :])
        for m in re.finditer("&", html)
    )


# ---- escaping ------------------------------------------------------------------------------


def test_title_and_href_are_escaped() -> None:
    text = finding_message(_transition(Change.OPENED), NOW, "en")
    assert "&lt;b&gt;Fix &amp; ship&lt;/b&gt;" in text
    assert "<b>Fix" not in text
    assert 'href="https://forum.example/t/fix-ship/42?x=&quot;1&quot;&amp;y=2"' in text
    assert "&lt;anna&gt;" in text  # usernames too
    assert _check(text).count(TITLE) == 1  # arrives literally
    assert _entities_whole(text)


def test_non_web_url_is_not_linked() -> None:
    text = finding_message(_transition(Change.OPENED, url="javascript:alert(1)"), NOW, "en")
    assert "<a " not in text
    assert "&lt;b&gt;Fix &amp; ship&lt;/b&gt;" in text


# ---- stages --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "label", "rule", "wait"),
    [
        ("en", "⚠️ OVERDUE", "3 comments, none from the developer", "31 h"),
        ("uk", "⚠️ ПРОСТРОЧЕНО", "3 коментарі, жодного від розробника", "31 год"),
        ("ru", "⚠️ ПРОСРОЧЕНО", "3 комментария, ни одного от разработчика", "31 ч"),
    ],
)
def test_opened(language: str, label: str, rule: str, wait: str) -> None:
    text = finding_message(_transition(Change.OPENED), NOW, language)
    first = text.splitlines()[0]
    assert first == f"<b>{label} · market #42</b>"
    assert rule in text
    assert wait in text and "dev_ivan" in text
    _check(text)


@pytest.mark.parametrize(
    ("language", "label"), [("en", "🔺 ESCALATED"), ("uk", "🔺 ЕСКАЛАЦІЯ"), ("ru", "🔺 ЭСКАЛАЦИЯ")]
)
def test_escalated(language: str, label: str) -> None:
    finding = _finding("no_diagnosis", Stage.ESCALATED)
    text = finding_message(_transition(Change.ESCALATED, finding), NOW, language)
    assert text.startswith(f"<b>{label} · market #42</b>")
    _check(text)


def test_opened_already_escalated_says_escalated() -> None:
    finding = _finding("unanswered", Stage.ESCALATED)
    text = finding_message(_transition(Change.OPENED, finding), NOW, "en")
    assert text.startswith("<b>🔺 ESCALATED")
    assert "no answer at all" in text


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("unanswered", "no answer at all"),
        ("no_diagnosis", "acknowledged by staff, no developer diagnosis"),
        ("follow_up_ignored", "the customer&#x27;s follow-up question is unanswered"),
        ("masked_silence", "3 comments, none from the developer: the topic looks handled but is"),
    ],
)
def test_rule_words_en(rule: str, words: str) -> None:
    assert words in finding_message(_transition(Change.OPENED, _finding(rule)), NOW, "en")


def test_uk_plural_of_comments() -> None:
    one = _finding(evidence=_finding().evidence[:1])
    five = _finding(evidence=_finding().evidence * 2)  # 6 posts
    assert "1 коментар," in finding_message(_transition(Change.OPENED, one), NOW, "uk")
    assert "6 коментарів," in finding_message(_transition(Change.OPENED, five), NOW)


def test_without_silent_names_says_waiting() -> None:
    text = finding_message(_transition(Change.OPENED, _finding(silent=())), NOW, "en")
    assert "Waiting for 31 h" in text


@pytest.mark.parametrize(
    ("language", "label", "resolution", "said"),
    [
        ("en", "✅ RESOLVED", "answered by dev_ivan after 5 h", "answered by dev_ivan after 5 h"),
        (
            "uk",
            "✅ ВИРІШЕНО",
            "closed without an answer after 11 h of waiting",
            "закрито без відповіді після 11 год очікування",
        ),
        (
            "ru",
            "✅ РЕШЕНО",
            "answered by dev_ivan after 45 min, then marked solved",
            "ответил dev_ivan через 45 мин, затем отмечено решённой",
        ),
    ],
)
def test_resolved_includes_resolution_in_the_chats_language(
    language: str, label: str, resolution: str, said: str
) -> None:
    text = finding_message(_transition(Change.RESOLVED, resolution=resolution), NOW, language)
    lines = text.splitlines()
    assert lines[0] == f"<b>{label} · market #42</b>"
    assert lines[1].startswith('<a href="https://forum.example/')
    assert lines[2] == said
    assert len(lines) == 3
    _check(text)


def test_resolved_without_resolution_has_fallback() -> None:
    assert "no longer flagged after 31 h" in finding_message(
        _transition(Change.RESOLVED), NOW, "en"
    )
    assert "минуло 31 год" in finding_message(_transition(Change.RESOLVED), NOW, "uk")


def test_heads_up_says_time_to_deadline() -> None:
    finding = _finding(due_at=NOW + timedelta(minutes=30))
    text = finding_message(_transition(Change.OPENED, finding), NOW, "en", heads_up=True)
    assert text.startswith("<b>⏳ DEADLINE IN 30 min · market #42</b>")
    uk = finding_message(_transition(Change.OPENED, finding), NOW, "uk", heads_up=True)
    assert "ДЕДЛАЙН ЧЕРЕЗ 30 хв" in uk


def test_updated_has_no_message() -> None:
    with pytest.raises(ValueError):
        finding_message(_transition(Change.UPDATED), NOW, "en")


def test_unknown_language_falls_back_to_ukrainian() -> None:
    assert "ПРОСТРОЧЕНО" in finding_message(_transition(Change.OPENED), NOW, "de")


def test_context_is_quoted_escaped_and_trimmed() -> None:
    question = "Why does <script> & the signer fail? " + "word " * 200
    text = finding_message(_transition(Change.OPENED), NOW, "en", context=question)
    quoted = re.search(r"<blockquote>(.*)</blockquote>", text, re.S)
    assert quoted is not None
    body = quoted.group(1)
    assert body.startswith("Why does &lt;script&gt; &amp; the signer fail?")
    assert body.endswith("word…")
    assert len(_check(body)) <= 301
    _check(text)


def test_empty_context_is_left_out() -> None:
    assert "blockquote" not in finding_message(_transition(Change.OPENED), NOW, "en", context=" ")


def test_trim_words_cuts_at_a_word_boundary() -> None:
    assert trim_words("short", 300) == "short"
    assert trim_words("alpha beta gamma", 12) == "alpha beta…"
    assert trim_words("x" * 50, 10) == "x" * 10 + "…"  # no space: a hard cut


def test_english_wait_matches_wait_text() -> None:
    for minutes in (0, 45, 59, 60, 61 * 31):
        assert wait_words(timedelta(minutes=minutes), "en") == wait_text(timedelta(minutes=minutes))


# ---- splitting -----------------------------------------------------------------------------


def _long_message() -> str:
    lines = []
    for i in range(200):
        lines.append(f"<b>Heading {i} &amp; more</b>")
        lines.append(
            "<blockquote>"
            + f"quoted line {i} with &lt;tags&gt; &amp; &#x27;quotes&#x27; " * 2
            + "\nsecond line of the quote <i>italic &amp; more</i></blockquote>"
        )
        lines.append(f'<a href="https://x.example/{i}?a=1&amp;b=2">link {i}</a> plain text')
    return "\n".join(lines)


def _assert_parts(original: str, parts: list[str], limit: int) -> None:
    assert all(html_length(part) <= limit for part in parts)
    assert all(_entities_whole(part) for part in parts)
    assert "".join(_check(part) for part in parts) == _check(original)


def test_split_long_message_keeps_tags_balanced_and_text_whole() -> None:
    text = _long_message()
    assert len(text) > 20_000
    parts = split_message(text)
    assert len(parts) > 4
    _assert_parts(text, parts, 4096)


@pytest.mark.parametrize("limit", [97, 200, 501, 1000])
def test_split_small_limits(limit: int) -> None:
    text = _long_message()[:8000].rsplit("\n", 1)[0]
    _assert_parts(text, split_message(text, limit), limit)


def test_split_giant_line_inside_blockquote() -> None:
    text = "<b>Title</b>\n<blockquote>" + "abc &amp; déf " * 2000 + "</blockquote>\nend"
    parts = split_message(text, 4096)
    _assert_parts(text, parts, 4096)
    assert all(part.count("<blockquote>") == part.count("</blockquote>") for part in parts)
    assert parts[0].startswith("<b>Title</b>\n<blockquote>abc")  # the long line starts at once


def test_split_giant_word_is_cut_between_characters() -> None:
    text = "<i>" + "x" * 10_000 + "&amp;</i>"
    _assert_parts(text, split_message(text, 1000), 1000)


def test_split_counts_utf16_units() -> None:
    text = "\n".join(["😀" * 100] * 50)  # 200 UTF-16 units per line
    parts = split_message(text, 1000)
    assert all(html_length(part) <= 1000 for part in parts)
    assert "".join(parts) == text


def test_short_message_is_one_part() -> None:
    assert split_message("<b>hi</b>") == ["<b>hi</b>"]


# ---- /status and summary -------------------------------------------------------------------


def test_status_lines() -> None:
    stored = _transition(Change.OPENED).stored
    lines = status_lines([stored, (_finding("unanswered"), "Plain", "https://f/1")], NOW, "en")
    assert lines[0] == (
        f'• <a href="{"https://forum.example/t/fix-ship/42?x=&quot;1&quot;&amp;y=2"}">'
        "&lt;b&gt;Fix &amp; ship&lt;/b&gt;</a> — 3 comments, none from the developer: "
        "the topic looks handled but is not, waiting 31 h"
    )
    assert lines[1] == '• <a href="https://f/1">Plain</a> — no answer at all, waiting 31 h'


def test_status_messages_split_with_heading_first() -> None:
    items = [(_finding("unanswered"), f"Topic {i} <x>", f"https://f/{i}") for i in range(300)]
    messages = status_messages(items, NOW, "en", limit=2000)
    assert len(messages) > 1
    assert messages[0].startswith("<b>Topics with open findings: 300</b>\n")
    assert not any("open findings" in m for m in messages[1:])
    assert all(html_length(m) <= 2000 for m in messages)
    assert sum(m.count("• ") for m in messages) == 300
    for message in messages:
        _check(message)


def test_status_names_the_longest_waits_and_counts_the_rest() -> None:
    items = [(_finding("unanswered"), f"Topic {i}", f"https://f/{i}") for i in range(30)]
    messages = status_messages(items, NOW, "uk", total=34_000)
    assert messages[0].startswith("<b>Теми з відкритими порушеннями: 34000</b>\n")
    assert sum(m.count("• ") for m in messages) == 30
    assert messages[-1].endswith("… і ще 33970 тем (усі показує forumwatch findings на сервері)")


def test_status_empty() -> None:
    assert status_messages([], NOW, "en") == ["No open findings in your scope."]
    assert status_messages([], NOW, "uk") == [
        "У вашій зоні відповідальності немає відкритих порушень."
    ]


@pytest.mark.parametrize(
    ("count", "language", "text"),
    [
        (37, "en", "37 topics already ignored: /status lists them"),
        (1, "en", "1 topic already ignored: /status lists them"),
        (37, "uk", "Без відповіді вже 37 тем: /status покаже їх"),
        (22, "uk", "Без відповіді вже 22 теми: /status покаже їх"),
        (21, "ru", "Без ответа уже 21 тема: /status покажет их"),
        (11, "ru", "Без ответа уже 11 тем: /status покажет их"),
    ],
)
def test_summary_message(count: int, language: str, text: str) -> None:
    assert summary_message(count, language) == text


def test_the_bot_speaks_every_configured_language_completely() -> None:
    from forumwatch.telegram_bot.phrases import REPLIES as _TEXT

    for language in ("uk", "ru"):
        assert set(_TEXT[language]) == set(_TEXT["en"]), language
        for key, text in _TEXT[language].items():
            fields = {part.split("}")[0] for part in text.split("{")[1:]}
            english = {part.split("}")[0] for part in _TEXT["en"][key].split("{")[1:]}
            assert fields == english, (language, key)  # the same placeholders


# ---- links follow the forum's configured url ---------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "configured", "before", "shown"),
    [
        # a new host: path, query and fragment kept
        (
            "https://old.example/t/x/5?page=2#p3",
            "https://new.example",
            (),
            "https://new.example/t/x/5?page=2#p3",
        ),
        ("http://forum.example/t/x/5", "https://forum.example", (), "https://forum.example/t/x/5"),
        (
            "https://forum.example:8443/t/5",
            "https://forum.example",
            (),
            "https://forum.example/t/5",
        ),
        (
            "https://FORUM.example:443/t/5",
            "https://forum.example",
            (),
            "https://FORUM.example:443/t/5",
        ),
        # the same origin: as stored
        (
            "https://forum.example/t/x/5",
            "https://forum.example/",
            (),
            "https://forum.example/t/x/5",
        ),
        (
            "https://f.example/other/t/5",
            "https://f.example/forum",
            (),
            "https://f.example/other/t/5",
        ),
        # under a base the forum had before: that prefix gives way to the new one
        (
            "https://old.example/forum/t/x/5",
            "https://new.example/community",
            ("https://old.example/forum",),
            "https://new.example/community/t/x/5",
        ),
        (
            "https://old.example/forum",
            "https://new.example/c",
            ("https://old.example/forum/",),
            "https://new.example/c",
        ),
        (
            "https://old.example/t/x/5",
            "https://new.example/community",
            ("https://old.example",),
            "https://new.example/community/t/x/5",
        ),
        (
            "https://f.example/forum/t/5",
            "https://f.example",
            ("https://f.example/forum",),
            "https://f.example/t/5",
        ),
        # ... but not a look-alike path, and the closest base wins
        (
            "https://old.example/forums/t/5",
            "https://new.example/c",
            ("https://old.example/forum",),
            "https://new.example/forums/t/5",
        ),
        (
            "https://f.example/forum/t/5",
            "https://f.example/forum",
            ("https://f.example",),
            "https://f.example/forum/t/5",
        ),
        # credentials in the configured url never reach a message
        (
            "https://old.example/t/5",
            "https://bot:secret@new.example",
            (),
            "https://new.example/t/5",
        ),
        # not a web link, or nothing to rebase onto: as it is
        ("javascript:alert(1)", "https://new.example", (), "javascript:alert(1)"),
        ("", "https://new.example", (), ""),
        ("https://old.example/t/5", "not a url", (), "https://old.example/t/5"),
        (
            "https://old.example:99999/t/5",
            "https://new.example",
            (),
            "https://old.example:99999/t/5",
        ),
    ],
)
def test_rebase_url(stored: str, configured: str, before: tuple[str, ...], shown: str) -> None:
    assert rebase_url(stored, configured, before) == shown


def test_every_link_of_a_message_follows_the_forum() -> None:
    links = Links({"market": ForumHome("https://new.example")})
    opened = finding_message(_transition(Change.OPENED), NOW, "en", links=links)
    assert 'href="https://new.example/t/fix-ship/42?x=&quot;1&quot;&amp;y=2"' in opened
    resolved = finding_message(_transition(Change.RESOLVED), NOW, "en", links=links)
    assert 'href="https://new.example/t/fix-ship/42' in resolved
    summary = "Re-posted after 30 h of silence (first asked at https://forum.example/t/a/7)"
    reposted = _finding("reposted", summary=summary)
    text = finding_message(_transition(Change.OPENED, reposted), NOW, "en", links=links)
    assert '<a href="https://new.example/t/a/7">first asked here</a>' in text
    assert "forum.example" not in text
    status = status_lines([_transition(Change.OPENED).stored], NOW, "en", links)
    assert 'href="https://new.example/t/fix-ship/42' in status[0]


# ---- bursts ------------------------------------------------------------------------------------


def _burst(count: int, *, with_ids: bool = True) -> Finding:
    evidence = tuple(
        Evidence(
            1,
            f"shop_{n}",
            Role.AUTHOR,
            OPENED + timedelta(minutes=10 * n),
            note=f"#{300 + n} Signing <{n}> & fails",
            topic_id=str(300 + n) if with_ids else "",
        )
        for n in range(count)
    )
    return _finding("burst", Stage.ESCALATED, evidence=evidence, key=TopicKey("market", "300"))


def _burst_links(count: int) -> Links:
    urls = {
        TopicKey("market", str(300 + n)): f"https://forum.example/t/s/{300 + n}"
        for n in range(count)
    }
    return Links({"market": ForumHome("https://forum.example")}, urls)


@pytest.mark.parametrize(
    ("language", "rule", "waiting", "more"),
    [
        ("en", "likely outage: 12 topics at once", "— waiting 31 h", "… and 2 more topics"),
        ("uk", "ймовірно, збій: 12 тем одночасно", "— очікує 31 год", "… і ще 2 теми"),
        ("ru", "вероятно, сбой: 12 тем одновременно", "— ждёт 31 ч", "… и ещё 2 темы"),
    ],
)
def test_a_burst_lists_its_topics_with_links_and_counts_the_rest(
    language: str, rule: str, waiting: str, more: str
) -> None:
    finding = _burst(12)
    text = finding_message(
        _transition(Change.OPENED, finding), NOW, language, links=_burst_links(12)
    )
    listed = [line for line in text.splitlines() if line.startswith("• #")]
    assert rule in text
    assert len(listed) == 10
    assert listed[0] == (
        '• #300 <a href="https://forum.example/t/s/300">'
        f"Signing &lt;0&gt; &amp; fails</a> {waiting}"
    )
    assert more in text
    _check(text)


def test_a_small_burst_lists_every_topic_and_says_no_more() -> None:
    text = finding_message(_transition(Change.OPENED, _burst(3)), NOW, "en", links=_burst_links(3))
    assert [line[:6] for line in text.splitlines() if line.startswith("• #")] == [
        "• #300",
        "• #301",
        "• #302",
    ]
    assert "more" not in text


def test_a_burst_topic_without_a_stored_url_is_named_without_a_link() -> None:
    text = finding_message(_transition(Change.OPENED, _burst(2, with_ids=False)), NOW, "en")
    assert "• #300 Signing &lt;0&gt; &amp; fails — waiting 31 h" in text  # id read from the note


def test_a_burst_of_long_titles_stays_one_message() -> None:
    finding = _burst(10)
    long = tuple(replace(e, note=f"#{e.topic_id} " + "слово " * 200) for e in finding.evidence)
    links = Links({}, {key: url + "?" + "q" * 400 for key, url in _burst_links(10).topics.items()})
    text = finding_message(
        _transition(Change.OPENED, replace(finding, evidence=long)),
        NOW,
        "uk",
        context="питання " * 100,
        links=links,
    )
    assert html_length(text) <= 4096
    assert "… і ще" in text  # what does not fit is counted
    _check(text)


# ---- /status: a line per topic -----------------------------------------------------------------


def test_a_topic_is_one_line_with_every_rule_that_holds_on_it() -> None:
    both = StatusTopic(
        (
            _finding("no_diagnosis"),
            _finding("follow_up_ignored", opened_at=NOW - timedelta(hours=5)),
        ),
        "Plain",
        "https://f/1",
    )
    (line,) = status_lines([both], NOW, "en")
    assert line == (
        '• <a href="https://f/1">Plain</a> — acknowledged by staff, no developer diagnosis; '
        "the customer&#x27;s follow-up question is unanswered, waiting 31 h"
    )


@pytest.mark.parametrize(
    ("language", "note"),
    [
        ("en", "🚨 part of a likely outage: 3 topics at once"),
        ("uk", "🚨 частина ймовірного збою: 3 теми одночасно"),
        ("ru", "🚨 часть вероятного сбоя: 3 темы одновременно"),
    ],
)
def test_a_topic_inside_a_burst_says_so(language: str, note: str) -> None:
    burst = _burst(3)
    own = _finding("unanswered", key=TopicKey("market", "300"), evidence=())
    host = StatusTopic((burst, own), "First", "https://f/300")
    member = StatusTopic(
        (_finding("unanswered", key=TopicKey("market", "301"), evidence=()),),
        "Second",
        "https://f/301",
        burst,
    )
    only_burst = StatusTopic((burst,), "First", "https://f/300")
    host_line, member_line, only_line = status_lines([host, member, only_burst], NOW, language)
    assert host_line.endswith(f" · {note}") and member_line.endswith(f" · {note}")
    assert host_line.count("•") == 1 and "outage" not in host_line.split(" · ")[0]
    assert note not in only_line and rule_words(burst, language) in only_line


def test_status_counts_topics_in_its_heading_and_rest() -> None:
    items = [StatusTopic((_finding("unanswered"), _finding("burst")), "T", "https://f/1")]
    messages = status_messages(items, NOW, "ru", total=22)
    assert messages[0].startswith("<b>Темы с открытыми нарушениями: 22</b>")
    assert messages[-1].endswith("… и ещё 21 тема (все показывает forumwatch findings на сервере)")


def test_every_notification_phrase_exists_in_every_language() -> None:
    from forumwatch.telegram_bot.phrases import PHRASES as _PHRASES

    for language in ("uk", "ru"):
        assert set(_PHRASES[language]) == set(_PHRASES["en"]), language
        for key, text in _PHRASES[language].items():
            fields = {part.split("}")[0] for part in text.split("{")[1:]}
            english = {part.split("}")[0] for part in _PHRASES["en"][key].split("{")[1:]}
            assert fields == english, (language, key)


def test_bot_replies_name_roles_and_scopes_in_the_chats_language() -> None:
    from forumwatch.telegram_bot.phrases import REPLIES

    for language in ("uk", "ru"):
        words = REPLIES[language]
        for key in ("role_partner", "role_developer", "role_quality", "scope_forum", "scope_app"):
            english = REPLIES["en"][key].split("{")[0].strip()
            said = re.sub(r"\{\w+\}", "", words[key])  # the placeholders' names are English
            assert english not in said, (language, key, words[key])


def test_times_people_read_are_in_the_configured_zone_with_its_offset() -> None:
    from datetime import UTC, datetime

    from forumwatch.config.values import local_time

    winter = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 4, 12, 0, tzinfo=UTC)

    assert local_time(winter, "Europe/Kyiv") == "2026-03-04 14:00 +02:00"
    assert local_time(summer, "Europe/Kyiv") == "2026-07-04 15:00 +03:00"
    assert local_time(winter, "UTC") == "2026-03-04 12:00 UTC"


@pytest.mark.parametrize(
    ("language", "line"),
    [
        ("uk", "💳 платна тема · SLA 30 хв"),
        ("ru", "💳 платная тема · SLA 30 мин"),
        ("en", "💳 paid topic · SLA 30 min"),
    ],
)
def test_a_paid_topic_is_marked_with_its_deadline(language: str, line: str) -> None:
    finding = _finding("unanswered", policy="paid")
    text = finding_message(
        _transition(Change.OPENED, finding), NOW, language, target=timedelta(minutes=30)
    )
    assert text.splitlines()[3] == line  # after the header, the topic and the rule
    _check(text)
    vip = _finding("unanswered", policy="vip")
    assert "💳 vip · SLA 1 год" in finding_message(
        _transition(Change.OPENED, vip), NOW, "uk", target=timedelta(hours=1)
    )
    assert "💳" not in finding_message(_transition(Change.OPENED), NOW, language)


def test_resolution_words_have_every_phrase_with_the_same_placeholders() -> None:
    from forumwatch.notify.resolution_words import WORDS

    def shape(words: dict[str, str]) -> dict[str, list[str]]:
        return {key: sorted(re.findall(r"\{(\w+)\}", text)) for key, text in words.items()}

    assert shape(WORDS["uk"]) == shape(WORDS["en"]) == shape(WORDS["ru"])
