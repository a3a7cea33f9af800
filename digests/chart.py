"""The digest's 14-day chart as inline SVG: no JavaScript, no external file, so it shows in mail
clients and archived pages alike. Two lines: open ignored topics (left scale) and the share
acknowledged within the SLA (right scale, 0-100 %)."""

from __future__ import annotations

from xml.sax.saxutils import escape

from digests.build import DayPoint

WIDTH, HEIGHT, PAD = 560, 160, 28


def trend_svg(points: list[DayPoint], label: str = "") -> str:
    """The chart; `label` (in the digest's language) is what a screen reader says of it."""
    if not points:
        return ""
    top = max(1, max(p.open_ignored or 0 for p in points))
    step = (WIDTH - 2 * PAD) / max(1, len(points) - 1)

    def x(index: int) -> float:
        return PAD + index * step

    def y(share: float) -> float:  # share of the plot's height, 0 at the bottom
        return HEIGHT - PAD - share * (HEIGHT - 2 * PAD)

    ignored = " ".join(  # a day before forumwatch read the forums has no count: no point
        f"{x(i):.1f},{y(p.open_ignored / top):.1f}"
        for i, p in enumerate(points)
        if p.open_ignored is not None
    )
    within = " ".join(
        f"{x(i):.1f},{y(p.sla_share):.1f}" for i, p in enumerate(points) if p.sla_share is not None
    )
    labels = "".join(
        f'<text x="{x(i):.1f}" y="{HEIGHT - 8}" font-size="9" text-anchor="middle">'
        f"{escape(p.day.strftime('%d.%m'))}</text>"
        for i, p in enumerate(points)
        if (len(points) - 1 - i) % 2 == 0  # every other day, ending with the digest's
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label, {chr(34): "&quot;"})}">'
        f'<line x1="{PAD}" y1="{y(0)}" x2="{WIDTH - PAD}" y2="{y(0)}" stroke="#d0d7de"/>'
        f'<text x="4" y="{y(1) + 4:.1f}" font-size="9" fill="#cf222e">{top}</text>'
        f'<text x="{WIDTH - PAD + 4}" y="{y(1) + 4:.1f}" font-size="9" fill="#1a7f37">100%</text>'
        f'<polyline fill="none" stroke="#cf222e" stroke-width="2" points="{ignored}"/>'
        + (
            f'<polyline fill="none" stroke="#1a7f37" stroke-width="2" '
            f'stroke-dasharray="4 3" points="{within}"/>'
            if within
            else ""
        )
        + "".join(  # a dot per counted day: a single day (the install day's) shows too
            f'<circle cx="{x(i):.1f}" cy="{y(p.open_ignored / top):.1f}" r="2.5" fill="#cf222e"/>'
            for i, p in enumerate(points)
            if p.open_ignored is not None
        )
        + labels
        + "</svg>"
    )
