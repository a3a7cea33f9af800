"""How findings and cycles look on a terminal and in JSON."""

from __future__ import annotations

import csv
import heapq
import io
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import datetime
from operator import itemgetter
from typing import Any

import orjson
from rich.markup import escape
from rich.table import Table

from forumwatch.config.values import local_time
from forumwatch.cycle.current import Current, Listed, Titled, order, row_order
from forumwatch.model import Credit, Finding, PostKind, Stage, TopicKey, waiting_hours
from forumwatch.notify.messages import RULE_TITLES
from forumwatch.store import iso
from forumwatch.store.rows import evidence_json
from forumwatch.views.topic_history import history_command
from rules.clock import wait_text
from rules.silence import reworded

# The fields of `findings --format json` and `--format tsv`, in order, under the same names
# (README, "Commands"): tsv carries every one but `evidence` (a list of posts), `silent` as
# comma-separated usernames; `topic_id` is the forum's own id as text in both (an HTML forum's
# may be any text, so it is never a number in one and text in another).
FIELDS = (
    "forum",
    "app",
    "topic_id",
    "topic_url",
    "title",
    "author",
    "rule",
    "stage",
    "policy",
    "opened_at",
    "due_at",
    "escalate_at",
    "waiting_hours",
    "silent",
    "summary",
    "evidence",
    "history",
)
TSV_FIELDS = tuple(field for field in FIELDS if field != "evidence")


def hours(waited: float) -> float:
    """`waiting_hours` as both formats print it: hours, rounded to 2 decimals."""
    return round(waited, 2)


def finding_json(finding: Finding, topic: Titled, now: datetime) -> dict[str, Any]:
    """One finding as `findings --format json` prints it (docs/design.md, CLI contract)."""
    return _item(
        finding.key.forum_id,
        finding.key.topic_id,
        (topic.title, topic.url, topic.app_id, topic.author),
        finding.rule,
        (finding.stage.value, finding.policy),
        (iso(finding.opened_at), iso(finding.due_at), iso(finding.escalate_at)),
        finding.waiting_hours(now),
        list(finding.silent),
        finding.summary,
        [evidence_json(e) for e in finding.evidence],  # as the store writes it
    )


def stored_finding_json(row: sqlite3.Row, opened_at: datetime, now: datetime) -> dict[str, Any]:
    """`finding_json` of a stored finding's row (with its topic's `app_id` and `author`): its
    times, silent list and evidence are written as stored (the store wrote them as
    `finding_json` would), never parsed."""
    return _item(
        row["forum_id"],
        row["topic_id"],
        (row["title"] or "", row["url"] or "", row["app_id"] or "", row["author"] or ""),
        row["rule"],
        (row["stage"], row["policy"] or ""),
        (row["opened_at"], row["due_at"], row["escalate_at"]),
        waiting_hours(opened_at, now),
        orjson.Fragment(row["silent"] or "[]"),
        reworded(row["summary"] or "", opened_at, now),
        orjson.Fragment(row["evidence"] or "[]"),
    )


def _item(
    forum_id: str,
    topic_id: str,
    topic: tuple[str, str, str, str],  # title, url, app, author
    rule: str,
    stage: tuple[str, str],  # stage, policy ("" = the default SLA)
    times: tuple[str | None, str | None, str | None],  # opened, due, escalate
    waited: float,
    silent: object,
    summary: str,
    evidence: object,
) -> dict[str, Any]:
    """The fields in FIELDS' order."""
    return {
        "forum": forum_id,
        "app": topic[2],
        "topic_id": topic_id,
        "topic_url": topic[1],
        "title": topic[0],
        "author": topic[3],
        "rule": rule,
        "stage": stage[0],
        "policy": stage[1],
        "opened_at": times[0],
        "due_at": times[1],
        "escalate_at": times[2],
        "waiting_hours": hours(waited),
        "silent": silent,
        "summary": summary,
        "evidence": evidence,
        "history": history_command(TopicKey(forum_id, topic_id)),
    }


