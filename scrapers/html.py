"""Any HTML forum, read through a selector profile (see scrapers.profile): topic-list pages give
the topics and their change detectors, topic pages give the posts.

A page that no longer matches its profile is a LayoutChanged error for the whole forum, never a
guess: a list page with no topic, a topic page with no post, a post without an author or with a
date that cannot be read. A redesign then reaches the admin as one clear error instead of every
topic turning "ignored" at once.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx
from selectolax.lexbor import LexborHTMLParser, LexborNode

from forumwatch.model import Author, Post, PostKind, Topic, TopicState
from scrapers.base import (
    BadResponse,
    ForumSettings,
    LayoutChanged,
    TopicSummary,
    all_known,
    all_too_old,
    list_cutoff,
    max_pages_reached,
    register,
)
from scrapers.dates import UnparseableDate, parse_forum_date
from scrapers.encoding import decode_page
from scrapers.http import Page as FetchedPage
from scrapers.http import PoliteClient, Validators
from scrapers.profile import Profile
from scrapers.robots import RobotsRules
from scrapers.text import excerpt
from scrapers.validate import check_topic, latest_plausible

MAX_TOPIC_PAGES = 200  # a safety net against a "next page" link that never ends
PROFILE_FIX = (
    "the forum's markup may have changed: run `forumwatch check-config --probe` and fix its profile"
)
NOT_TEXT = ("script", "style", "template")
# quoted posts, not the author's words: phpBB, MyBB, XenForo (blockquote.bbCodeBlock--quote),
# SMF (blockquote.bbc_standard_quote, 2.0's header div.quoteheader), vBulletin (.bbcode_quote),
# Spirit and Misago (blockquote); vBulletin 4 holds a post's own text in blockquote.postcontent
QUOTES = "blockquote:not(.postcontent), .quote, .bbcode_quote, .quote-block, .quoteheader"
DATE_FIX = "check the forum's language and timezone, or the profile's topic.date/date_attr"


@dataclass(frozen=True)
class HtmlPage:
    url: str  # after redirects: relative links resolve against it
    document: LexborHTMLParser
    fetched_at: datetime  # what relative dates ("5 минут назад") count back from


@register("html")
class HtmlScraper:
    """Reads a forum's topic list and topic pages as HTML, politely and incrementally."""

    engine: ClassVar[str] = "html"

    def __init__(
        self, settings: ForumSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        self.profile = Profile.model_validate(settings.profile)
        self.http = PoliteClient(settings, transport=transport)
        self.robots = RobotsRules(self.http, settings) if settings.respect_robots else None
        self.warnings: list[str] = []
        self.not_after: datetime | None = None  # the pipeline may set max(clock, --now) + slack
        # URL → [ETag, Last-Modified] of the first list page, kept between runs by the pipeline:
        # an incremental poll asks "changed since?" and a 304 ends it with one tiny request
        self.page_validators: dict[str, list[str | None]] = {}

    async def aclose(self) -> None:
        await self.http.aclose()

    async def list_topics(
        self, known: Mapping[str, str], since: datetime | None, *, exhaustive: bool = False
    ) -> AsyncIterator[TopicSummary]:
        """Topics from the list page at the forum's url and its next pages, each once, stopping
        at a page with nothing new (unless exhaustive), at topics older than `since`, at the last
        page or at max_pages."""
        cutoff = list_cutoff(self.settings, since)
        url: str | None = self.settings.url
        seen_pages: set[str] = set()
        seen_topics: set[str] = set()
        for number in range(max(1, self.settings.max_pages)):
            if url is None or url in seen_pages:
                return
            seen_pages.add(url)
            if number == 0:
                page = await self._first_list_page(url, conditional=not exhaustive)
                if page is None:
                    return  # 304: the list is as it was, so is every topic on it
            else:
                page = await self.page(url)
            summaries = self.summaries(page, first_page=number == 0)
            for summary in summaries:
                fresh = summary.bumped_at is None or summary.bumped_at >= cutoff
                if fresh and summary.topic_id not in seen_topics:
                    seen_topics.add(summary.topic_id)
                    yield summary
            if all_too_old(summaries, cutoff):
                return
            if not exhaustive and all_known(summaries, known, cutoff):
                return
            url = self._link(page, self.profile.topic_list.next_page)
        if url is not None and url not in seen_pages:
            self.warnings.append(max_pages_reached(self.settings))

    async def _first_list_page(self, url: str, *, conditional: bool) -> HtmlPage | None:
        """The list's first page, None when a conditional request says it has not changed."""
        validators = self.page_validators.get(url) if conditional else None
        fetched = await self._get(url, (validators[0], validators[1]) if validators else None)
        if fetched.not_modified:
            return None
        if fetched.validators is not None:
            self.page_validators[url] = list(fetched.validators)
        else:
            self.page_validators.pop(url, None)
        return self._parsed(fetched)

    def summaries(self, page: HtmlPage, *, first_page: bool = True) -> list[TopicSummary]:
        """One summary per topic-list item of a page."""
        selectors = self.profile.topic_list
        items = page.document.css(selectors.item)
        if not items and first_page:
            raise self._layout(page.url, f"no element matches topic_list.item {selectors.item!r}")
        return [self._summary(item, page) for item in items]

    def _summary(self, item: LexborNode, page: HtmlPage) -> TopicSummary:
        selectors = self.profile.topic_list
        link = item.css_first(selectors.link)
        href = link.attributes.get("href") if link is not None else None
        if link is None or not href or not href.strip():
            problem = f"a topic-list item has no link matching topic_list.link {selectors.link!r}"
            raise self._layout(page.url, problem)
        url = urldefrag(urljoin(page.url, href.strip())).url
        replies = _text(item.css_first(selectors.replies)) if selectors.replies else ""
        activity_el = item.css_first(selectors.last_activity) if selectors.last_activity else None
        activity = _value(activity_el, selectors.last_activity_attr)
        bumped_at = self._date(activity, page, "topic_list.last_activity") if activity else None
        pinned = bool(selectors.pinned and item.css_first(selectors.pinned))
        if replies or activity:
            # a relative "5 минут назад" rereads differently each poll: the parsed time, to the
            # minute, is the stable detector then; replies count every new post
            marker = f"{_digits(replies)}|{bumped_at:%Y-%m-%dT%H:%M}" if bumped_at else replies
        else:  # nothing on the list tells a change: read every listed topic each poll
            marker = f"unknown@{page.fetched_at.isoformat()}"
        return TopicSummary(
            topic_id=self._topic_id(url),
            marker=marker,
            bumped_at=bumped_at,
            pinned=pinned,
            extra={"url": url, "title": _text(link)},
        )

    def _topic_id(self, url: str) -> str:
        parts = urlsplit(url)
        for where in (parts.path, parts.query):
            match = re.search(self.profile.topic_list.id_pattern, where)
            if match:
                return match.group(1) if match.groups() else match.group(0)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    async def fetch_topic(self, summary: TopicSummary) -> Topic:
        """Every page of the topic, its posts in order; the opening post is number 1."""
        url = str(summary.extra.get("url") or "")
        if not url:
            problem = f"topic {summary.topic_id} has no known URL"
            raise BadResponse(self.settings.forum_id, self.settings.url, problem, PROFILE_FIX)
        selectors = self.profile.topic
        first = await self.page(url)
        posts: list[Post] = []
        seen_ids: set[str] = set()
        page: HtmlPage | None = first
        visited: set[str] = set()
        while page is not None and len(visited) < MAX_TOPIC_PAGES:
            visited.add(page.url)
            elements = page.document.css(selectors.post)
            if not elements:
                raise self._layout(page.url, f"no element matches topic.post {selectors.post!r}")
            for element in elements:
                post = self._post(element, len(posts) + 1, summary.topic_id, page)
                if post.id not in seen_ids:  # some forums repeat a page's last post on the next
                    seen_ids.add(post.id)
                    posts.append(post)
            next_url = self._link(page, selectors.next_page)
            page = await self.page(next_url) if next_url and next_url not in visited else None
        category, category_id = self._category(first)
        topic = Topic(
            forum_id=self.settings.forum_id,
            id=summary.topic_id,
            url=url,
            title=self._title(first, summary),
            author=posts[0].author,
            created_at=posts[0].created_at,
            posts=tuple(posts),
            state=self._state(first),
            category=category,
            category_id=category_id,
            tags=self._tags(first),
            last_activity_at=max(p.created_at for p in posts),
        )
        check_topic(topic, latest_plausible(self.not_after))
        return topic

    def _post(self, element: LexborNode, number: int, topic_id: str, page: HtmlPage) -> Post:
        selectors = self.profile.topic
        # css_matches: the post itself or anything inside it
        system = selectors.system is not None and element.css_matches(selectors.system)
        author = _text(element.css_first(selectors.author))
        if not author and not system:
            problem = f"post {number} has no author matching topic.author {selectors.author!r}"
            raise self._layout(page.url, problem)
        date_text = _value(element.css_first(selectors.date), selectors.date_attr)
        if not date_text:
            where = f"{selectors.date!r}" + (
                f" [{selectors.date_attr}]" if selectors.date_attr else ""
            )
            raise self._layout(page.url, f"post {number} has no date matching topic.date {where}")
        attributes = element.attributes
        element_id = (
            attributes.get("id") or attributes.get("data-id") or attributes.get("data-post-id")
        )
        return Post(
            id=str(element_id) if element_id else f"{topic_id}#{number}",
            number=number,
            author=Author(author or "system", forum_roles=self._roles(element)),
            created_at=self._date(date_text, page, f"post {number}'s topic.date"),
            kind=PostKind.SYSTEM if system else PostKind.REPLY,
            body_text=_excerpt(element.css_first(selectors.body)),
        )

    def _roles(self, element: LexborNode) -> frozenset[str]:
        """Badge texts and their CSS classes: config compares them with staff/developer groups."""
        if not self.profile.topic.role:
            return frozenset()
        roles: set[str] = set()
        for badge in element.css(self.profile.topic.role):
            if text := _text(badge):
                roles.add(text)
            roles.update((badge.attributes.get("class") or "").split())
        return frozenset(roles)

    def _title(self, page: HtmlPage, summary: TopicSummary) -> str:
        selector = self.profile.topic.title
        title = _text(page.document.css_first(selector)) if selector else ""
        return title or str(summary.extra.get("title") or "")

    def _state(self, page: HtmlPage) -> TopicState:
        selectors = self.profile.topic
        if selectors.solved and page.document.css_first(selectors.solved):
            return TopicState.SOLVED
        if selectors.closed and page.document.css_first(selectors.closed):
            return TopicState.CLOSED
        return TopicState.OPEN

    def _category(self, page: HtmlPage) -> tuple[str, str]:
        """The category's slug (the link's last non-numeric path part, else its text) and id."""
        selector = self.profile.topic.category
        link = page.document.css_first(selector) if selector else None
        if link is None:
            return "", ""
        href = link.attributes.get("href")
        parts = [p for p in urlsplit(href).path.split("/") if p] if href else []
        slug = next((p for p in reversed(parts) if not p.isdigit()), "") or _text(link)
        number = next((p for p in parts if p.isdigit()), "")
        return slug, number

    def _tags(self, page: HtmlPage) -> tuple[str, ...]:
        """The topic's tags (what SLA policies match, e.g. a paid topic): each match's text."""
        selector = self.profile.topic.tags
        if not selector:
            return ()
        found = (_text(element) for element in page.document.css(selector))
        return tuple(dict.fromkeys(tag for tag in found if tag))

    def _date(self, text: str, page: HtmlPage, what: str) -> datetime:
        settings = self.settings
        try:
            return parse_forum_date(
                text, language=settings.language, timezone=settings.timezone, now=page.fetched_at
            )
        except UnparseableDate:
            problem = f"cannot read {what} {text!r} as a date (language {settings.language})"
            raise LayoutChanged(settings.forum_id, page.url, problem, DATE_FIX) from None

    def _link(self, page: HtmlPage, selector: str | None) -> str | None:
        link = page.document.css_first(selector) if selector else None
        href = link.attributes.get("href") if link is not None else None
        return urldefrag(urljoin(page.url, href)).url if href else None

    def _layout(self, url: str, problem: str) -> LayoutChanged:
        return LayoutChanged(self.settings.forum_id, url, problem, PROFILE_FIX)

    async def page(self, url: str) -> HtmlPage:
        """One page, allowed by robots.txt, decoded and parsed."""
        return self._parsed(await self._get(url))

    async def _get(self, url: str, validators: Validators = None) -> FetchedPage:
        absolute = self.http.absolute(url)
        if self.robots is not None:
            await self.robots.check(absolute)
        return await self.http.get_page(absolute, validators=validators)

    def _parsed(self, fetched: FetchedPage) -> HtmlPage:
        content_type = fetched.headers.get("content-type")
        text = decode_page(fetched.content, content_type, self.settings.encoding)
        document = LexborHTMLParser(text)
        document.strip_tags(list(NOT_TEXT))  # their content is code, never a post's words
        return HtmlPage(fetched.url, document, datetime.now(UTC))

    async def group_members(self, group: str) -> frozenset[str]:
        """HTML forums publish no member lists: a group counts through the badges on posts
        (the profile's topic.role), so no member is known beforehand."""
        return frozenset()


def _text(element: LexborNode | None) -> str:
    """An element's text nodes joined, whitespace collapsed (scripts and styles were dropped)."""
    return " ".join(element.text(separator=" ").split()) if element is not None else ""


def _excerpt(element: LexborNode | None) -> str:
    """`_text` of a post's body without its quotes (removed from the page), cut to the excerpt
    forumwatch keeps."""
    if element is None:
        return ""
    # the outermost quote first, one at a time: a nested one goes with it
    while (quote := element.css_first(QUOTES)) is not None:
        quote.decompose()
    return excerpt(_text(element))


def _value(element: LexborNode | None, attribute: str | None) -> str:
    """An element's attribute (when named) or its text."""
    if element is None:
        return ""
    if attribute:
        return (element.attributes.get(attribute) or "").strip()
    return _text(element)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit()) or text
