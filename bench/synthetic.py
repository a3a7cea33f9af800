"""A synthetic Discourse forum on loopback, generated from a compact deterministic model.

Topic `i` (1..N) is a pure function of (i, generation): its dates, posts, authors, state and
category come from integer hashes, so the server and the store filler (bench/store_fill.py)
agree on every byte without sharing state. `advance(share)` adds one post to a share of the
open topics (a customer's bump or a developer's answer), bumping them to the top of /latest.

Served (Discourse-shaped, noise fields from forumwatch/sample_forum/captures):
/latest.json?page=N (30 a page, `more_topics_url`), /t/{id}.json (20 posts inline,
`post_stream.stream`), /t/{id}/posts.json?post_ids[]=, /categories.json,
/groups/{name}/members.json. Control (not counted): /_bench/counts, /_bench/reset,
/_bench/advance?share=F&at=ISO.

    .venv/bin/python -m bench.synthetic --topics 10000      # serve until Ctrl-C
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from forumwatch.sample_forum.render import capture

BASE = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)  # the synthetic forum's "present"
SPAN = timedelta(days=60)  # topics are spread evenly over this (within the 90-day lookback)
PAGE_SIZE = 30
CHUNK = 20  # posts inlined in /t/{id}.json
APPS = 10
STAFF = ("staff_anna", "staff_oleh")
DEV_GROUP = "vendor-team"
FORUM_ID = "bench"
_SENTENCES = (
    "export fails with timeout after update the invoice form shows an empty field when the "
    "customer opens the report again please check the logs attached since yesterday our "
    "accountant cannot sign documents and the button stays grey although the licence is valid "
    "we restarted the server cleared the cache and reinstalled the module but nothing helped "
)
_TEXT = _SENTENCES * 8


def mix(*values: int) -> int:
    """A fast deterministic 32-bit hash of small ints (splitmix-style)."""
    x = 0x9E3779B9
    for v in values:
        x = (x ^ (v + 0x7F4A7C15 + (x << 6) + (x >> 2))) & 0xFFFFFFFF
        x = (x * 0x85EBCA6B) & 0xFFFFFFFF
        x ^= x >> 13
        x = (x * 0xC2B2AE35) & 0xFFFFFFFF
        x ^= x >> 16
    return x


@dataclass(frozen=True)
class SynPost:
    number: int
    username: str
    created_at: datetime
    post_type: int  # 1 reply, 3 small action, 4 whisper
    body: str
    action_code: str | None = None
    accepted: bool = False


@dataclass(frozen=True)
class SynTopic:
    id: int
    title: str
    category_id: int
    created_at: datetime
    posts: tuple[SynPost, ...]
    closed: bool
    archived: bool
    solved: bool
    pinned: bool

    @property
    def bumped_at(self) -> datetime:
        return max(p.created_at for p in self.posts if p.post_type != 4)

    @property
    def posts_count(self) -> int:
        return sum(1 for p in self.posts if p.post_type != 4)

    @property
    def is_open(self) -> bool:
        return not (self.closed or self.archived or self.solved)


def developer(category_id: int) -> str:
    return f"dev_{category_id}"


def user_flags(username: str) -> dict[str, Any]:
    """What Discourse shows next to a user's post: staff flags and primary group."""
    if username in STAFF:
        return {"staff": True, "moderator": True, "admin": False, "primary_group_name": "quality"}
    if username.startswith("dev_"):
        return {"staff": False, "moderator": False, "admin": False, "primary_group_name": DEV_GROUP}
    return {"staff": False, "moderator": False, "admin": False, "primary_group_name": None}


def display_name(username: str) -> str:
    return username.replace("_", " ").title()


