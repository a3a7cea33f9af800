"""The words of a Telegram notification: HTML parse mode, in Ukrainian, English or Russian.

Pure functions. Everything that comes from a forum (titles, usernames, post bodies, URLs) is
escaped with `html.escape(quote=True)`; the only markup is Telegram's own <b>, <i>, <a href>,
<blockquote>. `split_message` cuts long messages into parts Telegram accepts, closing the tags
a cut interrupts and reopening them in the next part. A topic link points at where its forum
lives now (`rebase_url`: the configured url), whatever host it was stored with.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape
from typing import Literal, NamedTuple, Protocol
from urllib.parse import SplitResult, urlsplit, urlunsplit

from forumwatch.model import Change, Evidence, Finding, Stage, TopicKey, Transition
from rules.clock import wait_text
from rules.reposts import first_asked_url

TELEGRAM_LIMIT = 4096
CONTEXT_CHARS = 300
DEFAULT_LANGUAGE = "uk"
BURST_LISTED = 10  # a burst's message names this many of its topics and counts the rest
BURST_TITLE_CHARS = 80  # each listed title is trimmed to this
BURST_LIST_BUDGET = 2500  # UTF-16 units the list may take, so the message stays one message

# Plural forms: English (one, other); Ukrainian and Russian (one, few, many).
_PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "overdue": "⚠️ OVERDUE",
        "escalated": "🔺 ESCALATED",
        "resolved": "✅ RESOLVED",
        "heads_up": "⏳ DEADLINE IN {wait}",
        "unanswered": "no answer at all",
        "masked_silence": "{n} {comments}, none from the developer: "
        "the topic looks handled but is not",
        "comments": "comment|comments",
        "no_diagnosis": "acknowledged by staff, no developer diagnosis",
        "follow_up_ignored": "the customer's follow-up question is unanswered",
        "reposted": "the customer asked again in a new topic: the first one got no answer",
        "first_asked": "first asked here",
        "burst": "likely outage: {n} {topics} at once; acknowledge once, publicly, for everyone",
        "silent": "🤐 Silent for {wait}: {names}",
        "waiting_only": "⏱ Waiting for {wait}",
        "status_wait": "waiting {wait}",
        "context": "The customer's last question:",
        "no_longer": "no longer flagged after {wait}",
        "burst_more": "… and {n} more {topics}",
        "in_burst": "🚨 part of a likely outage: {n} {topics} at once",
        "status_heading": "Topics with open findings: {n}",
        "status_more": "… and {n} more {topics} "
        "(forumwatch findings on the server lists every one)",
        "status_empty": "No open findings in your scope.",
        "summary": "{n} {topics} already ignored: /status lists them",
        "topics": "topic|topics",
        "units": "min|h",
    },
    "uk": {
        "overdue": "⚠️ ПРОСТРОЧЕНО",
        "escalated": "🔺 ЕСКАЛАЦІЯ",
        "resolved": "✅ ВИРІШЕНО",
        "heads_up": "⏳ ДЕДЛАЙН ЧЕРЕЗ {wait}",
        "unanswered": "жодної відповіді",
        "masked_silence": "{n} {comments}, жодного від розробника: "
        "тема виглядає опрацьованою, але це не так",
        "comments": "коментар|коментарі|коментарів",
        "no_diagnosis": "персонал відповів, діагнозу від розробника немає",
        "follow_up_ignored": "уточнювальне питання клієнта без відповіді",
        "reposted": "клієнт створив тему повторно: першу залишили без відповіді",
        "first_asked": "уперше запитали тут",
        "burst": "ймовірно, збій: {n} {topics} одночасно; дайте одну публічну відповідь для всіх",
        "silent": "🤐 Мовчать уже {wait}: {names}",
        "waiting_only": "⏱ Очікує вже {wait}",
        "status_wait": "очікує {wait}",
        "context": "Останнє питання клієнта:",
        "no_longer": "більше не порушення, минуло {wait}",
        "burst_more": "… і ще {n} {topics}",
        "in_burst": "🚨 частина ймовірного збою: {n} {topics} одночасно",
        "status_heading": "Теми з відкритими порушеннями: {n}",
        "status_more": "… і ще {n} {topics} (усі показує forumwatch findings на сервері)",
        "status_empty": "У вашій зоні відповідальності немає відкритих порушень.",
        "summary": "Без відповіді вже {n} {topics}: /status покаже їх",
        "topics": "тема|теми|тем",
        "units": "хв|год",
    },
    "ru": {
        "overdue": "⚠️ ПРОСРОЧЕНО",
        "escalated": "🔺 ЭСКАЛАЦИЯ",
        "resolved": "✅ РЕШЕНО",
        "heads_up": "⏳ СРОК ЧЕРЕЗ {wait}",
        "unanswered": "ответа нет вообще",
        "masked_silence": "{n} {comments}, ни одного от разработчика: "
        "тема выглядит обработанной, но это не так",
        "comments": "комментарий|комментария|комментариев",
        "no_diagnosis": "персонал ответил, диагноза от разработчика нет",
        "follow_up_ignored": "уточняющий вопрос клиента остался без ответа",
        "reposted": "клиент создал тему повторно: первую оставили без ответа",
        "first_asked": "впервые спросили здесь",
        "burst": "вероятно, сбой: {n} {topics} одновременно; дайте один публичный ответ для всех",
        "silent": "🤐 Молчат уже {wait}: {names}",
        "waiting_only": "⏱ Ждёт уже {wait}",
        "status_wait": "ждёт {wait}",
        "context": "Последний вопрос клиента:",
        "no_longer": "больше не нарушение, прошло {wait}",
        "burst_more": "… и ещё {n} {topics}",
        "in_burst": "🚨 часть вероятного сбоя: {n} {topics} одновременно",
        "status_heading": "Темы с открытыми нарушениями: {n}",
        "status_more": "… и ещё {n} {topics} (все показывает forumwatch findings на сервере)",
        "status_empty": "В вашей зоне ответственности нет открытых нарушений.",
        "summary": "Без ответа уже {n} {topics}: /status покажет их",
        "topics": "тема|темы|тем",
        "units": "мин|ч",
    },
}


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


# ---- links ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ForumHome:
    """Where a forum's topics live now (its configured `url`) and the URLs it was polled
    under before, newest first: stored links under those are pointed here."""

    url: str
    before: tuple[str, ...] = ()


@dataclass(frozen=True)
class Links:
    """Where a message's links point: each forum's home, and the stored URLs of the topics a
    message names besides its own (a burst's). Empty: links are shown as stored."""

    forums: Mapping[str, ForumHome] = field(default_factory=dict)
    topics: Mapping[TopicKey, str] = field(default_factory=dict)

    def url(self, forum_id: str, url: str) -> str:
        """A stored link of the forum, pointed at where the forum lives now."""
        home = self.forums.get(forum_id)
        return rebase_url(url, home.url, home.before) if home else url

    def topic(self, key: TopicKey) -> str:
        """The link of a topic the message names besides its own ("" when not stored)."""
        return self.url(key.forum_id, self.topics.get(key, ""))


NO_LINKS = Links()


class _Base(NamedTuple):
    scheme: str
    host: str
    port: int
    path: str  # without a trailing "/"
    netloc: str  # host and port as written, without credentials


def _base(url: str) -> _Base | None:
    """A web URL's origin and path, or None for anything else (no link is made of it)."""
    try:
        parts = urlsplit(url.strip())
        scheme, host = parts.scheme.lower(), parts.hostname
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:  # a port out of range, a broken IPv6 literal
        return None
    if scheme not in ("http", "https") or not host:
        return None
    return _Base(scheme, host, port, parts.path.rstrip("/"), parts.netloc.rpartition("@")[2])


def _holds(base: _Base, link: _Base, path: str) -> bool:
    """True when `link` (its full `path`) lies under `base`: same origin, path prefix at a '/'."""
    same_origin = base[:3] == link[:3]
    return same_origin and (path == base.path or path.startswith(base.path + "/"))


def rebase_url(url: str, forum_url: str, before: Sequence[str] = ()) -> str:
    """`url`, a stored topic link, pointed at where the forum lives now (`forum_url`).

    Topics and findings keep the URL they were scraped with, so after an admin moves a forum
    (a new host) the store still links to the old one. The base that holds `url` most closely
    decides: the forum's own `forum_url` leaves it as it is; a base it had `before` gives way
    to `forum_url`, origin and path prefix both (`/forum/t/x/5` under an old `/forum` becomes
    `/community/t/x/5` under a new `/community`). A link under no known base on another
    scheme, host or port keeps its path, query and fragment on the configured host. Anything
    that is not a web link is returned as it is.
    """
    home, link = _base(forum_url), _base(url)
    if home is None or link is None:
        return url
    parts = urlsplit(url.strip())
    bases = [(home, True), *((b, False) for b in map(_base, before) if b is not None)]
    holding = [(base, own) for base, own in bases if _holds(base, link, parts.path)]
    if holding:  # the closest (longest path) base; the forum's own wins a tie
        base, own = max(holding, key=lambda held: len(held[0].path))
        if own:
            return url
        path = home.path + parts.path[len(base.path) :]
    elif link[:3] == home[:3]:
        return url
    else:
        path = parts.path
    return urlunsplit(SplitResult(home.scheme, home.netloc, path, parts.query, parts.fragment))


# ---- phrases -------------------------------------------------------------------------------


def _words(language: str) -> dict[str, str]:
    """The phrase book of `language`; Ukrainian for a language we do not speak."""
    return _PHRASES.get(language, _PHRASES[DEFAULT_LANGUAGE])


def _plural(n: int, forms: str, language: str) -> str:
    """The form of a noun for `n`: 'one|other' in English, 'one|few|many' in uk and ru."""
    options = forms.split("|")
    if len(options) == 2:
        return options[0] if n == 1 else options[1]
    if n % 10 == 1 and n % 100 != 11:
        return options[0]
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return options[1]
    return options[2]


def wait_words(waited: timedelta, language: str) -> str:
    """`rules.clock.wait_text` in the language: '45 min' / '31 h', '45 хв' / '31 год'."""
    words = _words(language)
    if words is _PHRASES["en"]:
        return wait_text(waited)
    minutes = max(0, int(waited.total_seconds() // 60))
    short, long = words["units"].split("|")
    return f"{minutes} {short}" if minutes < 60 else f"{minutes // 60} {long}"


def rule_words(finding: Finding, language: str) -> str:
    """What the rule means, in plain words (plain text, not yet escaped)."""
    words = _words(language)
    phrase = words.get(finding.rule) if finding.rule in _RULES else None
    if phrase is None:
        return finding.rule
    n = len(finding.evidence)
    return phrase.format(
        n=n,
        comments=_plural(n, words["comments"], language),
        topics=_plural(n, words["topics"], language),
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
    heading = _esc(_words(language)["context"])
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
    words = _words(language)
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
) -> str:
    """The HTML message for an opened, escalated or resolved finding, or a deadline heads-up.

    `context` (for developers) is the customer's last question, quoted and trimmed. `links`
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
        *_burst_lines(finding, now, language, links),
        _silence_line(finding, now, language),
    ]
    if first_url := first_asked_url(finding):
        first_url = links.url(finding.key.forum_id, first_url)
        lines.insert(3, f"↩️ {topic_link(_words(language)['first_asked'], first_url, '')}")
    if context and context.strip():
        lines.append(quote_context(context, language))
    return "\n".join(lines)


def _stage_label(transition: Transition, now: datetime, language: str, heads_up: bool) -> str:
    words = _words(language)
    finding = transition.stored.finding
    if heads_up:
        return words["heads_up"].format(wait=wait_words(finding.due_at - now, language))
    escalated = transition.change is Change.ESCALATED or finding.stage is Stage.ESCALATED
    return words["escalated"] if escalated else words["overdue"]


def _resolved_message(transition: Transition, now: datetime, language: str, links: Links) -> str:
    stored, words = transition.stored, _words(language)
    finding = stored.finding
    how = stored.resolution.strip() or words["no_longer"].format(
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
    words = _words(language)
    return words["summary"].format(n=count, topics=_plural(count, words["topics"], language))


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
    words, grouped = _words(language), burst_topics(finding)
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
        topics = _plural(rest, words["topics"], language)
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
    words, key = _words(language), item.key
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
        note = words["in_burst"].format(n=n, topics=_plural(n, words["topics"], language))
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
    words = _words(language)
    if not items:
        return [_esc(words["status_empty"])]
    total = max(total or 0, len(items))
    heading = f"<b>{_esc(words['status_heading'].format(n=total))}</b>"
    lines = [heading, *status_lines(items, now, language, links)]
    if total > len(items):
        rest = total - len(items)
        topics = _plural(rest, words["topics"], language)
        lines.append(_esc(words["status_more"].format(n=rest, topics=topics)))
    return split_message("\n".join(lines), limit)


# ---- splitting -----------------------------------------------------------------------------

# A tag, an entity, a word with its trailing spaces, a run of spaces, or a stray '<' / '&'.
_TOKEN = re.compile(
    r"<[^<>]*>|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);|[^<&\s]+[^\S\n]*|\s+|[<&]"
)
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)")


def html_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units), of the raw HTML: conservative."""
    return len(text.encode("utf-16-le")) // 2


def _apply_tags(stack: tuple[str, ...], html: str) -> tuple[str, ...]:
    """The open tags (as written, e.g. '<a href="…">') after `html` follows `stack`."""
    result = list(stack)
    for token in _TOKEN.findall(html):
        match = _TAG.match(token) if token.startswith("<") else None
        if match is None:
            continue
        name = match.group(2).lower()
        if not match.group(1):
            result.append(token)
            continue
        for depth in range(len(result) - 1, -1, -1):
            if _tag_name(result[depth]) == name:
                del result[depth:]
                break
    return tuple(result)


def _tag_name(open_tag: str) -> str:
    match = _TAG.match(open_tag)
    return match.group(2).lower() if match else ""


_Splitter = Literal["tokens", "chars", "none"]


def _closers(stack: tuple[str, ...]) -> str:
    return "".join(f"</{_tag_name(tag)}>" for tag in reversed(stack))


class _Packer:
    """Fills parts of at most `limit` units, closing and reopening tags across a cut."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.body: list[str] = []
        self.size = 0
        self.fresh = True  # nothing but reopened tags in the current part
        self.stack: tuple[str, ...] = ()

    def fits(self, piece: str, after: tuple[str, ...]) -> bool:
        return self.size + html_length(piece) + html_length(_closers(after)) <= self.limit

    def append(self, piece: str, after: tuple[str, ...]) -> None:
        self.body.append(piece)
        self.size += html_length(piece)
        self.stack = after
        self.fresh = False

    def flush(self) -> None:
        """End the current part, closing its open tags; reopen them in the next."""
        self.parts.append("".join(self.body) + _closers(self.stack))
        reopened = "".join(self.stack)
        self.body, self.size, self.fresh = [reopened], html_length(reopened), True

    def add(self, piece: str, *, splitter: _Splitter) -> None:
        """Add `piece`, starting a new part when it does not fit; cut it smaller if still not."""
        after = _apply_tags(self.stack, piece)
        if self.fits(piece, after):
            self.append(piece, after)
        elif splitter != "none" and not self.fits_fresh(piece, after):
            self.cut(piece, splitter)  # too long for any part: fill this one up first
        else:
            if not self.fresh:
                self.flush()
            self.append(piece, after)  # fits now, or is a tag or entity nobody may cut

    def fits_fresh(self, piece: str, after: tuple[str, ...]) -> bool:
        """Whether `piece` fits in a part that holds nothing but reopened tags."""
        reopened = html_length("".join(self.stack))
        return reopened + html_length(piece) + html_length(_closers(after)) <= self.limit

    def cut(self, piece: str, splitter: _Splitter) -> None:
        if splitter == "tokens":
            for token in _TOKEN.findall(piece):
                self.add(token, splitter="chars" if token[0] not in "<&" else "none")
        else:
            for char in piece:
                self.add(char, splitter="none")

    def finish(self) -> list[str]:
        if not self.fresh:
            self.parts.append("".join(self.body) + _closers(self.stack))
        return self.parts


def split_message(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """`text` as parts of at most `limit` UTF-16 units of raw HTML, cut at line ends.

    A line too long on its own is cut between words (or, for a giant word, characters), never
    inside a tag or an entity. Tags open at a cut are closed at the part's end and reopened at
    the next part's start. Only a single tag longer than `limit` can make a part too long.
    """
    if html_length(text) <= limit:
        return [text]
    packer = _Packer(limit)
    for line in text.splitlines(keepends=True):
        packer.add(line, splitter="tokens")
    return packer.finish()


def plain_text(html_text: str) -> str:
    """Telegram HTML as the reader sees it: tags gone, entities decoded (for terminals)."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))
