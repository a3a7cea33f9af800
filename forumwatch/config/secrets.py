"""Keep secrets out of everything a person or a file sees: errors, logs, the database.

A secret is the value of any config key whose name says it is one (api_key, token, password,
secret). Values are stripped of surrounding white space when the config is loaded; `Redactor`
replaces every spelling of them (as is, repr-escaped, URL-quoted) with `***` before a message
is printed or stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

# a heartbeat URL is a capability: whoever has it can tell the monitor all is well
SECRET_KEY = re.compile(r"(api[_-]?key|token|password|passwd|secret|heartbeat)", re.IGNORECASE)
MASK = "***"
MIN_LENGTH = 4  # shorter values would blank out ordinary words; such a "secret" protects nothing


def is_secret_key(name: str) -> bool:
    """True for config keys and HTTP header names that hold credentials."""
    return bool(SECRET_KEY.search(name))


def secret_values(data: object) -> set[str]:
    """Every string value under a secret-named key, anywhere in a parsed config mapping."""
    found: set[str] = set()
    pending: list[tuple[str, object]] = [("", data)]
    while pending:
        key, value = pending.pop()
        if isinstance(value, dict):
            pending.extend((str(k), v) for k, v in value.items())
        elif isinstance(value, list):
            pending.extend((key, v) for v in value)
        elif isinstance(value, str) and is_secret_key(key):
            found.add(value)
    return found


class Redactor:
    """Replaces known secrets in text; calling it with no secrets known returns text as is."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        spellings: set[str] = set()
        for secret in secrets:
            for value in {secret, secret.strip()}:
                if len(value.strip()) >= MIN_LENGTH:
                    spellings |= {
                        value,
                        repr(value)[1:-1],
                        quote(value),
                        quote(value, safe=""),
                        quote_plus(value),
                    }
        # longest first, so a secret's longer spelling is masked before its shorter part
        self._spellings = sorted(spellings, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for spelling in self._spellings:
            text = text.replace(spelling, MASK)
        return text
