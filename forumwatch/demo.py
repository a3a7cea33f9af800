"""`forumwatch demo`: a sample Discourse forum on loopback, one full cycle, the findings shown."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.padding import Padding

from forumwatch.config.load import load_config
from forumwatch.config.models import Config
from forumwatch.cycle.current import current_findings
from forumwatch.cycle.outbox import told_with_its_burst
from forumwatch.cycle.run import run_cycle
from forumwatch.model import Change, TopicKey, Transition
from forumwatch.roles import responders_for
from forumwatch.sample_forum.demo_scenario import (
    CONFIRMED_TOPIC,
    DEMO_CONFIG,
    DEVELOPER,
    LOOK_ALIKE_TOPIC,
    STAFF,
    VENDOR,
    demo_forum,
)
from forumwatch.sample_forum.server import SampleForumServer
from forumwatch.store import Store, run_lock
from forumwatch.telegram_bot.split import plain_text
from forumwatch.telegram_bot.text import finding_message, summary_message
from forumwatch.views.report import findings_table
from forumwatch.views.run_summary import summary_lines


def run_demo(out: Console, now: datetime | None = None, keep: Path | None = None) -> int:
    """Serve the demo forum, watch it once into a fresh database, print what was found."""
    now = now or datetime.now(UTC)
    with SampleForumServer(demo_forum(now)) as server:
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            return _watch(server.url, keep, now, out)
        with tempfile.TemporaryDirectory(prefix="forumwatch-demo-") as folder:
            return _watch(server.url, Path(folder), now, out)


def _show_telegram(
    out: Console, changes: list[Transition], now: datetime, grouped: set[TopicKey]
) -> None:
    """What the Telegram bot would send for these findings (a new forum's backlog is sent as one
    summary per chat; later findings go one by one like these, a burst's topics in its one
    message)."""
    opened = [
        t for t in changes if t.change is Change.OPENED and not told_with_its_burst(t, grouped)
    ]
    if not opened:
        return
    out.print(
        "\nWith a Telegram bot configured, a chat that follows this forum gets one summary "
        f"(«{plain_text(summary_message(len(opened)))}»); each later finding arrives like this:"
    )
    for change in opened:
        out.print(Padding(plain_text(finding_message(change, now)), (1, 0, 0, 4)), markup=False)


def _show_closing(out: Console, store: Store, config: Config, now: datetime, key: TopicKey) -> None:
    """Why a topic that looks like masked silence is not listed: its author confirmed."""
    from rules.history import ticket

    forum = config.forum(key.forum_id)
    topic = store.topic(key)
    if forum is None or topic is None:
        return
    read = ticket(topic, responders_for(forum, topic), config.sla_for(forum), now)
    closing = next((p for p in read.posts if p.why.startswith("closing words")), None)
    if closing is None:
        return
    words = next(p.body_text for p in topic.posts if p.number == closing.number)
    out.print(
        f"Not listed: {key.forum_id}:{key.topic_id} «{topic.title}»: {read.status} "
        f"(«{words}»). `forumwatch topic {key.forum_id}:{key.topic_id}` shows why; "
        f"#{LOOK_ALIKE_TOPIC} thanked too, but a problem remains, so it is listed.",
        markup=False,
    )


def _write_digest(store: Store, config: Config, now: datetime) -> Path:
    """The demo day's digest, so far, in a folder that outlives the demo's temporary one."""
    from digests.build import build_digest
    from digests.render import render_html, render_text

    folder = Path(tempfile.gettempdir()) / "forumwatch-demo-digest"
    folder.mkdir(exist_ok=True)
    built = build_digest(store, config, now.date(), now)
    page = folder / f"{built.day.isoformat()}.html"
    page.write_text(render_html(built), encoding="utf-8")
    (folder / f"{built.day.isoformat()}.txt").write_text(render_text(built), encoding="utf-8")
    return page


def _watch(url: str, folder: Path, now: datetime, out: Console) -> int:
    config_path = folder / "config.yaml"
    config_path.write_text(
        DEMO_CONFIG.format(
            database="forumwatch.db", url=url, developer=DEVELOPER, staff=STAFF, vendor=VENDOR
        ),
        encoding="utf-8",
    )
    config = load_config(config_path)
    out.print(f"Sample Discourse forum serving on {url} (loopback); config: {config_path}")
    store = Store(config.database)
    try:
        with run_lock(config.database):
            report = run_cycle(store, config, now)
        for line in summary_lines(report):
            out.print(line)
        out.print(findings_table(list(current_findings(store, config, now)), now))
        _show_closing(out, store, config, now, TopicKey("market", CONFIRMED_TOPIC))
        grouped = {key for forum in report.forums for key in forum.grouped}
        _show_telegram(out, report.transitions, now, grouped)
        out.print(f"\nToday's digest for the quality staff: {_write_digest(store, config, now)}")
    finally:
        store.close()
    out.print(
        "Each row is a customer still waiting for the app's developer, however busy the topic "
        "looks. Next: edit config.yaml, `forumwatch check-config`, then `forumwatch run` on cron."
    )
    return report.exit_code
