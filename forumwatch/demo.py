"""`forumwatch demo`: a sample Discourse forum on loopback, one full cycle, the findings shown."""

from __future__ import annotations

import json
import re
import tempfile
import threading
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
from forumwatch.telegram_bot.notifier import policy_target
from forumwatch.telegram_bot.split import plain_text
from forumwatch.telegram_bot.text import finding_message, summary_message
from forumwatch.views.report import findings_table
from forumwatch.views.run_summary import summary_lines

KEPT = "demo.json"  # in a kept folder: the moment the demo forum was made for, and its port


class DemoError(Exception):
    """A kept demo folder that cannot be served: one line naming the folder and the fix."""


def run_demo(out: Console, now: datetime | None = None, keep: Path | None = None) -> int:
    """Serve the demo forum, watch it once into a fresh database, print what was found."""
    now = now or datetime.now(UTC)
    with SampleForumServer(demo_forum(now)) as server:
        if keep is None:
            with tempfile.TemporaryDirectory(prefix="forumwatch-demo-") as folder:
                return _watch(server.url, Path(folder), now, out)
        keep.mkdir(parents=True, exist_ok=True)
        port = int(server.url.rsplit(":", 1)[1])
        _remember(keep, now, port)
        code = _watch(server.url, keep, now, out, kept=True)
        config = keep / "config.yaml"
        out.print(
            f"\nKept in {keep}: config.yaml, forumwatch.db and the digest. The sample forum "
            f"stops with this command; serve it again with `forumwatch demo --serve {keep}`, "
            f"then try `forumwatch run -c {config}`, `forumwatch findings -c {config}` or "
            f"`forumwatch daemon -c {config}` in another terminal.",
            markup=False,
        )
        return code


def _remember(folder: Path, now: datetime, port: int) -> None:
    """What `serve_demo` needs to serve the same forum again: its moment and its port."""
    (folder / KEPT).write_text(json.dumps({"now": now.isoformat(), "port": port}) + "\n")


def serve_demo(folder: Path, out: Console, stop: threading.Event | None = None) -> int:
    """Serve a kept demo's forum again, as it was when kept, until Ctrl-C (or `stop`)."""
    try:
        kept = json.loads((folder / KEPT).read_text(encoding="utf-8"))
        now, port = datetime.fromisoformat(kept["now"]), int(kept["port"])
    except (OSError, ValueError, KeyError) as err:
        raise DemoError(
            f"{folder}: not a kept demo ({KEPT} unreadable: {err}); "
            f"make one with `forumwatch demo --keep {folder}`"
        ) from None
    try:
        server = SampleForumServer(demo_forum(now), port)
    except OSError:  # the port is taken now: serve on another and point the config at it
        server = SampleForumServer(demo_forum(now))
        port = int(server.url.rsplit(":", 1)[1])
        _remember(folder, now, port)
    config = folder / "config.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(re.sub(r"url: http://127\.0\.0\.1:\d+", f"url: {server.url}", text))
    with server:
        out.print(
            f"Sample Discourse forum serving on {server.url} (loopback), as it was at "
            f"{now:%Y-%m-%d %H:%M} UTC; config: {config}. Ctrl-C stops it.",
            markup=False,
        )
        (stop or threading.Event()).wait()
    return 0


def _show_telegram(
    out: Console,
    changes: list[Transition],
    now: datetime,
    grouped: set[TopicKey],
    config: Config,
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
        target = policy_target(config, change.stored.finding)  # a paid topic: its deadline
        text = plain_text(finding_message(change, now, target=target))
        out.print(Padding(text, (1, 0, 0, 4)), markup=False)


def _show_closing(out: Console, store: Store, config: Config, now: datetime, key: TopicKey) -> None:
    """Why a topic that looks like masked silence is not listed: its author confirmed."""
    from rules.history import ticket

    forum = config.forum(key.forum_id)
    topic = store.topic(key)
    if forum is None or topic is None:
        return
    responders = responders_for(forum, topic)
    sla = config.policies_for(forum).applied(topic, responders.app_id).sla
    read = ticket(topic, responders, sla, now)
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


def _write_digest(store: Store, config: Config, now: datetime, kept: Path | None) -> Path:
    """The demo day's digest, so far: in the kept folder, or in a fresh temporary folder of its
    own that outlives the demo's (never a fixed shared path another demo would overwrite)."""
    from digests.build import build_digest
    from digests.render import render_html, render_text

    if kept is not None:
        folder = kept / "digest"
        folder.mkdir(exist_ok=True)
    else:
        folder = Path(tempfile.mkdtemp(prefix="forumwatch-demo-digest-"))
    built = build_digest(store, config, now.date(), now)
    page = folder / f"{built.day.isoformat()}.html"
    page.write_text(render_html(built), encoding="utf-8")
    (folder / f"{built.day.isoformat()}.txt").write_text(render_text(built), encoding="utf-8")
    return page


def _watch(url: str, folder: Path, now: datetime, out: Console, kept: bool = False) -> int:
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
        _show_telegram(out, report.transitions, now, grouped, config)
        page = _write_digest(store, config, now, folder if kept else None)
        out.print(f"\nToday's digest for the quality staff: {page}", markup=False)
    finally:
        store.close()
    out.print(
        "Each row is a customer still waiting for the app's developer, however busy the topic "
        "looks. Next: edit config.yaml, `forumwatch check-config`, then `forumwatch run` on cron."
    )
    return report.exit_code
