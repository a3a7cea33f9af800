"""The digest as HTML (self-contained, no script, safe to mail) and as plain text, via Jinja2,
in the config's `language` (digests/phrases.py) and its `timezone`.

The HTML environment autoescapes everything, so a scraped title such as `<script>` arrives as
text; the plain-text one needs no escaping, since nothing there is markup.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from digests.build import SCORECARD_DAYS, TREND_DAYS, Digest, Ignored
from digests.chart import trend_svg
from digests.phrases import DEFAULT_LANGUAGE
from digests.words import Phrases
from forumwatch.model import Finding


def _environment(autoescape: bool) -> Environment:
    env = Environment(
        loader=PackageLoader("digests", "templates"),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env


_HTML = _environment(autoescape=True)
_TEXT = _environment(autoescape=False)


def title(digest: Digest) -> str:
    """'Дайджест forumwatch за 4 березня 2026': the page's title and the mail's subject."""
    words = Phrases(digest.language)
    return words.t("title", date=words.date(digest.day, weekday=False))


def local(moment: datetime, zone: str) -> datetime:
    return moment.astimezone(ZoneInfo(zone))


def zone_label(moment: datetime, zone: str) -> str:
    """'Europe/Kyiv, UTC+02:00' (the offset that applies at `moment`), or 'UTC'."""
    if zone == "UTC":
        return "UTC"
    offset = local(moment, zone).strftime("%z")
    return f"{zone}, UTC{offset[:3]}:{offset[3:]}"


def deadline_words(words: Phrases, deadline: timedelta | None) -> str:
    """'2 h' for a deadline every forum shares, 'the SLA' otherwise."""
    return words.wait(deadline) if deadline is not None else words.t("sla")


def _helpers(digest: Digest) -> dict[str, Any]:
    words = Phrases(digest.language)
    zone = digest.timezone

    def waited(finding: Finding) -> str:
        return words.wait(digest.end - finding.opened_at)

    def change(figure: str) -> str:
        """The figure against the average of the 7 days before; "" without history."""
        value = digest.change(figure)
        if value is None:
            return ""
        return words.t("change", value=words.number(value, sign=True))

    def chase(item: Ignored) -> str:
        """Whom to chase: the silent developers; staff only where no developer is configured
        to answer (then said so)."""
        if item.developers:
            return ", ".join(item.developers)
        if not item.customer:  # the topic is not stored: the finding's own list
            return ", ".join(item.finding.silent)
        said = [words.t("no_developer")]
        if item.staff:
            said.append(words.t("staff_owe", names=", ".join(item.staff)))
        return "; ".join(said)

    ack = deadline_words(words, digest.acknowledge)
    share = words.t("chart_share", deadline=ack, days=TREND_DAYS)
    chart_label = f"{words.t('chart_ignored')} · {share}"
    return {
        "d": digest,
        "w": words,
        "t": words.t,
        "count": words.count,
        "word": words.word,
        "title": title(digest),
        "window": SCORECARD_DAYS,
        "trend_days": TREND_DAYS,
        "ack_deadline": ack,
        "dev_deadline": deadline_words(words, digest.diagnose),
        "rule_words": lambda f: words.rule(f.rule),
        "stage_words": lambda f: words.stage(f.stage.value),
        "resolution": words.resolution,
        "waited": waited,
        "chase": chase,
        "app_words": lambda item: item.app_id or words.t("no_app"),
        "percent": words.percent,
        "hours": words.hours,
        "number": words.number,
        "clock": lambda moment: f"{local(moment, zone):%H:%M}",
        "zone_at": lambda moment: zone_label(moment, zone),
        "change": change,
        "chart": Markup(trend_svg(digest.trend, chart_label)),  # numbers, dates, our words
    }


def render_html(digest: Digest) -> str:
    return _HTML.get_template("digest.html").render(**_helpers(digest))


def render_text(digest: Digest) -> str:
    return _TEXT.get_template("digest.txt").render(**_helpers(digest))


def render_index(days: list[str], language: str = DEFAULT_LANGUAGE) -> str:
    """The archive page: one link per digest written so far, newest first."""
    words = Phrases(language)
    template = _HTML.from_string(
        '<!DOCTYPE html><html lang="{{ lang }}"><head><meta charset="utf-8">'
        "<title>{{ heading }}</title></head><body><h1>{{ heading }}</h1><ul>"
        '{% for day in days %}<li><a href="{{ day }}.html">{{ day }}</a> '
        '(<a href="{{ day }}.txt">{{ text }}</a>)</li>{% endfor %}</ul></body></html>\n'
    )
    return template.render(
        days=sorted(days, reverse=True),
        lang=words.language,
        heading=words.t("archive"),
        text=words.t("text_version"),
    )
