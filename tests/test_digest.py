"""The daily digest from a real SQLite store with topics of known answer times: its figures,
its safety against scraped markup, a backdated digest, and the archive `--out` writes."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from digests.build import build_digest
from digests.figures import percentile
from digests.render import render_html, render_text
from forumwatch.config.load import load_config
from forumwatch.config.models import Config
from forumwatch.cycle.run import run_cycle
from forumwatch.model import Author, Finding, Post, Stage, StoredFinding, Topic, TopicKey
from forumwatch.sample_forum.server import SampleForumServer
from forumwatch.store import Store
from tests.conftest import NOW, forumwatch, write_config

DAY = date(2026, 3, 4)  # a Wednesday
MORNING = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)
CUSTOMER, DEVELOPER = Author("olena_buh"), Author("dev_ivan")
CONFIG = """\
database: {folder}/forumwatch.db
sla: {{acknowledge: 2h, diagnose: 24h}}
forums:
  - id: market
    engine: discourse
    url: https://forum.example
    developers: [dev_ivan]
"""


def topic(
    number: int, title: str, answered_after: float | None, created: datetime = MORNING
) -> Topic:
    posts = [Post(f"{number}-1", 1, CUSTOMER, created, body_text="It fails")]
    if answered_after is not None:
        at = created + timedelta(hours=answered_after)
        posts.append(Post(f"{number}-2", 2, DEVELOPER, at, body_text="Fixed"))
    return Topic(
        "market",
        str(number),
        f"https://forum.example/t/{number}",
        title,
        CUSTOMER,
        created,
        tuple(posts),
    )


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Config, Store, Path]:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(folder=tmp_path), encoding="utf-8")
    config = load_config(path)
    store = Store(config.database)
    # answered after 1, 2, 3 and 10 h; one still waiting at the day's end (16 h)
    for number, hours in enumerate([1, 2, 3, 10, None], start=1):
        store.save_topic(topic(number, f"Topic {number}", hours), "m")
    return config, store, path


def test_figures_count_waiting_topics_with_their_wait_so_far(
    setup: tuple[Config, Store, Path],
) -> None:
    config, store, _ = setup
    digest = build_digest(store, config, DAY)

    assert digest.new_topics == 5
    (card,) = digest.scorecards
    assert card.topics == 5 and card.developers == ("dev_ivan",)
    assert card.median_hours == 3.0  # of 1, 2, 3, 10 and the waiting 16
    assert card.p90_hours == 16.0  # the waiting topic is never left out
    # the developer answered all four answered ones within the 24 h diagnosis deadline; the
    # waiting one has not reached it yet
    assert card.developer_within_sla == 1.0
    assert digest.sla_share == pytest.approx(2 / 5)  # acknowledged within 2 h: 1 h and 2 h
    assert [i.finding.key.topic_id for i in digest.ignored] == ["5"]
    assert card.open_findings == 1


def test_percentile_is_nearest_rank() -> None:
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0
    assert percentile([], 0.5) is None


def test_scraped_markup_never_becomes_markup(setup: tuple[Config, Store, Path]) -> None:
    config, store, _ = setup
    title = '<script>alert("x")</script> & <b>bold</b>'
    store.save_topic(topic(9, title, None), "m")

    html = render_html(build_digest(store, config, DAY))
    text = render_text(build_digest(store, config, DAY))

    assert "<script" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert title in text  # plain text shows it as it is: nothing there is markup


def test_a_backdated_digest_says_what_it_said_that_day(
    setup: tuple[Config, Store, Path], tmp_path: Path
) -> None:
    config, store, _ = setup
    on_the_day = render_text(build_digest(store, config, DAY))

    # the next day the developer answers the waiting topic; the digest of DAY must not change
    late = topic(5, "Topic 5", 30)
    store.save_topic(late, "m2")
    store.save_topic(topic(6, "Topic 6", None, MORNING + timedelta(days=1)), "m")

    assert render_text(build_digest(store, config, DAY)) == on_the_day
    assert "Topic 5" not in render_text(build_digest(store, config, DAY + timedelta(days=1)))


def test_out_writes_html_text_and_an_archive_index(setup: tuple[Config, Store, Path]) -> None:
    _, store, path = setup
    store.close()
    out = path.parent / "digests"
    for day in ("2026-03-04", "2026-03-05"):
        result = forumwatch("digest", "-c", str(path), "--date", day, "--out", str(out))
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"Digest for {day}: {out / (day + '.html')}"
    assert sorted(p.name for p in out.iterdir()) == [
        "2026-03-04.html",
        "2026-03-04.txt",
        "2026-03-05.html",
        "2026-03-05.txt",
        "index.html",
    ]
    index = (out / "index.html").read_text(encoding="utf-8")
    assert index.index("2026-03-05.html") < index.index("2026-03-04.html")  # newest first
    assert "<script" not in (out / "2026-03-04.html").read_text(encoding="utf-8")


def test_digest_without_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(folder=tmp_path), encoding="utf-8")
    result = forumwatch("digest", "-c", str(path), "--date", "2026-03-04")
    assert result.returncode == 2
    assert "no forumwatch database here yet" in result.stderr


def test_trend_and_chart_cover_fourteen_days_without_script(
    setup: tuple[Config, Store, Path],
) -> None:
    config, store, _ = setup
    digest = build_digest(store, config, DAY)

    assert [p.day for p in digest.trend][-1] == DAY and len(digest.trend) == 14
    assert [p.new_topics for p in digest.trend] == [0] * 13 + [5]
    assert digest.change("new_topics") == 5.0  # against an average of 0 the week before
    html = render_html(digest)
    assert html.count("<svg") == 1 and "<polyline" in html and "<script" not in html
    against = "+5 порівняно із середнім за попередні 7 днів"  # the config's language: uk
    assert against in html and against in render_text(digest)


def test_held_open_counts_at_many_moments_equal_each_moment_counted_alone(tmp_path: Path) -> None:
    """The trend's "open" line counts, in one pass, the topics forumwatch held ignored at each
    day's end: a finding seen by then, not resolved by then (one resolved at the very moment is
    not open); a topic with two findings is one topic, a burst adds none."""
    store = Store(tmp_path / "counts.db")
    rng = random.Random(7)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    moments = [start + timedelta(days=d, hours=23, minutes=59) for d in range(14)]
    spans: dict[str, list[tuple[datetime, datetime | None]]] = {}
    for number in range(400):
        seen = start + timedelta(minutes=rng.randrange(-3 * 24 * 60, 17 * 24 * 60))
        if number % 9 == 0:
            seen = rng.choice(moments)  # seen exactly at a day's end
        resolved = None if rng.random() < 0.3 else seen + timedelta(hours=rng.randrange(1, 120))
        later = [m for m in moments if m > seen]
        if number % 7 == 0 and resolved and later:
            resolved = rng.choice(later)  # resolved exactly at a day's end
        topic = str(number % 250)  # 150 topics hold two findings
        rule = "unanswered" if number < 250 else "follow_up_ignored"
        finding = Finding(TopicKey("f", topic), rule, Stage.DUE, seen, seen, seen)
        store.save_finding(StoredFinding(finding, 1, seen, None, resolved, "", ""))
        spans.setdefault(topic, []).append((seen, resolved))
    burst = Finding(TopicKey("f", "900"), "burst", Stage.DUE, start, start, start)
    store.save_finding(StoredFinding(burst, 1, start, None, None, "", ""))

    def held(topic_spans: list[tuple[datetime, datetime | None]], m: datetime) -> bool:
        return any(s <= m and (r is None or r > m) for s, r in topic_spans)

    expected = [sum(held(t, m) for t in spans.values()) for m in moments]
    assert store.ignored_topics_counts_at("f", moments) == expected
    assert store.ignored_topics_counts_at("f", moments[::-1]) == expected[::-1]
    assert store.ignored_topics_counts_at("other", moments) == [0] * len(moments)
    assert 0 < min(expected) < max(expected)


def test_a_store_not_judged_under_this_config_counts_findings_under_todays_apps(
    tmp_path: Path,
) -> None:
    """Judged from the topics (no cycle ran under this config), a waiting topic counts for
    the app its category belongs to now, not for what the store last noted."""
    path = tmp_path / "config.yaml"
    path.write_text(
        CONFIG.format(folder=tmp_path).replace(
            "    developers: [dev_ivan]\n",
            "    apps:\n      - {id: acme, categories: [billing], developers: [dev_ivan]}\n",
        ),
        encoding="utf-8",
    )
    config = load_config(path)
    store = Store(config.database)
    for number, hours in enumerate([1, None], start=1):
        store.save_topic(replace(topic(number, f"Topic {number}", hours), category="billing"), "m")

    digest = build_digest(store, config, DAY)

    assert [(c.app_id, c.topics, c.open_findings) for c in digest.scorecards] == [("acme", 2, 1)]


def test_ignored_topics_say_whom_to_chase(tmp_path: Path, forum: SampleForumServer) -> None:
    """A real cycle against the sample forum: each ignored topic shows its stage, app, customer
    and the silent developers (staff, who may also acknowledge, are not the ones to chase
    while a developer is configured); it links to the forum, and the text version gives the
    command for its history and one line per scorecard."""
    config = load_config(write_config(tmp_path, forum.url, extra="language: en\n"))
    store = Store(config.database)
    run_cycle(store, config, NOW, active=[])
    built = build_digest(store, config, NOW.date(), now=NOW + timedelta(hours=12))
    listed = {i.finding.key.topic_id: i for i in built.ignored}

    signing = listed["102"]  # the signed-files app's topic, waiting 42 h by then
    assert (signing.app_id, signing.customer) == ("signed-files", "taras_fop")
    assert signing.developers == ("dev_ivan", "vendor_petro") and signing.staff == ()
    assert signing.finding.stage is Stage.ESCALATED
    report = listed["101"]  # outside every app: the forum's own developer
    assert (report.app_id, report.customer, report.developers) == ("", "olena_buh", ("dev_ivan",))
    assert "anna_quality" in report.finding.silent  # staff may acknowledge, yet are not chased
    page, text = render_html(built), render_text(built)
    assert f'<a href="{signing.url}">' in page and "<td>taras_fop</td>" in page
    assert '<td class="nowrap escalated">escalated</td>' in page
    assert "<td><b>dev_ivan, vendor_petro</b></td>" in page
    assert (
        "  escalated · app: signed-files · customer: taras_fop\n"
        "  silent (chase them): dev_ivan, vendor_petro\n"
        f"  {signing.url}\n"
        "  history: forumwatch topic market:102\n"
    ) in text
    assert "app: forum-wide · customer: olena_buh\n  silent (chase them): dev_ivan\n" in text
    cards = [line for line in text.splitlines() if line.startswith("- market")]
    assert [line.split(" (")[0] for line in cards if "median" in line] == [
        "- market",
        "- market · signed-files",
    ]


def test_staff_are_chased_where_no_developer_answers(
    tmp_path: Path, forum: SampleForumServer
) -> None:
    """A forum with no developer configured (outside its app): the staff owe the answer, and
    the digest says so."""
    path = write_config(tmp_path, forum.url, extra="language: en\n")
    path.write_text(
        path.read_text(encoding="utf-8").replace("    developers: [dev_ivan]\n", ""),
        encoding="utf-8",
    )
    config = load_config(path)
    store = Store(config.database)
    run_cycle(store, config, NOW, active=[])
    built = build_digest(store, config, NOW.date(), now=NOW)
    report = next(i for i in built.ignored if i.finding.key.topic_id == "101")

    assert report.developers == () and report.staff == ("anna_quality",)
    assert "no developer configured; staff: anna_quality" in render_text(built)
    signing = next(i for i in built.ignored if i.finding.key.topic_id == "102")
    assert signing.developers == ("vendor_petro",) and signing.staff == ()
