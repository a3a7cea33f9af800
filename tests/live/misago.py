"""A real Misago 0.39 forum on loopback for live tests, driven over HTTP as its users would.

    from tests.live.misago import misago_forum      # a session-scoped pytest fixture

    def test_x(misago_forum: MisagoForum) -> None:
        misago_forum.create_user("client_ivan", "secret-pass-1")
        category = misago_forum.create_category("Signed files")
        thread = misago_forum.post_thread("client_ivan", category, "It crashes", "Help!")

Setup: the PyPI wheel `misago==0.39.6` goes into its own virtualenv (`.live/misago-venv`, made
once); its bundled `devproject` is used with a settings override written into a temporary site
folder (database on a throwaway PostgreSQL cluster, eager Celery instead of Redis, no debug
toolbar, no flood protection, dummy cache so the server and our admin scripts never disagree);
`manage.py migrate`, then `runserver 127.0.0.1:<port> --noreload`.

What real users can do goes over the JSON API with a session login (POST /api/auth/ with the
csrftoken cookie and X-CSRFToken header): starting threads, replying, closing (PATCH ops),
marking a best answer. What needs an admin (accounts without e-mail activation, ranks,
categories, forum settings) runs as a small Django script in the forum's virtualenv.

`python -m tests.live.misago DIR` starts a forum, fills it and writes its responses into DIR
(that is how tests/fixtures/misago/ was captured).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live.common import (
    ServerProcess,
    engine_venv,
    free_port,
    require_live,
    run,
    wait_for_http,
)
from tests.live.postgres import Postgres, postgres_cluster

REQUIREMENTS = ["misago==0.39.6"]
SETTINGS_MODULE = "forumwatch_misago_settings"

MANAGE_PY = f"""import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{SETTINGS_MODULE}")
from django.core.management import execute_from_command_line; execute_from_command_line(sys.argv)
"""

SETTINGS_PY = """\
from devproject.settings import *  # noqa: F403  (the wheel's own dev project)
from misago.conf.defaults import MISAGO_POSTING_MIDDLEWARES

