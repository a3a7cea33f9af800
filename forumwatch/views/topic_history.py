"""`forumwatch topic`: one request's history, as a ticket — its status, each post and whether
it counted, each SLA deadline met or missed, each notification, the findings and credits."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from forumwatch.config.models import Config
from forumwatch.config.values import format_duration
from forumwatch.model import StoredFinding, Topic, TopicKey
from forumwatch.roles import responders_for
from forumwatch.store import Store, iso
from rules.history import Ticket, ticket
from rules.reposts import find_requests


class TopicNotFound(LookupError):
    """The reference names no stored topic; the message says what was tried."""


def history_command(key: TopicKey) -> str:
    """How a user asks for a topic's history (shown beside findings)."""
    return f"forumwatch topic {key.forum_id}:{key.topic_id}"


def find_topic(store: Store, config: Config, ref: str) -> TopicKey:
    """A topic by `forum:id` or by its URL (as stored, or a forum URL ending in its id)."""
    forum_ids = {forum.id for forum in config.forums}
    forum_id, _, topic_id = ref.partition(":")
    if forum_id in forum_ids and topic_id and "//" not in ref:
        return TopicKey(forum_id, topic_id)
    key = store.topic_key_by_url(ref.split("#")[0])
    if key is not None:
        return key
    for forum in config.forums:  # e.g. a Discourse URL with another slug or a post number
        if ref.startswith(forum.url.rstrip("/")):
            for number in re.findall(r"/(\d+)", ref[len(forum.url.rstrip("/")) :]):
                if store.topic(TopicKey(forum.id, number)) is not None:
                    return TopicKey(forum.id, number)
    raise TopicNotFound(
        f"no stored topic matches {ref!r}; give FORUM:ID (forums: {', '.join(sorted(forum_ids))})"
        " or the topic's URL, and check that `forumwatch run` has read it"
    )


def topic_history(store: Store, config: Config, key: TopicKey, now: datetime) -> dict[str, Any]:
    """Everything known about one topic, as JSON-ready data."""
    topic = store.topic(key)
    forum = config.forum(key.forum_id)
    if topic is None or forum is None:
        raise TopicNotFound(f"topic {key.forum_id}:{key.topic_id} is not stored")
    members = store.group_members(forum.id)
    own = [t for t in store.open_topics_by(forum.id, topic.author.username) if t.created_at <= now]
    requests, superseded = find_requests(
        own, lambda t: responders_for(forum, t, members), forum.repost_window
    )
    request = requests.get(key)
    judged = request.as_one_topic() if request else topic  # one request, timed from the first
    responders = responders_for(forum, judged, members)
    seen = store.policy_sightings(forum.id, [key.topic_id]).get(key.topic_id)
    applied = config.policies_for(forum).applied(judged, responders.app_id, seen, now)
    read = ticket(judged, responders, applied.sla, now)
    later = superseded.get(key)
    return {
        "forum_id": key.forum_id,
        "topic_id": key.topic_id,
        "title": topic.title,
        "url": topic.url,
        "state": topic.state.value,
        "author": topic.author.username,
        "app": responders.app_id,
        "now": iso(now),
        "status": read.status if later is None else f"re-posted as {later.url}: followed there",
        "policy": {  # the SLA policy whose clock the topic waits on (name "" = the default)
            "name": applied.name,
            "condition": applied.condition,
            "since": iso(applied.sla.start(judged.created_at)) if applied.name else None,
            "acknowledge": format_duration(applied.sla.acknowledge),
            "diagnose": format_duration(applied.sla.diagnose),
        },
        "reposts": [_brief(t) for t in request.earlier] if request else [],
        "reposted_as": _brief(later) if later else None,
        "posts": _posts(read),
        "deadlines": [
            {
                "what": d.what,
                "started_at": iso(d.started_at),
                "due_at": iso(d.due_at),
                "met_at": iso(d.met_at),
                "met_by_post": d.met_by,
                "status": d.status(now),
            }
            for d in read.deadlines
        ],
        "findings": [_finding(stored) for stored in store.topic_findings(key)],
        "notifications": store.topic_notifications(key),
        "credits": store.topic_credits(key),
    }


def _brief(topic: Topic) -> dict[str, Any]:
    return {
        "topic_id": topic.id,
        "title": topic.title,
        "url": topic.url,
        "created_at": iso(topic.created_at),
    }


