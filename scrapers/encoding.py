"""Bytes of an HTML page to text: the charset the HTTP header names, else the one a `<meta>` tag
names, else a byte-order mark, else detection (legacy forums still serve windows-1251 or koi8-r
with no word about it)."""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE
)  # both <meta charset=..> and <meta http-equiv content="text/html; charset=..">
META_SCAN_BYTES = 4096  # HTML requires the <meta charset> within the first 1024 bytes
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# what detection may choose between: the encodings Ukrainian and Russian forums really use
_CANDIDATES = (
    "utf_8",
    "cp1251",
    "koi8_r",
    "koi8_u",
    "cp866",
    "iso8859_5",
    "mac_cyrillic",
    "cp1252",
)


def decode_page(body: bytes, content_type: str | None = None, forced: str | None = None) -> str:
    """The page as text. `forced` (the forum's `encoding:`) beats everything the page claims."""
    encoding = forced or declared_encoding(body, content_type) or detect_encoding(body)
    return body.decode(encoding, errors="replace")


def declared_encoding(body: bytes, content_type: str | None) -> str | None:
    """The encoding the server or the page itself declares, if Python knows it."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name + ("-sig" if name == "utf-8" else "")
    header = _HEADER_CHARSET.search(content_type or "")
    if header and (label := _known(header.group(1))):
        return label
    meta = _META_CHARSET.search(body[:META_SCAN_BYTES])
    if meta and (label := _known(meta.group(1).decode("ascii", "replace"))):
        return label
    return None


def detect_encoding(body: bytes) -> str:
    """A best guess for pages that declare nothing: valid UTF-8 stays UTF-8; otherwise the
    Cyrillic (or Latin) single-byte encoding that reads most like text."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    best = from_bytes(body, cp_isolation=list(_CANDIDATES)).best()
    return best.encoding if best is not None else "cp1251"


def _known(label: str) -> str | None:
    """Python's name for an encoding label; browsers read latin-1 labels as windows-1252."""
    label = label.strip().lower()
    if label in {"iso-8859-1", "latin1", "latin-1", "us-ascii", "ascii"}:
        label = "cp1252"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None