def iso_z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _ms(moment: datetime) -> datetime:
    """Rounded down to the millisecond, as Discourse's JSON dates are."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _body(i: int, k: int) -> str:
    h = mix(i, k, 7)
    length = 120 + h % 280
    start = (h >> 9) % (len(_TEXT) - length)
    return _TEXT[start : start + length].strip()


class Model:
    """N topics; `extra[i]` holds posts added by `advance` (the forum moving on)."""

    def __init__(self, topics: int, base: datetime = BASE) -> None:
        self.n = topics
        self.base = base
        self.customers = max(10, topics // 3)
        self.extra: dict[int, list[SynPost]] = {}
        self.probes: list[SynTopic] = []  # topics added while serving (bench.run's latency)

    def ids(self) -> range:
        return range(1, self.n + len(self.probes) + 1)

    def add_probe(self, created: datetime, title: str) -> int:
        """A new open customer topic with no reply, created at `created`."""
        i = self.n + len(self.probes) + 1
        post = SynPost(1, f"cust_probe_{i}", _ms(created), 1, _body(i, 1))
        category = 1 + len(self.probes) % APPS  # one app each: three in one app are a burst
        self.probes.append(
            SynTopic(i, title, category, _ms(created), (post,), False, False, False, False)
        )
        return i

    def created(self, i: int) -> datetime:
        age = SPAN * ((self.n - i + 0.5) / self.n)
        return _ms(self.base - age)

    def topic(self, i: int) -> SynTopic:
        if i > self.n:
            return self.probes[i - self.n - 1]
        h = mix(i, 1)
        category = 1 + h % APPS
        created = self.created(i)
        author = f"cust_{mix(i, 3) % self.customers}"
        pinned = i == 1
        if pinned:
            author = STAFF[0]
        count = 45 if mix(i, 2) % 100 == 0 else 1 + (h >> 8) % 19
        kind = mix(i, 4) % 100  # state/pattern class
        closed, solved, archived = 50 <= kind < 75, 75 <= kind < 95, kind >= 95
        pattern = kind % 50
        gap = timedelta(minutes=40 if pattern < 10 else 170)
        room = (self.base - created) / (count + 1)
        gap = min(gap, room)
        dev = developer(category)
        posts = []
        for k in range(1, count + 1):
            at = _ms(created + gap * (k - 1))
            post_type, action = 1, None
            if k == 1:
                who = author
            elif pattern < 10:  # answered: developer and author alternate, developer last
                who = dev if (count - k) % 2 == 0 else author
            elif pattern < 16:  # staff acknowledged, the developer never came: no_diagnosis
                who = STAFF[k % 2] if (count - k) % 2 == 0 else author
            elif pattern < 28:  # only customers talk: masked_silence
                who = author if k % 3 else f"cust_{mix(i, k, 9) % self.customers}"
            elif pattern < 40:  # answered once, follow-ups ignored: follow_up_ignored
                who = dev if k == 2 else author
            elif pattern < 44:  # only whispers from staff: unanswered
                who, post_type = STAFF[0], 4
            else:  # answered, with a moderator's small action in between
                who = dev if (count - k) % 2 == 0 else author
                if k == 2:
                    who, post_type, action = STAFF[1], 3, "visible.disabled"
            accepted = solved and k == count and k > 1 and who == dev
            posts.append(SynPost(k, who, at, post_type, _body(i, k), action, accepted))
        posts += self.extra.get(i, [])
        title = f"{_TEXT[(h >> 4) % 500 : (h >> 4) % 500 + 40].strip().capitalize()} (#{i})"
        return SynTopic(i, title, category, created, tuple(posts), closed, archived, solved, pinned)

    def advance(self, share: float, at: datetime, generation: int) -> list[int]:
        """One new post on `share` of the open topics: half customers' bumps, half answers."""
        chosen = []
        wanted = round(self.n * share)
        step = 0
        while len(chosen) < wanted and step < self.n * 4:
            i = 2 + mix(generation, step, 11) % (self.n - 1)
            step += 1
            if i in chosen:
                continue
            topic = self.topic(i)
            if not topic.is_open:
                continue
            chosen.append(i)
            number = len(topic.posts) + 1
            who = developer(topic.category_id) if step % 2 else topic.posts[0].username
            post = SynPost(number, who, _ms(at), 1, _body(i, number))
            self.extra.setdefault(i, []).append(post)
        return chosen


def marker(topic: SynTopic) -> str:
    """The change marker forumwatch derives from this topic's list row."""
    return "|".join(
        [
            iso_z(topic.bumped_at),
            str(topic.posts_count),
            str(len(topic.posts)),
            f"closed={topic.closed}",
            f"archived={topic.archived}",
        ]
    )


def post_id(topic_id: int, number: int) -> int:
    return topic_id * 1000 + number


def slug(topic: SynTopic) -> str:
    words = "".join(c.lower() if c.isalnum() else " " for c in topic.title).split()
    return "-".join(words) or "topic"


