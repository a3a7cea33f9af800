"""The digest as HTML (self-contained, no script, safe to mail) and as plain text, via Jinja2.

The HTML environment autoescapes everything, so a scraped title such as `<script>` arrives as
text; the plain-text one needs no escaping, since nothing there is markup.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from digests.build import SCORECARD_DAYS, Digest
from digests.chart import trend_svg
from forumwatch.model import Finding
from forumwatch.notify.messages import RULE_TITLES
from rules.clock import wait_text


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


def _helpers(digest: Digest) -> dict[str, Any]:
    def waited(finding: Finding) -> str:
        return wait_text(digest.end - finding.opened_at)

    return {
        "d": digest,
        "window": SCORECARD_DAYS,
        "rule_words": lambda f: RULE_TITLES.get(f.rule, f.rule),
        "waited": waited,
        "percent": lambda share: "–" if share is None else f"{share:.0%}",
        "hours": lambda h: "–" if h is None else f"{h:.1f} h",
        "when": lambda moment: f"{moment:%Y-%m-%d %H:%M} UTC",
        "change": lambda figure: _change(digest.change(figure)),
        "chart": Markup(trend_svg(digest.trend)),  # built from numbers and dates only
    }


def _change(value: float | None) -> str:
    """The figure against the average of the 7 days before ("+2 vs ..."); "" without history."""
    if value is None:
        return ""
    return f"{value:+.1f}".removesuffix(".0") + " vs the 7 days before"


def render_html(digest: Digest) -> str:
    return _HTML.get_template("digest.html").render(**_helpers(digest))


def render_text(digest: Digest) -> str:
    return _TEXT.get_template("digest.txt").render(**_helpers(digest))


def render_index(days: list[str]) -> str:
    """The archive page: one link per digest written so far, newest first."""
    template = _HTML.from_string(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>forumwatch digests</title></head><body><h1>forumwatch digests</h1><ul>"
        '{% for day in days %}<li><a href="{{ day }}.html">{{ day }}</a> '
        '(<a href="{{ day }}.txt">text</a>)</li>{% endfor %}</ul></body></html>\n'
    )
    return template.render(days=sorted(days, reverse=True))
