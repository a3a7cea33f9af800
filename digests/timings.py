"""How the topics started in a window were served (digests/figures.py times them): from the
facts the cycles stored where those are current, from the posts where not."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from digests.figures import TopicTiming, timing, timing_from_facts
from forumwatch.config.models import AppConfig, Config, ForumConfig
from forumwatch.cycle.current import judged_by
from forumwatch.cycle.incremental import BATCH_TOPICS
from forumwatch.model import Author, Topic, TopicState
from forumwatch.roles import GroupMembers, responders_for, responders_for_app
from forumwatch.store import Store
from forumwatch.store.db import chunks
from forumwatch.store.evaluation import LightTopic


class Timings:
    """How the topics started in a window were served: from each topic's stored facts (its
    first answers, as the last cycle judged them) where they are current, from its posts where
    not (a topic changed since, or a config the store was not judged by)."""

    def __init__(
        self, store: Store, forum: ForumConfig, config: Config, members: GroupMembers
    ) -> None:
        self.store, self.forum, self.members = store, forum, members
        self.clocks = config.policies_for(forum)
        self.facts_hold = judged_by(store, forum, config, members)
        self._read: tuple[datetime, datetime, list[LightTopic]] | None = None  # the last window
        apps: dict[str, AppConfig | None] = {app.id: app for app in forum.apps}
        apps[""] = None
        self._developers = {
            app_id: tuple(sorted(responders_for_app(forum, app, members).developers))
            for app_id, app in apps.items()
        }

    def between(
        self, start: datetime, end: datetime, at: Callable[[datetime], datetime]
    ) -> list[TopicTiming]:
        """Timings of the topics started in [start, end), each as of `at(its start)` (read
        once: a narrower window within the last one read is taken from it)."""
        result: list[TopicTiming] = []
        unjudged: list[str] = []
        rows = self._rows(start, end)
        seen = self.store.policy_sightings(self.forum.id, [r.key.topic_id for r in rows])
        for row in rows:
            if not (self.facts_hold and row.judged and row.app_id in self._developers):
                unjudged.append(row.key.topic_id)
                continue
            developers = self._developers[row.app_id]
            then = at(row.created_at)
            topic = row_topic(self.forum.id, row)
            applied = self.clocks.applied(topic, row.app_id, seen.get(row.key.topic_id), then)
            item = timing_from_facts(row, developers, applied.sla, then, applied.name)
            if item is not None:
                result.append(item)
        for part in chunks(unjudged, BATCH_TOPICS):
            for topic in self.store.topics_by_id(self.forum.id, part):
                responders = responders_for(self.forum, topic, self.members)
                then = at(topic.created_at)
                known = seen.get(topic.id)
                applied = self.clocks.applied(topic, responders.app_id, known, then)
                item = timing(topic, responders, applied.sla, then, applied.name)
                if item is not None:
                    result.append(item)
        return result

    def _rows(self, start: datetime, end: datetime) -> list[LightTopic]:
        """Rows of the open topics started in [start, end): only an open topic has a timing."""
        if self._read is None or not (self._read[0] <= start and end <= self._read[1]):
            rows = self.store.light_topics(
                self.forum.id,
                state=TopicState.OPEN,
                created_from=start,
                created_until=end,
            )
            self._read = (start, end, rows)
        return [row for row in self._read[2] if start <= row.created_at < end]


def row_topic(forum_id: str, row: LightTopic) -> Topic:
    """A topic without posts from its row: what SLA policies match on (tags, category)."""
    return Topic(
        forum_id,
        row.key.topic_id,
        row.url,
        row.title,
        Author(row.author),
        row.created_at,
        (),
        category=row.category,
        category_id=row.category_id,
        tags=row.tags,
    )