JSON_COLUMNS = (
    "forum_id",
    "topic_id",
    "rule",
    "stage",
    "policy",
    "opened_at",
    "due_at",
    "escalate_at",
    "silent",
    "summary",
    "evidence",
    "title",
    "url",
)


def findings_json(current: Current, now: datetime) -> Iterator[bytes]:
    """The JSON array (UTF-8), a finding per line as it comes, oldest wait first (then topic and
    rule): a forum may have tens of thousands, and nothing is held. Findings judged now are
    written from the model; the stored ones that stand, straight from their rows."""

    def judged() -> Iterator[tuple[tuple[datetime, str, str, str], dict[str, Any]]]:
        for listed in current.fresh:
            yield order(listed), finding_json(*listed, now)

    def standing() -> Iterator[tuple[tuple[datetime, str, str, str], dict[str, Any]]]:
        for row in current.standing_rows(JSON_COLUMNS):
            place = row_order(row)
            yield place, stored_finding_json(row, place[0], now)

    merged = heapq.merge(judged(), standing(), key=itemgetter(0)) if current.fresh else standing()
    opened = False
    for _, item in merged:
        yield (b",\n" if opened else b"[\n") + orjson.dumps(item)
        opened = True
    yield b"\n]\n" if opened else b"[]\n"


_STAGE_STYLE = {Stage.DUE: "yellow", Stage.ESCALATED: "bold red", Stage.RESOLVED: "green"}


COMPACT_BELOW = 120  # terminal columns: narrower terminals get the compact table


def findings_tsv(found: Iterable[Listed], now: datetime) -> Iterator[str]:
    """One line per finding, tab-separated, after a header: for pipes, awk and spreadsheets.
    The fields and values of the JSON (FIELDS), but `evidence`; `silent` comma-separated, and
    runs of whitespace (a tab or newline in a title) one space."""
    yield "\t".join(TSV_FIELDS)
    for finding, topic in found:
        key = finding.key
        cells = (  # TSV_FIELDS' order: the values finding_json gives them
            key.forum_id,
            topic.app_id,
            key.topic_id,
            topic.url,
            topic.title,
            topic.author,
            finding.rule,
            finding.stage.value,
            finding.policy,
            iso(finding.opened_at) or "",
            iso(finding.due_at) or "",
            iso(finding.escalate_at) or "",
            repr(hours(finding.waiting_hours(now))),  # as JSON writes the float
            ",".join(finding.silent),
            finding.summary,
            history_command(key),
        )
        yield "\t".join(" ".join(cell.split()) for cell in cells)


def findings_table(
    found: list[Listed],
    now: datetime,
    width: int = 200,
    total: int | None = None,
    zone: str = "UTC",
) -> Table:
    """A table a person reads: topic and link, rule, stage, who is silent and for how long.

    Below COMPACT_BELOW columns it keeps what fits without cutting words: the topic (its title
    a link where the terminal supports it), rule, stage and wait; `forumwatch topic` has the rest.
    `total`: how many there are when `found` shows only the first of them; `zone`: where the
    title's moment is told.
    """
    if width < COMPACT_BELOW:
        return _compact_table(found, now, total, zone)
    table = Table(
        title=_table_title(found, now, total, zone),
        caption="One topic's whole history: forumwatch topic FORUM:ID" if found else None,
        show_lines=True,
        expand=False,
    )
    for column in ("Forum:ID", "Topic", "Rule", "Stage", "Waiting", "Silent", "Evidence"):
        table.add_column(column, overflow="fold")
    for finding, topic in found:
        evidence = "\n".join(
            f"#{e.post_number} {escape(e.username)} ({e.role.value}"
            + (f", {e.kind.value})" if e.kind is not PostKind.REPLY else ")")
            for e in finding.evidence
        )
        table.add_row(
            f"{finding.key.forum_id}:{finding.key.topic_id}",
            f"{escape(topic.title)}\n[link={topic.url}]{escape(topic.url)}[/link]",
            f"{finding.rule}\n[dim]{RULE_TITLES.get(finding.rule, '')}[/]",
            f"[{_STAGE_STYLE[finding.stage]}]{finding.stage.value}[/]"
            + (f"\npolicy {escape(finding.policy)}" if finding.policy else ""),
            wait_text(now - finding.opened_at),
            escape(", ".join(finding.silent)),
            evidence or "-",
        )
    return table


