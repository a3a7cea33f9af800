"""Who must answer a topic: the forum's and the topic's app's developers, and the staff."""

from __future__ import annotations

from collections.abc import Mapping

from forumwatch.config.models import AppConfig, ForumConfig
from forumwatch.model import Responders, Topic, TopicKey


def app_of(forum: ForumConfig, topic: Topic) -> AppConfig | None:
    """The app whose categories (slug or id) or tags hold the topic; the first match wins."""
    category_refs = {topic.category.casefold(), topic.category_id.casefold()} - {""}
    topic_tags = {t.casefold() for t in topic.tags}
    for app in forum.apps:
        if category_refs & {c.casefold() for c in app.categories}:
            return app
        if topic_tags & {t.casefold() for t in app.tags}:
            return app
    return None


# the forums' own automation, ignored without configuration: Discourse's "system" user and its
# discobot; HTML posts without an author (moderator actions) are read as "system" too
ALWAYS_IGNORED = frozenset({"system", "discobot"})

GroupMembers = Mapping[str, frozenset[str]]  # forum group name → member usernames


def responders_for(
    forum: ForumConfig, topic: Topic, members: GroupMembers | None = None
) -> Responders:
    """Forum-wide developers and staff, plus the developers of the topic's app.

    A group counts both through the posts' group badges and, where `members` knows the group,
    through its member list (Discourse shows only a user's primary group on posts).
    """
    return responders_for_app(forum, app_of(forum, topic), members)


def responders_for_app(
    forum: ForumConfig, app: AppConfig | None, members: GroupMembers | None = None
) -> Responders:
    """Who answers the topics of `app` (None: the forum's topics outside every app)."""
    members = members or {}
    developers = set(forum.developers)
    developer_groups = set(forum.developer_groups)
    if app is not None:
        developers |= set(app.developers)
        developer_groups |= set(app.developer_groups)
    staff = set(forum.staff)
    for group in developer_groups:
        developers |= members.get(group, frozenset())
    for group in forum.staff_groups:
        staff |= members.get(group, frozenset())
    return Responders(
        developers=frozenset(developers),
        developer_groups=frozenset(developer_groups),
        staff=frozenset(staff),
        staff_groups=frozenset(forum.staff_groups),
        app_id=app.id if app else "",
        ignored=frozenset(forum.ignore_users) | ALWAYS_IGNORED,
        closing=forum.closing_words.to_model(),
    )


class ResponderLookup:
    """`responders_for` of each topic, looked up once per topic key: rules, re-posts, bursts
    and facts all ask about the same topics (a request's merged topic keeps its latest topic's
    key, category and author, so its answer is the same)."""

    def __init__(self, forum: ForumConfig, members: GroupMembers | None = None) -> None:
        self.forum, self.members = forum, members
        self._known: dict[TopicKey, Responders] = {}

    def __call__(self, topic: Topic) -> Responders:
        if topic.key not in self._known:
            self._known[topic.key] = responders_for(self.forum, topic, self.members)
        return self._known[topic.key]
