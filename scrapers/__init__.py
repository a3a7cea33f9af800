"""Scrapers: read forums (Discourse's JSON API, Misago's, HTML through selector profiles) into
the model, politely and incrementally. They know nothing of the store or the cycle."""

import sys

# httpx's package imports its own command line (httpx._main, with click, rich and pygments)
# whenever those are installed, as they are here: 70 ms of every run for a tool forumwatch never
# calls. A None in sys.modules makes that one import fail, and httpx then defines its stub
# `main` (its own ImportError fallback). Nothing else of httpx changes.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
