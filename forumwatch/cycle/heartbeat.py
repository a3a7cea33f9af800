"""The heartbeat: after each run that read every forum, one GET of the configured
`heartbeat_url` (a healthchecks.io check, an Uptime Kuma push monitor...), so a monitor outside
notices when runs stop altogether or keep failing: it hears nothing, and alerts."""

from __future__ import annotations

from forumwatch.config.models import Config
from forumwatch.cycle.results import CycleReport

TIMEOUT_SECONDS = 10.0


def due(config: Config, report: CycleReport) -> bool:
    """A beat is sent for a stored run in which no forum failed or was skipped."""
    return (
        config.heartbeat_url is not None
        and not report.dry_run
        and bool(report.forums)
        and not any(f.error for f in report.forums)
    )


def beat(url: str) -> str | None:
    """Request `url` once; None when the monitor took it, else what went wrong (one line)."""
    import httpx

    from scrapers.http import user_agent

    try:
        response = httpx.get(
            url,
            timeout=TIMEOUT_SECONDS,
            follow_redirects=True,
            headers={"User-Agent": user_agent()},
        )
    except httpx.HTTPError as err:
        return f"heartbeat {url} not sent ({type(err).__name__}: {err}); check heartbeat_url"
    if response.status_code >= 400:
        return f"heartbeat {url} refused: HTTP {response.status_code}; check heartbeat_url"
    return None