def _table_title(found: list[Listed], now: datetime, total: int | None, zone: str) -> str:
    if total is None or total <= len(found):
        return f"{len(found)} finding(s) at {local_time(now, zone)}"
    return (
        f"{total} finding(s) at {local_time(now, zone)}; the {len(found)} longest waiting "
        "shown (--limit 0 shows all; --format tsv or json for scripts)"
    )


def _compact_table(
    found: list[Listed], now: datetime, total: int | None = None, zone: str = "UTC"
) -> Table:
    table = Table(
        title=_table_title(found, now, total, zone),
        caption="Details: forumwatch topic FORUM:ID" if found else None,
        expand=False,
    )
    table.add_column("Forum:ID", no_wrap=True)
    table.add_column("Topic", ratio=1)
    table.add_column("Rule", no_wrap=True)
    table.add_column("Stage", no_wrap=True)
    table.add_column("Wait", no_wrap=True, justify="right")
    for finding, topic in found:
        table.add_row(
            f"{finding.key.forum_id}:{finding.key.topic_id}",
            f"[link={topic.url}]{escape(topic.title)}[/link]",
            finding.rule,
            f"[{_STAGE_STYLE[finding.stage]}]{finding.stage.value}[/]"
            + (f" · {escape(finding.policy)}" if finding.policy else ""),
            wait_text(now - finding.opened_at),
        )
    return table


CREDIT_COLUMNS = (
    "booked_at",
    "forum",
    "topic_id",
    "title",
    "customer",
    "app",
    "developers",
    "stage",
    "amount",
    "unit",
    "url",
)


def _credit_row(c: Credit) -> list[str]:
    return [
        iso(c.booked_at) or "",
        c.key.forum_id,
        c.key.topic_id,
        c.title,
        c.customer,
        c.app_id,
        ", ".join(c.developers),
        c.stage,
        f"{c.amount:g}",
        c.unit,
        c.url,
    ]


def credits_csv(ledger: list[Credit]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CREDIT_COLUMNS)
    writer.writerows(_credit_row(c) for c in ledger)
    return buffer.getvalue()


def credits_table(ledger: list[Credit]) -> Table:
    table = Table(title=f"Credits owed ({len(ledger)} breached stage(s))", show_lines=False)
    for column in ("booked", "topic", "customer", "app · developers", "stage", "owed"):
        table.add_column(column)
    for c in ledger:
        table.add_row(
            f"{c.booked_at:%Y-%m-%d %H:%M}",
            escape(f"{c.key.forum_id} #{c.key.topic_id} {c.title}"),
            escape(c.customer),
            escape(" · ".join(x for x in (c.app_id, ", ".join(c.developers)) if x)),
            c.stage,
            f"{c.amount:g} {escape(c.unit)}",
        )
    return table


def credits_totals(ledger: list[Credit]) -> list[str]:
    """Sums per developer (who owes) and per customer (who is owed), largest first."""
    lines = []
    for label, key in (("developer", _owing), ("customer", lambda c: c.customer)):
        sums: dict[tuple[str, str], float] = {}
        for c in ledger:
            sums[key(c), c.unit] = sums.get((key(c), c.unit), 0.0) + c.amount
        for (who, unit), amount in sorted(sums.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"per {label}: {who}: {amount:g} {unit}")
    return lines


def _owing(c: Credit) -> str:
    return f"{c.app_id} ({', '.join(c.developers)})" if c.app_id else ", ".join(c.developers) or "-"
