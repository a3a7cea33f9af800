"""A live Spirit forum (django-spirit 0.14.3, SQLite) on loopback for integration tests.

`prepare()` makes a fresh Spirit project (its own SQLite database) with the test settings in
`<project>/forumsite/settings/forumwatch.py`; `SpiritForum` runs it with `runserver` and acts
on it over HTTP as a real user would: log in with the session cookie and CSRF token, then fill
in Spirit's forms. Only user accounts are made through `manage.py shell`, because Spirit's own
sign-up waits for an activation e-mail. The `spirit_forum` fixture gives one forum per test
session; import it into a test module: `from tests.live.spirit import spirit_forum`.

The server runs in Europe/Kyiv time: anonymous visitors (as forumwatch is) see dates in that
zone, written without an offset, e.g. title="March 4, 2026, 2:05 p.m.".
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import NamedTuple
from urllib.parse import urljoin

import httpx
import pytest
from bs4 import BeautifulSoup

from tests.live.common import (
    LIVE_DIR,
    ServerProcess,
    engine_venv,
    free_port,
    require_live,
    run,
    unavailable,
    wait_for_http,
)

SPIRIT_VERSION = "0.14.3"
# Django is held to one minor release so that the captured HTML stays reproducible.
REQUIREMENTS = (f"django-spirit=={SPIRIT_VERSION}", "Django>=5.2,<5.3")
PROJECT = "forumsite"
SETTINGS_MODULE = f"{PROJECT}.settings.forumwatch"
TIME_ZONE = "Europe/Kyiv"
COMMENTS_PER_PAGE = 5
TOPICS_PER_PAGE = 5
ADMIN_USER = "forum_admin"
ADMIN_PASSWORD = "admin-pass-42"
INSTALL_HINT = (
    f"let pip reach PyPI (it installs django-spirit=={SPIRIT_VERSION} into "
    f"{LIVE_DIR / 'spirit-venv'}), and have Python's venv module with ensurepip"
)

SETTINGS_OVERRIDE = f'''\
"""Spirit settings for forumwatch's live tests (written by tests/live/spirit.py)."""

from .dev import *  # noqa: F403

