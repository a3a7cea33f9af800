"""The words of a Telegram notification and of /status: HTML parse mode, in Ukrainian, English
or Russian (the phrases are in phrases.py).

Pure functions. Everything that comes from a forum (titles, usernames, post bodies, URLs) is
escaped with `html.escape(quote=True)`; the only markup is Telegram's own <b>, <i>, <a href>,
<blockquote>. Long messages are cut by split.py; a topic link points at where its forum lives
now (links.py), whatever host it was stored with.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import NamedTuple, Protocol

from forumwatch.model import Change, Evidence, Finding, Stage, TopicKey, Transition
from forumwatch.notify.resolution_words import resolution_in
from forumwatch.telegram_bot.links import NO_LINKS, Links
from forumwatch.telegram_bot.phrases import DEFAULT_LANGUAGE, PHRASES, phrase_book, plural
from forumwatch.telegram_bot.split import TELEGRAM_LIMIT, html_length, split_message
from rules.clock import wait_text
from rules.reposts import first_asked_url

CONTEXT_CHARS = 300
BURST_LISTED = 10  # a burst's message names this many of its topics and counts the rest
BURST_TITLE_CHARS = 80  # each listed title is trimmed to this
BURST_LIST_BUDGET = 2500  # UTF-16 units the list may take, so the message stays one message


class StatusItem(Protocol):
    """What /status needs of a stored finding (StoredFinding fits)."""

    @property
    def finding(self) -> Finding: ...
    @property
    def title(self) -> str: ...
    @property
    def url(self) -> str: ...


@dataclass(frozen=True)
class StatusTopic:
    """One /status line: a topic with its open findings, and the open burst it belongs to.

    A topic is one line however many rules hold on it (a burst's first topic holds the burst
    and its own `unanswered`), so a partner reads one entry per customer waiting."""

    findings: tuple[Finding, ...]  # the topic's open findings (not empty), evidence loaded
    title: str
    url: str
    burst: Finding | None = None  # an open burst hosted on another topic that groups this one

    @property
    def key(self) -> TopicKey:
        return self.findings[0].key

    @property
    def opened_at(self) -> datetime:
        """When the topic's longest wait began."""
        return min(f.opened_at for f in self.findings)


StatusEntry = StatusTopic | StatusItem | tuple[Finding, str, str]