class Renderer:
    """Model → Discourse JSON, each payload a shallow copy of a captured one with our fields."""

    def __init__(self, model: Model) -> None:
        self.model = model
        post = capture("topic_posts.json")["post_stream"]["posts"][0]
        post.pop("raw", None)
        self.post_template = post
        self.row_template = capture("latest.json")["topic_list"]["topics"][1]
        self.list_template = capture("latest.json")
        self.list_template["topic_list"]["topics"] = []
        topic = capture("topic.json")
        topic.pop("suggested_topics", None)
        topic.pop("post_stream", None)
        self.topic_template = topic
        self.order: list[int] = []
        self.reorder()

    def reorder(self) -> None:
        """Pinned first, then newest bump first, as /latest does."""
        bumps = {i: self.model.topic(i).bumped_at for i in self.model.ids()}
        self.order = sorted(bumps, key=lambda i: (i != 1, -bumps[i].timestamp()))

    def user_id(self, username: str) -> int:
        return 1 + mix(sum(map(ord, username)), len(username)) % 10_000_000

    def post(self, topic: SynTopic, p: SynPost) -> dict[str, Any]:
        data = dict(self.post_template)
        name = display_name(p.username)
        data.update(
            id=post_id(topic.id, p.number),
            name=name,
            username=p.username,
            display_username=name,
            user_id=self.user_id(p.username),
            created_at=iso_z(p.created_at),
            updated_at=iso_z(p.created_at),
            cooked=f"<p>{p.body}</p>",
            post_number=p.number,
            post_type=p.post_type,
            reply_to_post_number=None,
            topic_id=topic.id,
            topic_slug=slug(topic),
            user_title=None,
            flair_name=None,
            action_code=p.action_code,
            accepted_answer=p.accepted,
            deleted_at=None,
            user_deleted=False,
            **user_flags(p.username),
        )
        return data

    def row(self, topic: SynTopic) -> dict[str, Any]:
        data = dict(self.row_template)
        data.update(
            id=topic.id,
            title=topic.title,
            fancy_title=topic.title,
            slug=slug(topic),
            posts_count=topic.posts_count,
            reply_count=topic.posts_count - 1,
            highest_post_number=len(topic.posts),
            created_at=iso_z(topic.created_at),
            last_posted_at=iso_z(topic.bumped_at),
            bumped_at=iso_z(topic.bumped_at),
            pinned=topic.pinned,
            closed=topic.closed,
            archived=topic.archived,
            category_id=topic.category_id,
            has_accepted_answer=topic.solved,
            last_poster_username=topic.posts[-1].username,
        )
        return data

    def latest(self, page: int) -> dict[str, Any]:
        data = dict(self.list_template)
        shown = self.order[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        listing = dict(data["topic_list"])
        listing["topics"] = [self.row(self.model.topic(i)) for i in shown]
        listing.pop("more_topics_url", None)
        if (page + 1) * PAGE_SIZE < len(self.order):
            listing["more_topics_url"] = f"/latest?page={page + 1}"
        data["topic_list"] = listing
        return data

    def topic(self, topic_id: int) -> dict[str, Any]:
        topic = self.model.topic(topic_id)
        data = dict(self.topic_template)
        data.update(self.row(topic))
        data.update(solved_fields(topic))
        data["post_stream"] = {
            "posts": [self.post(topic, p) for p in topic.posts[:CHUNK]],
            "stream": [post_id(topic.id, p.number) for p in topic.posts],
        }
        first, last = topic.posts[0].username, topic.posts[-1].username
        details = dict(data["details"])
        details["created_by"] = {"id": self.user_id(first), "username": first}
        details["last_poster"] = {"id": self.user_id(last), "username": last}
        data["details"] = details
        return data

    def posts(self, topic_id: int, ids: list[int]) -> dict[str, Any]:
        topic = self.model.topic(topic_id)
        wanted = set(ids)
        chosen = [p for p in topic.posts if post_id(topic_id, p.number) in wanted]
        return {"post_stream": {"posts": [self.post(topic, p) for p in chosen]}, "id": topic_id}

    def categories(self) -> dict[str, Any]:
        rows = [{"id": c, "slug": f"app-{c}", "name": f"App {c}"} for c in range(1, APPS + 1)]
        return {"category_list": {"categories": rows}}

    def members(self, offset: int, limit: int) -> dict[str, Any]:
        names = [developer(c) for c in range(1, APPS + 1)] + ["dev_lead"]
        shown = names[offset : offset + limit]
        return {
            "members": [{"id": self.user_id(u), "username": u} for u in shown],
            "owners": [],
            "meta": {"total": len(names), "limit": limit, "offset": offset},
        }


def solved_fields(topic: SynTopic) -> dict[str, Any]:
    if not topic.solved:
        return {"accepted_answer": None}
    last = topic.posts[-1]
    return {"accepted_answer": {"post_number": last.number, "username": last.username}}


def path_kind(path: str) -> str:
    """Requests are counted per kind of path: list, topic, posts, categories, members, other."""
    if path.startswith("/latest"):
        return "list"
    if path.startswith("/t/") and path.endswith("/posts.json"):
        return "posts"
    if path.startswith("/t/"):
        return "topic"
    if path.startswith("/categories"):
        return "categories"
    if path.startswith("/groups/"):
        return "members"
    return "other"


class SyntheticForum:
    """The server: a context manager; `url`, `counts` (per path kind), `advance(share)`."""

    def __init__(self, topics: int, base: datetime = BASE, port: int = 0) -> None:
        self.model = Model(topics, base)
        self.renderer = Renderer(self.model)
        self.counts: Counter[str] = Counter()
        self.generation = 0
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self.httpd.daemon_threads = True
        host, bound = self.httpd.server_address[:2]
        self.url = f"http://{host!s}:{bound}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> SyntheticForum:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def advance(self, share: float, at: datetime) -> dict[str, Any]:
        """Change `share` of the topics; returns them and the fewest requests that can see it:
        the list pages down to the first unchanged row, and each changed topic whole."""
        with self._lock:
            self.generation += 1
            chosen = self.model.advance(share, at, self.generation)
            self.renderer.reorder()
            changed = set(chosen)
            order = self.renderer.order
            first_old = next(n for n, i in enumerate(order) if i != 1 and i not in changed)
            topic_requests = sum(
                1 + max(0, -(-(len(self.model.topic(i).posts) - CHUNK) // CHUNK)) for i in chosen
            )
            pages = first_old // PAGE_SIZE + 1
            return {"changed": chosen, "minimum": pages + topic_requests, "pages": pages}

    def add_probe(self, created: datetime, title: str) -> int:
        with self._lock:
            topic_id = self.model.add_probe(created, title)
            self.renderer.reorder()
            return topic_id

    def answer(self, path: str, query: dict[str, list[str]]) -> Any:
        r = self.renderer
        if path == "/_bench/counts":
            return dict(self.counts)
        if path == "/_bench/reset":
            self.counts.clear()
            return {}
        if path == "/_bench/advance":
            at = datetime.fromisoformat(query["at"][0])
            return self.advance(float(query["share"][0]), at)
        if path == "/_bench/probe":
            created = datetime.fromisoformat(query["created"][0])
            return {"id": self.add_probe(created, query["title"][0])}
        if path == "/_bench/model":
            return {"topics": self.model.n, "base": self.model.base.isoformat()}
        self.counts[path_kind(path)] += 1
        self.counts["total"] += 1
        parts = path.strip("/").split("/")
        if path in ("/latest.json", "/latest"):
            return r.latest(int(query.get("page", ["0"])[0]))
        if path == "/categories.json":
            return r.categories()
        if parts[0] == "groups" and parts[-1] == "members.json":
            offset = int(query.get("offset", ["0"])[0])
            return r.members(offset, int(query.get("limit", ["50"])[0]))
        if parts[0] == "t" and len(parts) == 3 and parts[2] == "posts.json":
            return r.posts(int(parts[1]), [int(i) for i in query.get("post_ids[]", [])])
        if parts[0] == "t" and len(parts) == 2 and parts[1].endswith(".json"):
            topic_id = int(parts[1][:-5])
            if topic_id in self.model.ids():
                return r.topic(topic_id)
        return None


def _handler(forum: SyntheticForum) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real forum behind nginx
        disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms stalls

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            data = forum.answer(parts.path, parse_qs(parts.query))
            if data is None:
                body, status = b'{"errors":["not found"]}', 404
            else:
                body, status = json.dumps(data, separators=(",", ":")).encode(), 200
            gzipped = "gzip" in self.headers.get("accept-encoding", "") and len(body) > 1024
            if gzipped:
                body = gzip.compress(body, compresslevel=1)
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            if gzipped:
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


def serve_forever(topics: int, base: datetime, cpu: int | None) -> None:
    """Serve in this process, print the URL on stdout (one line), run until killed."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    with SyntheticForum(topics, base) as forum:
        print(forum.url, flush=True)
        threading.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", type=int, default=10_000)
    parser.add_argument("--base", default=BASE.isoformat(), help="the forum's present (ISO)")
    parser.add_argument("--cpu", type=int, default=None, help="pin the server to this core")
    args = parser.parse_args()
    try:
        serve_forever(args.topics, datetime.fromisoformat(args.base), args.cpu)
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