def _posts(read: Ticket) -> list[dict[str, Any]]:
    return [
        {
            "number": p.number,
            "author": p.username,
            "role": p.role.value if p.role else "ignored",
            "kind": p.kind.value,
            "created_at": iso(p.created_at),
            "counts": p.counts,
            "why": p.why,
        }
        for p in read.posts
    ]


def _finding(stored: StoredFinding) -> dict[str, Any]:
    finding = stored.finding
    return {
        "rule": finding.rule,
        "stage": "resolved" if stored.resolved_at else finding.stage.value,
        "episode": stored.episode,
        "opened_at": iso(finding.opened_at),
        "due_at": iso(finding.due_at),
        "escalated_at": iso(stored.escalated_at),
        "resolved_at": iso(stored.resolved_at),
        "summary": finding.summary,
        "resolution": stored.resolution,
        "policy": finding.policy,
    }


def history_view(history: dict[str, Any], zone: str = "UTC") -> Group:
    """The history as terminal tables (rich), readable at 80 columns; times in `zone`."""

    def _short(moment: str | None) -> str:
        return _local(moment, zone)

    head = Text.assemble(
        (f"{history['forum_id']}:{history['topic_id']} ", "bold"),
        history["title"],
        f"\n{history['url']}\nstatus: ",
        (history["status"], "bold"),
        f" (topic {history['state']}, by {history['author']})",
    )
    posts = Table(title="posts", title_justify="left", expand=False)
    for column in ("#", "author", "role", f"when ({zone})", "counts"):
        posts.add_column(column, no_wrap=column != "author")
    posts.add_column("why", overflow="fold")
    for post in history["posts"]:
        posts.add_row(
            str(post["number"]),
            escape(post["author"]),
            post["role"] + ("" if post["kind"] == "reply" else f" ({post['kind']})"),
            _short(post["created_at"]),
            "yes" if post["counts"] else "no",
            post["why"],
        )
    deadlines = Table(title="SLA deadlines", title_justify="left")
    for column in ("deadline", f"due ({zone})", "met by", "status"):
        deadlines.add_column(column, overflow="fold")
    for d in history["deadlines"]:
        met = f"post {d['met_by_post']} at {_short(d['met_at'])}" if d["met_at"] else "-"
        deadlines.add_row(d["what"], _short(d["due_at"]), met, d["status"])
    parts: list[Any] = [head]
    policy = history["policy"]
    if policy["name"]:
        parts.append(
            Text(
                f"SLA policy {policy['name']} ({policy['condition']}), applies since "
                f"{_short(policy['since'])}: acknowledge {policy['acknowledge']}, "
                f"diagnose {policy['diagnose']}"
            )
        )
    for earlier in history["reposts"]:
        asked = _short(earlier["created_at"])
        line = f"re-posts {earlier['url']} «{earlier['title']}» (asked {asked}): one request"
        parts.append(Text(line + ", timed from there; the posts of both are below"))
    parts += [posts, deadlines]
    if history["findings"]:
        found = Table(title="findings", title_justify="left")
        for column in ("rule", "stage", "opened", "summary / resolution"):
            found.add_column(column, overflow="fold")
        for f in history["findings"]:
            text = f["summary"] + (f" — {f['resolution']}" if f["resolution"] else "")
            found.add_row(f["rule"], f["stage"], _short(f["opened_at"]), escape(text))
        parts.append(found)
    sent = Table(title="notifications", title_justify="left")
    for column in ("stage", "channel", "to", "queued", "sent"):
        sent.add_column(column, overflow="fold")
    for n in history["notifications"]:
        status = (
            _short(n["sent_at"]) if n["sent_at"] else f"not yet ({n['last_error'] or 'queued'})"
        )
        sent.add_row(
            f"{n['rule']} {n['stage']}",
            n["channel"],
            n["recipient"],
            _short(n["created_at"]),
            status,
        )
    parts.append(sent if history["notifications"] else Text("notifications: none"))
    if history["credits"]:
        owed = ", ".join(f"{c['amount']:g} {c['unit']} ({c['stage']})" for c in history["credits"])
        parts.append(Text(f"credits owed to {history['credits'][0]['customer']}: {owed}"))
    return Group(*parts)


def _local(moment: str | None, zone: str) -> str:
    """A stored ISO moment as "YYYY-MM-DD HH:MM" in `zone` ("-" for none)."""
    if not moment:
        return "-"
    if zone == "UTC":
        return moment[:16].replace("T", " ")
    return f"{datetime.fromisoformat(moment).astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M}"