def wait_words(waited: timedelta, language: str) -> str:
    """`rules.clock.wait_text` in the language: '45 min' / '31 h', '45 хв' / '31 год'."""
    words = phrase_book(language)
    if words is PHRASES["en"]:
        return wait_text(waited)
    minutes = max(0, int(waited.total_seconds() // 60))
    short, long = words["units"].split("|")
    return f"{minutes} {short}" if minutes < 60 else f"{minutes // 60} {long}"


def rule_words(finding: Finding, language: str) -> str:
    """What the rule means, in plain words (plain text, not yet escaped)."""
    words = phrase_book(language)
    phrase = words.get(finding.rule) if finding.rule in _RULES else None
    if phrase is None:
        return finding.rule
    n = len(finding.evidence)
    return phrase.format(
        n=n,
        comments=plural(n, words["comments"], language),
        topics=plural(n, words["topics"], language),
    )


_RULES = frozenset(
    {"unanswered", "masked_silence", "no_diagnosis", "follow_up_ignored", "reposted", "burst"}
)


# ---- pieces of HTML ------------------------------------------------------------------------


def _esc(text: str) -> str:
    return escape(text, quote=True)


def topic_link(title: str, url: str, fallback: str) -> str:
    """The escaped title as a link; no link for an empty or non-web URL (Telegram rejects it)."""
    label = _esc(title.strip() or fallback)
    if not url.lower().startswith(("http://", "https://")):
        return label
    return f'<a href="{_esc(url)}">{label}</a>'


def _header(label: str, finding: Finding) -> str:
    key = finding.key
    return f"<b>{label} · {_esc(key.forum_id)} #{_esc(key.topic_id)}</b>"


def quote_context(context: str, language: str, limit: int = CONTEXT_CHARS) -> str:
    """The customer's last question in a <blockquote>, trimmed at a word boundary."""
    heading = _esc(phrase_book(language)["context"])
    return f"<i>{heading}</i>\n<blockquote>{_esc(trim_words(context, limit))}</blockquote>"


def trim_words(text: str, limit: int = CONTEXT_CHARS) -> str:
    """`text` cut to at most `limit` characters plus '…', at a word boundary where there is one."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    if not text[limit].isspace():
        space = max(cut.rfind(" "), cut.rfind("\n"))
        cut = cut[:space] if space > limit // 2 else cut
    return cut.rstrip() + "…"


def _silence_line(finding: Finding, now: datetime, language: str) -> str:
    words = phrase_book(language)
    wait = wait_words(now - finding.opened_at, language)
    if finding.silent:
        names = ", ".join(_esc(name) for name in finding.silent)
        return words["silent"].format(wait=wait, names=names)
    return words["waiting_only"].format(wait=wait)


# ---- messages ------------------------------------------------------------------------------


def finding_message(
    transition: Transition,
    now: datetime,
    language: str = DEFAULT_LANGUAGE,
    *,
    context: str | None = None,
    heads_up: bool = False,
    links: Links = NO_LINKS,
    target: timedelta | None = None,
) -> str:
    """The HTML message for an opened, escalated or resolved finding, or a deadline heads-up.

    `target`: the deadline of the finding's SLA policy (a paid topic is marked "платна тема ·
    SLA 30 хв"). `context` (for developers) is the customer's last question, quoted and trimmed.
    `links`
    points stored links at where each forum lives now and holds the URLs of a burst's topics:
    a burst's message lists them, since a partner must know which topics the outage groups.
    """
    if transition.change is Change.RESOLVED and not heads_up:
        return _resolved_message(transition, now, language, links)
    if transition.change is Change.UPDATED and not heads_up:
        raise ValueError("an updated finding notifies nobody: there is no message for it")
    stored = transition.stored
    finding = stored.finding
    label = _stage_label(transition, now, language, heads_up)
    url = links.url(finding.key.forum_id, stored.url)
    lines = [
        _header(label, finding),
        topic_link(stored.title, url, f"#{finding.key.topic_id}"),
        _esc(rule_words(finding, language)),
        *_policy_line(finding, target, language),
        *_burst_lines(finding, now, language, links),
        _silence_line(finding, now, language),
    ]
    if first_url := first_asked_url(finding):
        first_url = links.url(finding.key.forum_id, first_url)
        lines.insert(3, f"↩️ {topic_link(phrase_book(language)['first_asked'], first_url, '')}")
    if context and context.strip():
        lines.append(quote_context(context, language))
    return "\n".join(lines)


def _policy_line(finding: Finding, target: timedelta | None, language: str) -> list[str]:
    """The SLA policy the finding's clock runs on, e.g. "💳 платна тема · SLA 30 хв" (a policy
    named `paid` is said in the chat's language, others by their name); none for the default."""
    if not finding.policy or target is None:
        return []
    words = phrase_book(language)
    name = words["paid"] if finding.policy.casefold() == "paid" else finding.policy
    return [_esc(words["policy"].format(policy=name, wait=wait_words(target, language)))]


def _stage_label(transition: Transition, now: datetime, language: str, heads_up: bool) -> str:
    words = phrase_book(language)
    finding = transition.stored.finding
    if heads_up:
        return words["heads_up"].format(wait=wait_words(finding.due_at - now, language))
    escalated = transition.change is Change.ESCALATED or finding.stage is Stage.ESCALATED
    return words["escalated"] if escalated else words["overdue"]


def _resolved_message(transition: Transition, now: datetime, language: str, links: Links) -> str:
    stored, words = transition.stored, phrase_book(language)
    finding = stored.finding
    how = resolution_in(stored.resolution.strip(), language) or words["no_longer"].format(
        wait=wait_words(now - finding.opened_at, language)
    )
    url = links.url(finding.key.forum_id, stored.url)
    return "\n".join(
        [
            _header(words["resolved"], finding),
            topic_link(stored.title, url, f"#{finding.key.topic_id}"),
            _esc(how),
        ]
    )


def summary_message(count: int, language: str = DEFAULT_LANGUAGE) -> str:
    """For a new subscriber with a backlog: '37 topics already ignored: /status lists them'."""
    words = phrase_book(language)
    return words["summary"].format(n=count, topics=plural(count, words["topics"], language))


# ---- bursts --------------------------------------------------------------------------------

_BURST_NOTE = re.compile(r"#(\S+) ?(.*)", re.DOTALL)


class GroupedTopic(NamedTuple):
    """A topic a burst groups, as its evidence names it."""

    topic_id: str
    title: str
    created_at: datetime


def burst_topics(finding: Finding) -> list[GroupedTopic]:
    """The topics a burst finding groups (those still waiting), oldest first; none for other
    rules. Each is read from its evidence: `topic_id`, and the note '#<id> <title>'."""
    if finding.rule != "burst":
        return []
    return [_grouped(e) for e in finding.evidence]


def _grouped(evidence: Evidence) -> GroupedTopic:
    match = _BURST_NOTE.fullmatch(evidence.note)
    topic_id = evidence.topic_id or (match[1] if match else "")  # stored before topic_id was
    title = match[2] if match and match[1] == topic_id else evidence.note
    return GroupedTopic(topic_id, title, evidence.created_at)


def _burst_lines(finding: Finding, now: datetime, language: str, links: Links) -> list[str]:
    """'• #131 <a href=url>title</a> — waiting 3 h' for each topic a burst groups, up to
    BURST_LISTED (and as many as fit in BURST_LIST_BUDGET), then '… and N more topics'."""
    words, grouped = phrase_book(language), burst_topics(finding)
    lines: list[str] = []
    used = 0
    for topic in grouped[:BURST_LISTED]:
        url = links.topic(TopicKey(finding.key.forum_id, topic.topic_id))
        link = topic_link(trim_words(topic.title, BURST_TITLE_CHARS), url, "")
        wait = words["status_wait"].format(wait=wait_words(now - topic.created_at, language))
        line = f"• #{_esc(topic.topic_id)} {link} — {wait}"
        used += html_length(line) + 1
        if used > BURST_LIST_BUDGET:
            break
        lines.append(line)
    rest = len(grouped) - len(lines)
    if rest:
        topics = plural(rest, words["topics"], language)
        lines.append(_esc(words["burst_more"].format(n=rest, topics=topics)))
    return lines


# ---- /status -------------------------------------------------------------------------------


def _as_topic(item: StatusEntry) -> StatusTopic:
    """A single finding (a StoredFinding, or (finding, title, url)) as a line of its own."""
    if isinstance(item, StatusTopic):
        return item
    if isinstance(item, tuple):
        finding, title, url = item
        return StatusTopic((finding,), title, url)
    return StatusTopic((item.finding,), item.title, item.url)


def status_lines(
    items: Iterable[StatusEntry],
    now: datetime,
    language: str = DEFAULT_LANGUAGE,
    links: Links = NO_LINKS,
) -> list[str]:
    """One line per topic: '• <a href=url>title</a> — rule words, waiting 31 h', with
    '🚨 part of a likely outage: 3 topics at once' for a topic an open burst groups."""
    return [_status_line(_as_topic(item), now, language, links) for item in items]


def _status_line(item: StatusTopic, now: datetime, language: str, links: Links) -> str:
    words, key = phrase_book(language), item.key
    own = [f for f in item.findings if f.rule != "burst"]
    burst = item.burst or next((f for f in item.findings if f.rule == "burst"), None)
    shown = own or ([burst] if burst else [])
    rules = "; ".join(dict.fromkeys(rule_words(f, language) for f in shown))
    url = links.url(key.forum_id, item.url)
    link = topic_link(item.title, url, f"{key.forum_id} #{key.topic_id}")
    wait = words["status_wait"].format(wait=wait_words(now - item.opened_at, language))
    line = f"• {link} — {_esc(rules)}, {wait}"
    if own and burst is not None:
        n = len(burst.evidence)
        note = words["in_burst"].format(n=n, topics=plural(n, words["topics"], language))
        line += f" · {_esc(note)}"
    return line


def status_messages(
    items: Sequence[StatusEntry],
    now: datetime,
    language: str = DEFAULT_LANGUAGE,
    limit: int = TELEGRAM_LIMIT,
    total: int | None = None,
    links: Links = NO_LINKS,
) -> list[str]:
    """The /status answer as messages under `limit`, the heading in the first one, a line per
    topic. `total`: how many topics there are when `items` lists only the longest waiting."""
    words = phrase_book(language)
    if not items:
        return [_esc(words["status_empty"])]
    total = max(total or 0, len(items))
    heading = f"<b>{_esc(words['status_heading'].format(n=total))}</b>"
    lines = [heading, *status_lines(items, now, language, links)]
    if total > len(items):
        rest = total - len(items)
        topics = plural(rest, words["topics"], language)
        lines.append(_esc(words["status_more"].format(n=rest, topics=topics)))
    return split_message("\n".join(lines), limit)


# ---- splitting -----------------------------------------------------------------------------