DEBUG = True  # tracebacks in the server log; Spirit's pages are the same as with DEBUG off
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
TIME_ZONE = "{TIME_ZONE}"  # what anonymous visitors, forumwatch among them, see
ST_SITE_URL = "http://127.0.0.1/"
ST_RATELIMIT_ENABLE = False  # topics and comments are otherwise limited to 1 per 10 s
ST_DOUBLE_POST_THRESHOLD_MINUTES = 0  # a repeated text is otherwise dropped without a word
ST_NOTIFY_WHEN = "never"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# one line per request in server.log
LOGGING["loggers"]["django.server"] = dict(handlers=["console"], level="INFO", propagate=False)
'''

SETUP_SCRIPT = f"""
from django.contrib.auth import get_user_model
from spirit.admin.forms import BasicConfigForm

User = get_user_model()
admin = User.objects.create_superuser(
    "{ADMIN_USER}", "{ADMIN_USER}@example.com", "{ADMIN_PASSWORD}"
)
admin.st.is_verified = True
admin.st.save()
form = BasicConfigForm(data={{
    "site_name": "Spirit test forum", "site_description": "", "template_footer": "",
    "comments_per_page": {COMMENTS_PER_PAGE}, "topics_per_page": {TOPICS_PER_PAGE},
}})
assert form.is_valid(), form.errors
form.save()
print("ok")
"""

CREATE_USER_SCRIPT = """
import json, os
from django.contrib.auth import get_user_model

spec = json.loads(os.environ["FORUMWATCH_USER"])
User = get_user_model()
user = User.objects.filter(username=spec["username"]).first()
if user is None:
    user = User.objects.create_user(
        spec["username"], spec["username"] + "@example.com", spec["password"]
    )
else:  # the forum is shared by a test session: asking again updates the account
    user.set_password(spec["password"])
    user.save()
user.st.is_verified = True
user.st.is_moderator = spec["moderator"] or spec["admin"]
user.st.is_administrator = spec["admin"]
user.st.save()
print(json.dumps({"id": user.pk, "username": user.username}))
"""

BACKDATE_SCRIPT = """
import json, os
from datetime import datetime
from django.db.models import Max, Min
from spirit.comment.models import Comment
from spirit.topic.models import Topic

topics = set()
for pk, when in json.loads(os.environ["FORUMWATCH_DATES"]).items():
    comment = Comment.objects.get(pk=int(pk))
    Comment.objects.filter(pk=comment.pk).update(date=datetime.fromisoformat(when))
    topics.add(comment.topic_id)
for topic_id in topics:  # like Spirit: moderator actions do not count as activity
    posts = Comment.objects.filter(topic_id=topic_id, action=Comment.COMMENT)
    dates = posts.aggregate(first=Min("date"), last=Max("date"))
    Topic.objects.filter(pk=topic_id).update(date=dates["first"], last_active=dates["last"])
print("ok")
"""


class SpiritError(RuntimeError):
    """Something the live Spirit forum was asked to do did not happen."""


class Category(NamedTuple):
    id: int
    slug: str


class Topic(NamedTuple):
    id: int
    slug: str  # as in the URL: non-ASCII slugs are percent-encoded
    url: str  # absolute, page 1


def spirit_python() -> Path:
    """The python of the cached Spirit virtualenv; skips (or fails under CI) if it can't be
    installed."""
    try:
        return engine_venv("spirit-venv", REQUIREMENTS)
    except (RuntimeError, OSError) as exc:
        unavailable(f"cannot install Spirit {SPIRIT_VERSION}: {str(exc)[-800:]}", INSTALL_HINT)


def _env(python: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTHON"))}
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    env["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    env["PYTHONUNBUFFERED"] = "1"
    return env


def prepare(base: Path | None = None) -> Path:
    """Make a fresh Spirit project with its database, test settings and admin; return its
    folder (the one holding manage.py). `base` defaults to a new folder under LIVE_DIR."""
    python = spirit_python()
    if base is None:
        LIVE_DIR.mkdir(parents=True, exist_ok=True)
        base = Path(tempfile.mkdtemp(prefix="spirit-site-", dir=LIVE_DIR))
    base.mkdir(parents=True, exist_ok=True)
    env = _env(python)
    run([python.parent / "spirit", "startproject", PROJECT], cwd=base, env=env)
    project = base / PROJECT
    (project / PROJECT / "settings" / "forumwatch.py").write_text(SETTINGS_OVERRIDE)
    run([python, "manage.py", "spiritinstall"], cwd=project, env=env)
    run([python, "manage.py", "shell", "-c", SETUP_SCRIPT], cwd=project, env=env)
    return project


def _form_errors(html: str) -> str:
    """The error texts of a re-rendered Django form, or a hint when there are none."""
    soup = BeautifulSoup(html, "lxml")
    found = [el.get_text(" ", strip=True) for el in soup.select(".errorlist, .js-messages")]
    text = " | ".join(part for part in found if part)
    title = soup.title.get_text(strip=True) if soup.title else ""
    return f"[{title}] {text or '(no error shown on the page)'}"


class SpiritForum:
    """A running Spirit forum; a context manager that stops the server on exit."""

    def __init__(self, project: Path, port: int | None = None) -> None:
        self.project = project
        self.python = spirit_python()
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = ServerProcess(
            [
                self.python,
                "manage.py",
                "runserver",
                f"127.0.0.1:{self.port}",
                "--noreload",
            ],
            project / "server.log",
            cwd=project,
            env=_env(self.python),
        )
        self.passwords: dict[str, str] = {ADMIN_USER: ADMIN_PASSWORD}
        self.clients: dict[str, httpx.Client] = {}
        self.startup_seconds = 0.0  # set by the fixture: project setup plus server start

    def __enter__(self) -> SpiritForum:
        self.server.__enter__()
        try:
            self._wait_for_banner(timeout=60)
            wait_for_http(f"{self.url}/", timeout=60, process=self.server.process)
        except RuntimeError as exc:
            self.server.__exit__(None, None, None)
            raise SpiritError(f"Spirit did not start: {exc}\n{self.log_tail()}") from exc
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for client in self.clients.values():
            client.close()
        self.clients.clear()
        self.server.__exit__(exc_type, exc, tb)

    # --- plumbing ---------------------------------------------------------------------

    def _wait_for_banner(self, timeout: float) -> None:
        """Wait for runserver's 'Starting development server' line, so that a stray server
        already on the port is never mistaken for ours."""
        assert self.server.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "Starting development server at" in self.server.log_tail(100_000):
                return
            if self.server.process.poll() is not None:
                raise RuntimeError(f"runserver exited with {self.server.process.returncode}")
            time.sleep(0.2)
        raise RuntimeError(f"runserver printed no start banner within {timeout:g} s")

    def log_tail(self, size: int = 3000) -> str:
        return f"--- Spirit server log (tail) ---\n{self.server.log_tail(size)}"

    def fail(self, what: str, response: httpx.Response | None = None) -> SpiritError:
        """An error naming what failed, the response (if any) and the server log tail."""
        detail = ""
        if response is not None:
            detail = (
                f"\n{response.request.method} {response.request.url} -> {response.status_code}"
                f" {response.headers.get('location', '')}: {_form_errors(response.text)}"
            )
        return SpiritError(f"{what}{detail}\n{self.log_tail()}")

    def manage(self, *args: str, env: dict[str, str] | None = None) -> str:
        """Run `manage.py ARGS` against this forum's project; its stdout."""
        environment = {**_env(self.python), **(env or {})}
        try:
            done = run([self.python, "manage.py", *args], cwd=self.project, env=environment)
        except RuntimeError as exc:
            raise self.fail(f"manage.py {args[0]} failed: {exc}") from exc
        return done.stdout

    def shell(self, code: str, **env: str) -> str:
        """Run Python `code` in `manage.py shell` (Django set up); its stdout."""
        return self.manage("shell", "-c", code, env=env)

    def get(
        self, path: str, user: str | None = None, *, follow_redirects: bool = True
    ) -> httpx.Response:
        """GET a page (path or URL) as an anonymous visitor, or as logged-in `user`."""
        if user is None:
            return httpx.get(urljoin(self.url, path), timeout=30, follow_redirects=follow_redirects)
        return self.session(user).get(path, follow_redirects=follow_redirects)

    def session(self, user: str) -> httpx.Client:
        """An HTTP client logged in as `user` through Spirit's login form."""
        if user in self.clients:
            return self.clients[user]
        if user not in self.passwords:
            raise SpiritError(f"unknown user {user!r}: make it with create_user() first")
        client = httpx.Client(base_url=self.url, timeout=30)
        response = self._submit(
            client,
            "/user/login/",
            {"username": user, "password": self.passwords[user]},
            what=f"log in as {user}",
        )
        if "sessionid" not in client.cookies:
            client.close()
            raise self.fail(f"log in as {user}: no session cookie", response)
        self.clients[user] = client
        return client

    def _submit(
        self,
        client: httpx.Client,
        path: str,
        data: dict[str, str],
        *,
        what: str,
    ) -> httpx.Response:
        """GET the form page (for the CSRF cookie), POST `data`; a redirect means success."""
        page = client.get(path)
        if page.status_code != 200:
            raise self.fail(f"{what}: cannot open the form", page)
        token = client.cookies.get("csrftoken")
        if not token:
            raise self.fail(f"{what}: the form page set no CSRF cookie", page)
        response = client.post(
            path, data={"csrfmiddlewaretoken": token, **data}, headers={"Referer": str(page.url)}
        )
        if response.status_code not in (301, 302, 303):
            raise self.fail(f"{what}: the form was not accepted", response)
        return response

    # --- what users do ---------------------------------------------------------------

    def create_user(
        self, username: str, password: str, *, moderator: bool = False, admin: bool = False
    ) -> int:
        """Make a verified account (through manage.py shell: sign-up needs e-mail); its id.

        An existing account of that name gets this password and these roles: tests sharing
        the session's forum may each ask for the users they need. Spirit lower-cases usernames.
        """
        spec = {"username": username, "password": password, "moderator": moderator}
        out = self.shell(CREATE_USER_SCRIPT, FORUMWATCH_USER=json.dumps({**spec, "admin": admin}))
        made = json.loads(out.strip().splitlines()[-1])
        if made["username"] != username:
            raise SpiritError(f"Spirit stored user {username!r} as {made['username']!r}")
        self.passwords[username] = password
        stale = self.clients.pop(username, None)  # logged in with the old password or roles
        if stale is not None:
            stale.close()
        return int(made["id"])

    def create_category(
        self, title: str, *, description: str = "", listed_in_latest: bool = True
    ) -> Category:
        """Make a top-level category through Spirit's admin pages; its id and slug.

        `listed_in_latest` is Spirit's "global" flag: its topics show on the front page.
        """
        client = self.session(ADMIN_USER)
        form = {"title": title, "description": description, "parent": "", "color": ""}
        if listed_in_latest:
            form["is_global"] = "on"
        self._submit(client, "/st/admin/category/create/", form, what=f"create {title!r}")
        index = client.get("/st/admin/category/")
        found = [
            Category(int(match[1]), match[2])
            for link in BeautifulSoup(index.text, "lxml").select(".admin__items_list__item a")
            if link.get_text(strip=True) == title
            and (match := re.fullmatch(r"/category/(\d+)/([^/]+)/", str(link.get("href", ""))))
        ]
        if not found:
            raise self.fail(f"category {title!r} is not in the admin's category list", index)
        return max(found)

    def post_topic(self, user: str, category: Category | int, title: str, body: str) -> Topic:
        """Publish a topic (its body is the topic's first comment) as `user`."""
        category_id = category if isinstance(category, int) else category.id
        response = self._submit(
            self.session(user),
            f"/topic/publish/{category_id}/",
            {"title": title, "category": str(category_id), "comment": body},
            what=f"{user} posts topic {title!r}",
        )
        location = response.headers["location"]
        match = re.fullmatch(r"/topic/(\d+)/([^/]+)/", location)
        if not match:
            raise self.fail(f"{user} posts topic {title!r}: unexpected redirect", response)
        return Topic(int(match[1]), match[2], urljoin(self.url, location))

    def post_comment(self, user: str, topic: Topic | int, body: str) -> int:
        """Reply to a topic as `user`; the new comment's id."""
        topic_id = topic if isinstance(topic, int) else topic.id
        response = self._submit(
            self.session(user),
            f"/comment/{topic_id}/publish/",
            {"comment": body},
            what=f"{user} comments on topic {topic_id}",
        )
        match = re.fullmatch(r"/comment/(\d+)/find/", response.headers["location"])
        if not match:
            raise self.fail(f"{user} comments on topic {topic_id}: unexpected redirect", response)
        return int(match[1])

    def comment_ids(self, topic: Topic | int) -> list[int]:
        """The ids of a topic's comments, oldest first (the opening post first), moderator-action
        notes such as "closed this" included."""
        topic_id = topic if isinstance(topic, int) else topic.id
        code = (
            "from spirit.comment.models import Comment\n"
            f"print(list(Comment.objects.filter(topic_id={topic_id})"
            ".order_by('date', 'pk').values_list('pk', flat=True)))"
        )
        return [int(pk) for pk in json.loads(self.shell(code).strip().splitlines()[-1])]

    def backdate_comments(self, dates: Mapping[int, datetime]) -> None:
        """Set comments' dates (comment id: aware datetime) through the ORM, and their topics'
        creation and last-activity dates to match (from real comments, not moderator actions);
        for tests that need posts older than a few seconds. Spirit can't do this over HTTP."""
        if any(when.tzinfo is None for when in dates.values()):
            raise ValueError("backdate_comments needs aware datetimes")
        moments = {str(pk): when.astimezone(UTC).isoformat() for pk, when in dates.items()}
        self.shell(BACKDATE_SCRIPT, FORUMWATCH_DATES=json.dumps(moments))

    def moderate(self, moderator: str, topic: Topic | int, action: str) -> None:
        """A moderator's topic action over HTTP: lock, unlock, pin, unpin, delete, undelete,
        global-pin or global-unpin."""
        topic_id = topic if isinstance(topic, int) else topic.id
        self._submit(
            self.session(moderator),
            f"/topic/moderate/{action}/{topic_id}/",
            {},
            what=f"{moderator}: {action} topic {topic_id}",
        )

    def delete_comment(self, moderator: str, comment_id: int) -> None:
        """Remove a comment as a moderator; Spirit then shows "X's comment was removed"."""
        self._submit(
            self.session(moderator),
            f"/comment/{comment_id}/delete/",
            {},
            what=f"{moderator}: delete comment {comment_id}",
        )

    def close_topic(self, moderator: str, topic: Topic | int) -> None:
        """Close (lock) a topic through the moderator's 'Close topic' action."""
        topic_id = topic if isinstance(topic, int) else topic.id
        self.moderate(moderator, topic_id, "lock")
        page = self.get(f"/topic/{topic_id}/")
        if BeautifulSoup(page.text, "lxml").select_one("h1.headline .fa-lock") is None:
            raise self.fail(f"topic {topic_id} shows no lock after closing", page)


def start_spirit(base: Path) -> SpiritForum:
    """A new forum in `base`, not yet started: use it as `with start_spirit(tmp) as forum:`."""
    return SpiritForum(prepare(base))


@pytest.fixture(scope="session")
def spirit_forum(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpiritForum]:
    """One live Spirit forum for the test session, in a fresh project and database."""
    require_live("Spirit")
    started = time.monotonic()
    with start_spirit(tmp_path_factory.mktemp("spirit")) as forum:
        forum.startup_seconds = time.monotonic() - started
        yield forum
