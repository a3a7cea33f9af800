"""Where a message's links point: a stored topic link follows its forum to where it lives now
(the configured `url`), whatever host or base path it was stored under."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import SplitResult, urlsplit, urlunsplit

from forumwatch.model import TopicKey


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
