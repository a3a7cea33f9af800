"""The HTML engine against a Ukrainian classic forum served over loopback in legacy encodings:
paging, roles from badges, system posts, closed topics, robots.txt, layout changes, and the
whole cycle through the CLI."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from forumwatch.model import PostKind, TopicState
from scrapers.base import EXCERPT_CHARS, BadResponse, ForumSettings, LayoutChanged, TopicSummary
from scrapers.html import HtmlScraper
from scrapers.profile import load_profile
from tests.conftest import forumwatch
from tests.hostile_server import HostileServer
from tests.html_site import Page, site

CLASSIC = Path(__file__).parent / "fixtures" / "classic"
PROFILE = load_profile(str(CLASSIC / "profile.yaml")).model_dump(exclude_none=True)
PATHS = {
    "/forum/": "list1.html",
    "/forum/?page=2": "list2.html",
    "/forum/t/100-pravyla/": "topic100.html",
    "/forum/t/101-eksport/": "topic101.html",
    "/forum/t/101-eksport/page-2/": "topic101-2.html",
    "/forum/t/102-pidpys/": "topic102.html",
    "/forum/t/103-dublikat/": "topic103.html",
    "/forum/t/104-licenziya/": "topic104.html",
}
KYIV_OCT = 3  # Europe/Kyiv is UTC+3 until the last Sunday of October


def classic_pages(
    encoding: str = "windows-1251", charset_in: str = "header", replace: tuple[str, str] = ("", "")
) -> dict[str, Page]:
    """The classic forum's pages in `encoding`, declared in the HTTP header, only in the
    <meta> tag ("meta"), or nowhere ("none"); `replace` edits every page (a layout change)."""
    pages = {}
    for path, name in PATHS.items():
        text = (CLASSIC / name).read_text(encoding="utf-8")
        text = text.replace("charset=windows-1251", f"charset={encoding}")
        if charset_in != "meta":
            text = text.replace(
                f'<meta http-equiv="Content-Type" content="text/html; charset={encoding}">\n', ""
            )
        if replace[0]:
            text = text.replace(*replace)
        header = f"text/html; charset={encoding}" if charset_in == "header" else "text/html"
        pages[path] = Page(text.encode(encoding, "xmlcharrefreplace"), header)
    return pages


def settings(url: str, **overrides: object) -> ForumSettings:
    values: dict[str, object] = {
        "forum_id": "classic",
        "url": f"{url}/forum/",
        "requests_per_second": 50.0,
        "max_retries": 0,
        "language": "uk",
        "timezone": "Europe/Kyiv",
        "profile": PROFILE,
        "lookback_days": 3650.0,
    }
    return ForumSettings(**(values | overrides))  # type: ignore[arg-type]


async def _read_all(scraper: HtmlScraper) -> tuple[list[TopicSummary], dict[str, object]]:
    try:
        summaries = [s async for s in scraper.list_topics({}, None, exhaustive=True)]
        topics = {s.topic_id: await scraper.fetch_topic(s) for s in summaries}
        return summaries, topics
    finally:
        await scraper.aclose()


def read_all(url: str, **overrides: object) -> tuple[list[TopicSummary], dict[str, object]]:
    return asyncio.run(_read_all(HtmlScraper(settings(url, **overrides))))


@pytest.fixture
def classic() -> Iterator[HostileServer]:
    with HostileServer(site(classic_pages())) as server:
        yield server


def kyiv(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 10, day, hour - KYIV_OCT, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("encoding", "charset_in"),
    [
        ("windows-1251", "header"),
        ("windows-1251", "meta"),
        ("windows-1251", "none"),
        ("koi8-u", "header"),
        ("koi8-u", "none"),
    ],
)
def test_legacy_encodings_read_right_wherever_the_charset_is(
    encoding: str, charset_in: str
) -> None:
    with HostileServer(site(classic_pages(encoding, charset_in))) as server:
        summaries, topics = read_all(server.url)
    titles = {s.topic_id: s.extra["title"] for s in summaries}
    assert titles["101"] == "Не працює експорт в Excel"
    assert titles["104"] == "Як продовжити ліцензію?"  # from list page 2
    export = topics["101"]
    assert export.title == "Не працює експорт в Excel"  # type: ignore[attr-defined]
    bodies = [p.body_text for p in export.posts]  # type: ignore[attr-defined]
    assert bodies[0].startswith("Після оновлення модуля кнопка «Експорт»")
    assert bodies[2] == "Ще актуально?"  # from the topic's page 2


def test_posts_authors_dates_roles_and_states(classic: HostileServer) -> None:
    summaries, topics = read_all(classic.url)
    assert [s.topic_id for s in summaries] == ["100", "101", "102", "103", "104"]
    assert [s.pinned for s in summaries] == [True, False, False, False, False]
    assert summaries[1].extra["url"] == f"{classic.url}/forum/t/101-eksport/"  # no #fragment
    assert summaries[1].bumped_at == kyiv(21, 9, 0)
    export = topics["101"]
    posts = export.posts  # type: ignore[attr-defined]
    assert [(p.number, p.author.username, p.created_at) for p in posts] == [
        (1, "client_ivan", kyiv(20, 10, 15)),
        (2, "partner_taras", kyiv(20, 11, 0)),
        (3, "client_ivan", kyiv(21, 9, 0)),
    ]
    assert posts[0].id == "p1001"
    assert posts[1].author.forum_roles == {"Партнер", "badge", "partner"}
    assert export.category == "5-zvity"  # type: ignore[attr-defined]
    assert export.tags == ("платна-тема", "excel")  # type: ignore[attr-defined]
    assert topics["102"].tags == ()  # type: ignore[attr-defined]
    assert export.state is TopicState.OPEN  # type: ignore[attr-defined]
    closed = topics["103"]
    assert closed.state is TopicState.CLOSED  # type: ignore[attr-defined]
    assert [p.kind for p in closed.posts] == [PostKind.REPLY, PostKind.SYSTEM]  # type: ignore[attr-defined]


def test_a_body_is_its_words_only_cut_to_the_excerpt() -> None:
    """Scripts and styles inside a post are code, not words; a long post keeps its excerpt."""
    original = '<div class="text">При підписі отримую помилку 403.</div>'
    coded = (
        '<div class="text">При  підписі<script>var leak = "<b>1</b>";</script>'
        "<style>.x { color: red }</style>\n<b>отримую</b> помилку&nbsp;403.<br></div>"
    )
    with HostileServer(site(classic_pages(replace=(original, coded)))) as server:
        _, topics = read_all(server.url)
    assert topics["102"].posts[0].body_text == "При підписі отримую помилку 403."  # type: ignore[attr-defined]
    long = f'<div class="text">{"слово " * 400}</div>'
    with HostileServer(site(classic_pages(replace=(original, long)))) as server:
        _, topics = read_all(server.url)
    body = topics["102"].posts[0].body_text  # type: ignore[attr-defined]
    assert len(body) <= EXCERPT_CHARS and body == ("слово " * 400)[:EXCERPT_CHARS].rstrip()


def test_an_unchanged_list_stops_paging_early(classic: HostileServer) -> None:
    scraper = HtmlScraper(settings(classic.url))

    async def relist() -> list[TopicSummary]:
        first = [s async for s in scraper.list_topics({}, None)]
        known = {s.topic_id: s.marker for s in first}
        classic.requests.clear()
        again = [s async for s in scraper.list_topics(known, None)]
        await scraper.aclose()
        return again

    again = asyncio.run(relist())
    assert [r for r in classic.requests if r != "/robots.txt"] == ["/forum/"]
    assert len(again) == 4  # page 1 only: every row known and unchanged


@pytest.mark.parametrize(
    ("replace", "problem"),
    [
        (('<tr class="topic', '<tr class="row'), "no element matches topic_list.item 'tr.topic'"),
        (('class="post"', 'class="message"'), "no element matches topic.post 'div.post'"),
        (('class="user"', 'class="member"'), "post 1 has no author matching topic.author"),
        (
            ("20 жовтня 2026 о 10:15", "двадцятого десь"),
            "cannot read post 1's topic.date 'двадцятого десь'",
        ),
    ],
    ids=["list-items", "posts", "authors", "dates"],
)
def test_a_changed_layout_is_one_clear_error(replace: tuple[str, str], problem: str) -> None:
    pages = classic_pages(replace=replace)
    with HostileServer(site(pages)) as server, pytest.raises(LayoutChanged) as caught:
        read_all(server.url)
    assert problem in str(caught.value)
    assert "forumwatch check-config --probe" in str(caught.value) or "language" in str(caught.value)


def test_robots_txt_is_honoured_unless_the_forum_opts_out() -> None:
    pages = classic_pages() | {
        "/robots.txt": Page(b"User-agent: *\nDisallow: /forum/t/\n", "text/plain")
    }
    with HostileServer(site(pages)) as server:
        with pytest.raises(BadResponse) as caught:
            read_all(server.url)
        assert "robots.txt disallows" in str(caught.value)
        assert "respect_robots: false" in str(caught.value)
        summaries, _ = read_all(server.url, respect_robots=False)
        assert len(summaries) == 5
        assert "/robots.txt" not in server.requests[-6:]


CONFIG = """\
database: {folder}/forumwatch.db
sla: {{acknowledge: 2h, diagnose: 24h, follow_up: 24h, escalate_after: 22h}}
forums:
  - id: classic
    engine: html
    url: {url}/forum/
    profile: profile.yaml
    language: uk
    timezone: Europe/Kyiv
    developer_groups: [Розробник]
    staff: [mod_quality]
    requests_per_second: 20
    max_retries: 0
