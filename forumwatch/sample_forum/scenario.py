"""A forum described in plain Python: what the sample server turns into Discourse JSON.

Tests and the demo build one of these, hand it to `SampleForumServer`, and may change it between
polls (add a post, close a topic) to see what forumwatch makes of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# Discourse post types (Discourse's API): 1 regular, 2 moderator action, 3 small action, 4 whisper.
REGULAR, MODERATOR_ACTION, SMALL_ACTION, WHISPER = 1, 2, 3, 4


@dataclass
class SamplePost:
    username: str
    created_at: datetime
    body: str = ""
    post_type: int = REGULAR
    reply_to: int | None = None
    display_name: str = ""
    primary_group: str | None = None  # Discourse `primary_group_name`
    flair_group: str | None = None  # newer Discourse `flair_name`
    user_title: str | None = None
    staff: bool = False
    moderator: bool = False
    admin: bool = False
    action_code: str | None = None  # e.g. "closed.enabled" on small actions
    accepted_answer: bool = False  # the Solved plugin's mark


@dataclass
class SampleCategory:
    id: int
    slug: str
    name: str = ""


@dataclass
class SampleTopic:
    id: int
    title: str
    posts: list[SamplePost]
    category_id: int = 1
    closed: bool = False
    archived: bool = False
    pinned: bool = False
    tags: list[str] = field(default_factory=list)

    @property
    def created_at(self) -> datetime:
        return self.posts[0].created_at

    @property
    def bumped_at(self) -> datetime:
        """As Discourse bumps: the newest post that is not a whisper or a small action."""
        bumping = [p.created_at for p in self.posts if p.post_type in (REGULAR, MODERATOR_ACTION)]
        return max(bumping, default=self.created_at)


@dataclass
class SampleForum:
    topics: list[SampleTopic]
    categories: list[SampleCategory] = field(
        default_factory=lambda: [SampleCategory(1, "uncategorized", "Uncategorized")]
    )
    page_size: int = 30  # topics per /latest.json page (Discourse's default)
    chunk_size: int = 20  # posts inlined in /t/{id}.json (Discourse's default)
    groups: dict[str, list[str]] = field(default_factory=dict)  # group name → usernames

    def topic(self, topic_id: int) -> SampleTopic:
        for topic in self.topics:
            if topic.id == topic_id:
                return topic
        raise KeyError(topic_id)