DATABASES["default"].update(
    NAME="misago", USER={user!r}, PASSWORD="", HOST={host!r}, PORT={port!r}
)
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
TIME_ZONE = "UTC"
USE_TZ = True
# no Redis: tasks (notifications after a reply) run inside the request
CELERY_BROKER_URL = "memory://"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
# the server and our admin scripts are separate processes: no cache to disagree about
CACHES = {{"default": {{"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}}}
MIDDLEWARE = [m for m in MIDDLEWARE if "debug_toolbar" not in m]
INSTALLED_APPS = [a for a in INSTALLED_APPS if a != "debug_toolbar"]
INTERNAL_IPS = []
# test users post a few times a second
MISAGO_POSTING_MIDDLEWARES = [
    m for m in MISAGO_POSTING_MIDDLEWARES if not m.endswith("FloodProtectionMiddleware")
]
MISAGO_NEW_REGISTRATIONS_VALIDATORS = ()
AUTH_PASSWORD_VALIDATORS = []
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = {media!r}
MISAGO_USER_DATA_DOWNLOADS_WORKING_DIR = {media!r}
"""

# Admin work that has no public API: run in the forum's virtualenv, prints one JSON line.
ADMIN_PY = f"""\
import json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{SETTINGS_MODULE}")
import django
django.setup()
from django.contrib.auth import get_user_model
from misago.acl.cache import clear_acl_cache
from misago.cache.versions import invalidate_all_caches
from misago.categories.models import Category, CategoryRole, RoleCategoryACL
from misago.conf.models import Setting
from misago.conf.shortcuts import get_dynamic_settings
from misago.faker.categories import copy_acl_to_fake_category
from misago.users.models import Rank
from misago.users.setupnewuser import setup_new_user


def settings(values):
    for name, value in values.items():
        Setting.objects.change_setting(name, dry_value=str(value))
    invalidate_all_caches()
    return {{"changed": sorted(values)}}


def user(username, password, moderator, staff):
    rank = Rank.objects.get(slug="forum-team") if moderator else Rank.objects.get_default()
    User = get_user_model()
    created = User.objects.create_user(
        username, f"{{username}}@example.test", password, rank=rank, is_staff=staff
    )
    setup_new_user(get_dynamic_settings(), created)
    clear_acl_cache()
    return {{"id": created.pk, "rank": rank.pk, "rank_name": rank.name}}


def category(name):
    source = Category.objects.all_categories().order_by("lft").first()
    parent = Category.objects.root_category()
    created = Category()
    created.set_name(name)
    created.insert_at(parent, position="last-child", save=True)
    copy_acl_to_fake_category(source, created)
    # best answers: authors mark them in their own threads, moderators in any
    qa_user = CategoryRole.objects.get(name="Q&A user")
    qa_moderator = CategoryRole.objects.get(name="Q&A moderator")
    for role in {{acl.role for acl in created.category_role_set.select_related("role")}}:
        if role.special_role == "anonymous":
            continue
        qa_role = qa_moderator if role.name == "Moderator" else qa_user
        RoleCategoryACL.objects.create(role=role, category=created, category_role=qa_role)
    clear_acl_cache()
    invalidate_all_caches()
    return {{"id": created.pk, "slug": created.slug}}


command, args = sys.argv[1], json.loads(sys.argv[2])
print(json.dumps(globals()[command](**args)))
"""

# Forum settings for tests: small pages so that paging is exercised, no captcha, plain avatars
# (the default fetches Gravatar over the Internet), no account activation.
TEST_SETTINGS = {
    "threads_per_page": 3,
    "posts_per_page": 5,
    "posts_per_page_orphans": 0,
    "captcha_type": "no",
    "default_avatar": "dynamic",
    "default_gravatar_fallback": "dynamic",
    "account_activation": "none",
}


class MisagoError(RuntimeError):
    """A step against the live forum failed; the message ends with the server log's tail."""


@dataclass
class Timings:
    """Seconds spent starting: the virtualenv (installing, or checking the cached one), the
    PostgreSQL cluster (initdb, start, createdb), migrations with the test settings, and the
    server until it answered."""

    venv: float = 0.0
    postgres: float = 0.0
    migrate: float = 0.0
    server: float = 0.0


@dataclass
class MisagoForum:
    """A running Misago: `url` is its base; methods act over HTTP as its users would."""

    url: str
    python: Path
    site: Path
    server: ServerProcess
    timings: Timings = field(default_factory=Timings)
    _passwords: dict[str, str] = field(default_factory=dict)
    _sessions: dict[str, httpx.Client] = field(default_factory=dict)

    # --- admin work (no public API) -----------------------------------------------------------

    def admin(self, command: str, **args: object) -> dict[str, Any]:
        """Run one function of the admin script; its JSON result."""
        try:
            return _admin(self.python, self.site, command, **args)
        except RuntimeError as err:
            raise MisagoError(f"admin {command} failed: {err}{self._tail()}") from None

    def configure(self, **values: object) -> None:
        """Change forum settings (threads_per_page, posts_per_page, ...)."""
        self.admin("settings", values=values)

    def create_user(
        self, username: str, password: str, *, moderator: bool = False, staff: bool = False
    ) -> int:
        """An active account; `moderator` puts it in the "Forum team" rank (global moderator),
        `staff` gives it the admin flag. Returns the user id."""
        created = self.admin(
            "user", username=username, password=password, moderator=moderator, staff=staff
        )
        self._passwords[username] = password
        return int(created["id"])

    def create_category(self, name: str) -> int:
        """A top-level category with the default category's permissions; its id."""
        return int(self.admin("category", name=name)["id"])

    # --- what users do over the API -----------------------------------------------------------

    def post_thread(self, user: str, category_id: int, title: str, body: str) -> int:
        data = {"title": title, "category": category_id, "post": body}
        created = self._call(user, "POST", "/api/threads/", data)
        return int(created["id"])

    def post_reply(self, user: str, thread_id: int, body: str) -> int:
        """A reply; returns the post's id."""
        created = self._call(user, "POST", f"/api/threads/{thread_id}/posts/", {"post": body})
        return int(created["id"])

    def close_thread(self, moderator: str, thread_id: int) -> None:
        ops = [{"op": "replace", "path": "is-closed", "value": True}]
        self._call(moderator, "PATCH", f"/api/threads/{thread_id}/", ops)

    def mark_best_answer(self, user: str, thread_id: int, post_id: int) -> None:
        ops = [{"op": "replace", "path": "best-answer", "value": post_id}]
        self._call(user, "PATCH", f"/api/threads/{thread_id}/", ops)

    def pin_thread(self, moderator: str, thread_id: int, weight: int = 1) -> None:
        """weight 1 pins in the category, 2 everywhere."""
        ops = [{"op": "replace", "path": "weight", "value": weight}]
        self._call(moderator, "PATCH", f"/api/threads/{thread_id}/", ops)

    def hide_post(self, moderator: str, thread_id: int, post_id: int) -> None:
        ops = [{"op": "replace", "path": "is-hidden", "value": True}]
        self._call(moderator, "PATCH", f"/api/threads/{thread_id}/posts/{post_id}/", ops)

    def get_json(self, path: str, params: dict[str, str | int] | None = None) -> Any:
        """What an anonymous visitor (and forumwatch) gets."""
        response = httpx.get(f"{self.url}{path}", params=params, timeout=30)
        if response.status_code != 200:
            raise MisagoError(f"GET {path}: HTTP {response.status_code}{self._tail()}")
        return response.json()

    def get_text(self, path: str) -> str:
        response = httpx.get(f"{self.url}{path}", timeout=30, follow_redirects=True)
        if response.status_code != 200:
            raise MisagoError(f"GET {path}: HTTP {response.status_code}{self._tail()}")
        return response.text

    def close(self) -> None:
        for session in self._sessions.values():
            session.close()
        self._sessions.clear()

    def _session(self, user: str) -> httpx.Client:
        """A logged-in client of `user`: csrftoken cookie first, then POST /api/auth/."""
        if user in self._sessions:
            return self._sessions[user]
        if user not in self._passwords:
            raise MisagoError(f"unknown user {user!r}: create_user() it first")
        client = httpx.Client(base_url=self.url, timeout=30)
        client.get("/")  # sets the csrftoken cookie
        if "csrftoken" not in client.cookies:
            raise MisagoError(f"GET / set no csrftoken cookie{self._tail()}")
        login = {"username": user, "password": self._passwords[user]}
        response = client.post("/api/auth/", json=login, headers=self._csrf(client))
        if response.status_code != 200:
            client.close()
            raise MisagoError(
                f"login of {user} failed: HTTP {response.status_code} {response.text[:500]}"
                f"{self._tail()}"
            )
        self._sessions[user] = client
        return client

    @staticmethod
    def _csrf(client: httpx.Client) -> dict[str, str]:
        return {"X-CSRFToken": client.cookies["csrftoken"]}  # rotated at login: read anew

    def _call(self, user: str, method: str, path: str, data: object) -> Any:
        client = self._session(user)
        response = client.request(method, path, json=data, headers=self._csrf(client))
        if response.status_code != 200:
            raise MisagoError(
                f"{user}: {method} {path} {json.dumps(data)[:200]} answered HTTP "
                f"{response.status_code}: {response.text[:800]}{self._tail()}"
            )
        return response.json()

    def _tail(self) -> str:
        return f"\n--- misago server log (tail) ---\n{self.server.log_tail()}"


def _admin(python: Path, site: Path, command: str, **args: object) -> dict[str, Any]:
    done = run([python, site / "forumwatch_misago_admin.py", command, json.dumps(args)], cwd=site)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _write_site(site: Path, pg: Postgres) -> None:
    media = site / "media"
    media.mkdir(parents=True, exist_ok=True)
    (site / "manage.py").write_text(MANAGE_PY)
    settings = SETTINGS_PY.format(user=pg.user, host=pg.host, port=str(pg.port), media=str(media))
    (site / f"{SETTINGS_MODULE}.py").write_text(settings)
    (site / "forumwatch_misago_admin.py").write_text(ADMIN_PY)


@contextmanager
def running_misago(site: Path) -> Iterator[MisagoForum]:
    """Install (once), set up and start a Misago forum with its data under `site`."""
    timings = Timings()
    started = time.monotonic()
    python = engine_venv("misago-venv", REQUIREMENTS)
    timings.venv = time.monotonic() - started
    started = time.monotonic()
    with postgres_cluster() as pg:
        pg.create_database("misago")
        timings.postgres = time.monotonic() - started
        _write_site(site, pg)
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE, "PYTHONUNBUFFERED": "1"}
        started = time.monotonic()
        try:
            run([python, "manage.py", "migrate", "--noinput"], cwd=site, env=env)
            _admin(python, site, "settings", values=TEST_SETTINGS)
        except RuntimeError as err:
            raise MisagoError(f"setting Misago up failed: {err}") from None
        timings.migrate = time.monotonic() - started
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        command: list[str | Path] = [python, "manage.py", "runserver", f"127.0.0.1:{port}"]
        command.append("--noreload")  # one process: stopping its group stops the server
        with ServerProcess(command, site / "server.log", cwd=site, env=env) as server:
            forum = MisagoForum(url, python, site, server, timings)
            started = time.monotonic()
            try:
                wait_for_http(f"{url}/api/threads/", timeout=90, process=server.process)
            except RuntimeError as err:
                raise MisagoError(f"Misago did not start: {err}{forum._tail()}") from None
            timings.server = time.monotonic() - started
            try:
                yield forum
            finally:
                forum.close()


@pytest.fixture(scope="session")
def misago_forum(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MisagoForum]:
    """One live Misago for the whole test session (skips unless live tests are enabled)."""
    require_live("Misago")
    with running_misago(tmp_path_factory.mktemp("misago-site")) as forum:
        yield forum


def capture(forum: MisagoForum, folder: Path) -> None:
    """Fill `forum` with a small story and write what it answers into `folder`, with
    index.json mapping each request (path and query, as forumwatch sends it) to its file."""
    for name in ("dev_olena", "client_ivan", "client_maria", "partner_taras"):
        forum.create_user(name, f"pass-{name}")
    forum.create_user("mod_quality", "pass-mod_quality", moderator=True)
    category = forum.create_category("Signed files")
    rules = forum.post_thread("mod_quality", category, "Read this first", "Forum rules.")
    forum.pin_thread("mod_quality", rules)
    long = forum.post_thread(
        "client_ivan", category, "Export crashes with signed files", "Export crashes. Help?"
    )
    replies = [
        ("dev_olena", "Which version do you use?"),
        ("client_ivan", "Version 2.4 on Windows."),
        ("partner_taras", "Our other customers see it too."),
        ("dev_olena", "Reproduced, a fix is coming."),
        ("client_maria", "Same here, any news?"),
        ("dev_olena", "Fixed in 2.5, please update."),
        ("client_ivan", "Works now, thank you."),
        ("client_maria", "Confirmed, works for me too."),
    ]
    ids = [forum.post_reply(user, long, body) for user, body in replies]
    forum.hide_post("mod_quality", long, ids[2])  # the integrator's note, hidden
    forum.close_thread("mod_quality", long)
    solved = forum.post_thread("client_maria", category, "Where is the licence key?", "Where?")
    answer = forum.post_reply("dev_olena", solved, "In Settings, About.")
    forum.mark_best_answer("client_maria", solved, answer)
    forum.post_thread("client_ivan", category, "Invoice for March", "Please send the invoice.")
    masked = forum.post_thread("client_maria", category, "Signature fails", "Error 0x80.")
    forum.post_reply("partner_taras", masked, "Try reinstalling the certificate.")
    index: dict[str, str] = {}

    def save(target: str, name: str, params: list[tuple[str, str | int]] | None = None) -> Any:
        query = "&".join(f"{k}={v}" for k, v in params or [])
        data = forum.get_json(target, dict(params or []))
        (folder / name).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
        index[f"{target}?{query}" if query else target] = name
        return data

    listing: list[tuple[str, str | int]] = [("category", category), ("list", "all")]
    first = save("/api/threads/", "threads_page1.json", listing)
    save("/api/threads/", "threads_page2.json", [*listing, ("start", first["next"])])
    closed = save(f"/api/threads/{long}/posts/", "posts_closed_page1.json")
    for page in (2, 3):
        params: list[tuple[str, str | int]] = [("page", page)]
        save(f"/api/threads/{long}/posts/", f"posts_closed_page{page}.json", params)
    save(f"/api/threads/{solved}/posts/", "posts_solved.json")
    save(f"/api/threads/{masked}/posts/", "posts_masked.json")
    ranks = save("/api/ranks/", "ranks.json")
    save("/api/users/", "rank_users.json", [("rank", ranks[0]["id"]), ("page", 1)])
    (folder / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    (folder / "list.html").write_text(forum.get_text(f"/c/signed-files/{category}/"))
    (folder / "thread.html").write_text(forum.get_text(closed["url"]["index"]))


if __name__ == "__main__":  # python -m tests.live.misago DIR: capture into DIR
    with tempfile.TemporaryDirectory() as site, running_misago(Path(site)) as forum:
        print(f"Misago at {forum.url}; {forum.timings}", flush=True)
        target = Path(sys.argv[1])
        target.mkdir(parents=True, exist_ok=True)
        capture(forum, target)
        print(f"captured into {target}")