"""


def write_html_config(folder: Path, url: str) -> Path:
    (folder / "profile.yaml").write_text((CLASSIC / "profile.yaml").read_text("utf-8"), "utf-8")
    path = folder / "config.yaml"
    path.write_text(CONFIG.format(folder=folder, url=url), encoding="utf-8")
    return path


def findings_by_topic(config: Path, now: str) -> dict[str, list[str]]:
    done = forumwatch("findings", "-c", str(config), "--format", "json", "--now", now)
    assert done.returncode == 0, done.stderr
    found: dict[str, list[str]] = {}
    for row in json.loads(done.stdout):
        found.setdefault(row["topic_id"], []).append(row["rule"])
    return found


def test_the_whole_cycle_on_a_cp1251_forum(tmp_path: Path) -> None:
    with HostileServer(site(classic_pages(charset_in="none"))) as server:
        config = write_html_config(tmp_path, server.url)
        first = forumwatch("run", "-c", str(config), "--now", "2026-10-22T12:00:00+00:00")
        assert first.returncode == 0, first.stderr
        found = findings_by_topic(config, "2026-10-22T12:00:00+00:00")
    assert found == {"101": ["masked_silence"], "104": ["unanswered"]}


def test_a_layout_change_stops_the_forum_with_one_error_and_no_findings(tmp_path: Path) -> None:
    pages = classic_pages(replace=('class="post"', 'class="message"'))
    with HostileServer(site(pages)) as server:
        config = write_html_config(tmp_path, server.url)
        done = forumwatch("run", "-c", str(config), "--now", "2026-10-22T12:00:00+00:00")
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if "no element matches" in line]
    assert len(errors) == 1, done.stderr
    assert "topic.post 'div.post'" in errors[0]
    assert findings_by_topic(config, "2026-10-22T12:00:00+00:00") == {}


def test_probe_shows_what_the_profile_reads(tmp_path: Path) -> None:
    with HostileServer(site(classic_pages(charset_in="meta"))) as server:
        config = write_html_config(tmp_path, server.url)
        done = forumwatch("check-config", "-c", str(config), "--probe")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Не працює експорт в Excel" in out  # the list's titles
    assert "Як продовжити ліцензію?" in out  # list page 2
    assert "Правила розділу" not in out  # pinned, but idle for longer than lookback
    assert "partner_taras" in out and "Партнер" in out  # the first unpinned topic's posts, roles
    assert "2026-10-20 11:00" in out  # dates as read, in the forum's zone
    assert not (tmp_path / "forumwatch.db").exists()  # a probe stores nothing


def _many_unanswered(count: int) -> dict[str, Page]:
    """The classic forum with `count` more unanswered topics on list page 2."""
    pages = classic_pages()
    rows, template = [], (CLASSIC / "topic104.html").read_text("utf-8")
    for number in range(200, 200 + count):
        path = f"/forum/t/{number}-pytannya/"
        rows.append(
            f'<tr class="topic"><td><a class="title" href="{path}">Питання {number}</a></td>'
            '<td class="replies">0</td>'
            '<td class="last"><span>20 жовтня 2026 о 10:30</span></td></tr>'
        )
        page = template.replace("20 жовтня 2026 о 10:05", "20 жовтня 2026 о 10:30")
        page = page.replace("Як продовжити ліцензію?", f"Питання {number}")  # its own question
        pages[path] = Page(page.replace("p1031", f"p{number}").encode("cp1251"), "text/html")
    listing = (
        (CLASSIC / "list2.html")
        .read_text("utf-8")
        .replace("</table>", "\n".join(rows) + "</table>")
    )
    pages["/forum/?page=2"] = Page(listing.encode("cp1251"), "text/html")
    return pages


def test_an_alert_storm_is_stored_but_held_and_explained(tmp_path: Path) -> None:
    with HostileServer(site(_many_unanswered(6))) as server:
        config = write_html_config(tmp_path, server.url)
        quiet = forumwatch("run", "-c", str(config), "--now", "2026-10-20T08:00:00+00:00")
        assert quiet.returncode == 0, quiet.stderr
        storm = forumwatch("run", "-c", str(config), "--now", "2026-10-22T12:00:00+00:00")
    assert storm.returncode == 0, storm.stderr
    output = storm.stdout + storm.stderr
    assert "would open findings on 8 of 9 open topics (89%" in output
    assert "OVERDUE" not in output  # nothing sent
    found = findings_by_topic(config, "2026-10-22T12:00:00+00:00")
    assert len(found) == 8  # but every finding is stored


def test_an_unchanged_list_page_costs_one_conditional_request(tmp_path: Path) -> None:
    pages = classic_pages()
    pages["/forum/"] = Page(pages["/forum/"].body, pages["/forum/"].content_type, etag='"v1"')
    with HostileServer(site(pages)) as server:
        config = write_html_config(tmp_path, server.url)
        first = forumwatch("run", "-c", str(config), "--now", "2026-10-22T12:00:00+00:00")
        assert first.returncode == 0, first.stderr
        server.requests.clear()
        server.request_headers.clear()
        again = forumwatch("run", "-c", str(config), "--now", "2026-10-22T12:05:00+00:00")
        assert again.returncode == 0, again.stderr
    assert [r for r in server.requests if r != "/robots.txt"] == ["/forum/"]
    asked = server.request_headers[server.requests.index("/forum/")]
    assert asked.get("if-none-match") == '"v1"'
    assert findings_by_topic(config, "2026-10-22T12:05:00+00:00") == {
        "101": ["masked_silence"],
        "104": ["unanswered"],
    }


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        ("nosuch", "no bundled profile 'nosuch' (bundled:"),
        ("missing.yaml", "missing.yaml does not exist"),
        (
            "{topic_list: {item: 'tr..x', link: a}, topic: {post: p, author: a, date: d, body: b}}",
            "topic_list.item: 'tr..x' is not a valid CSS selector",
        ),
        (
            "{topic_list: {item: tr, link: a}, topic: {post: p, author: a, date: d}}",
            "topic.body: Field required",
        ),
    ],
    ids=["unknown-name", "missing-file", "bad-selector", "missing-key"],
)
def test_a_broken_profile_is_one_config_error(tmp_path: Path, profile: str, message: str) -> None:
    config = write_html_config(tmp_path, "http://127.0.0.1:9")
    text = config.read_text("utf-8").replace("profile: profile.yaml", f"profile: {profile}")
    config.write_text(text, "utf-8")
    done = forumwatch("check-config", "-c", str(config))
    assert done.returncode == 2
    assert f"{config}:7 forums[0].profile: " in done.stderr
    assert message in done.stderr


def test_a_paid_tag_read_by_the_profile_sets_the_sla_policy(tmp_path: Path) -> None:
    """The profile's `tags` selector reads 101's «платна-тема»: its finding runs on the paid
    policy; 104, untagged, on the default SLA."""
    paid = "sla_policies:\n  - {name: paid, match: {tags: [платна-тема]}, acknowledge: 30m}\n"
    with HostileServer(site(classic_pages())) as server:
        config = write_html_config(tmp_path, server.url)
        config.write_text(config.read_text(encoding="utf-8") + paid, encoding="utf-8")
        now = "2026-10-22T12:00:00+00:00"
        assert forumwatch("run", "-c", str(config), "--now", now).returncode == 0
        done = forumwatch("findings", "-c", str(config), "--format", "json", "--now", now)
    policies = {row["topic_id"]: row["policy"] for row in json.loads(done.stdout)}
    assert policies == {"101": "paid", "104": ""}
