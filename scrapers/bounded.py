"""Read an HTTP body without trusting its size: decompress it ourselves, stop at a cap.

httpx would inflate a gzip body chunk by chunk with no bound on what one chunk inflates to, so a
1 MB "gzip bomb" could still cost a gigabyte. Here every chunk is inflated with `max_length`, and
reading stops as soon as the decoded body passes the cap, whatever the server claimed.
"""

from __future__ import annotations

import zlib

import httpx

# What we ask for and can inflate with a bound; anything else is refused, never guessed at.
ACCEPT_ENCODING = "gzip, deflate"
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_ZLIB_WBITS = zlib.MAX_WBITS
_RAW_DEFLATE_WBITS = -zlib.MAX_WBITS


class BodyTooLarge(Exception):
    """The decoded body passed the cap; nothing more was read."""


class UnsupportedEncoding(Exception):
    """The server sent a Content-Encoding we did not ask for."""


class _Inflater:
    """Incremental, bounded decoding of one Content-Encoding (identity, gzip or deflate)."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._inflate: zlib._Decompress | None = None
        if encoding in ("gzip", "x-gzip"):
            self._inflate = zlib.decompressobj(_GZIP_WBITS)
        elif encoding == "deflate":
            self._inflate = zlib.decompressobj(_ZLIB_WBITS)
            self._sniffed = False
        elif encoding not in ("", "identity"):
            raise UnsupportedEncoding(encoding)

    def feed(self, data: bytes, room: int) -> bytes:
        """Decoded bytes of `data`; more than `room` of them means the cap was passed."""
        if self._inflate is None:
            return data
        if self.encoding == "deflate" and not self._sniffed:
            self._sniffed = True
            if data and (data[0] & 0x0F) != 8:  # no zlib header: servers often send raw deflate
                self._inflate = zlib.decompressobj(_RAW_DEFLATE_WBITS)
        # max_length room + 1: either all input is consumed, or the output proves the cap passed
        return self._inflate.decompress(data, room + 1)


async def read_capped(response: httpx.Response, limit: int) -> bytes:
    """The whole decoded body of a streamed response, at most `limit` bytes.

    Raises BodyTooLarge as soon as more would be needed (before reading on when Content-Length
    already says so), UnsupportedEncoding for an encoding we cannot bound, zlib.error when the
    compressed stream is corrupt.
    """
    encodings = [e.strip().lower() for e in response.headers.get("content-encoding", "").split(",")]
    encodings = [e for e in encodings if e not in ("", "identity")]
    if len(encodings) > 1:
        raise UnsupportedEncoding(", ".join(encodings))
    inflater = _Inflater(encodings[0] if encodings else "")
    if not encodings and _declared_length(response) > limit:
        raise BodyTooLarge
    body = bytearray()
    async for raw in response.aiter_raw():
        body += inflater.feed(raw, limit - len(body))
        if len(body) > limit:
            raise BodyTooLarge
    return bytes(body)


def _declared_length(response: httpx.Response) -> int:
    value = response.headers.get("content-length", "")
    return int(value) if value.isdigit() else 0


def size_text(size: int) -> str:
    """8388608 → "8 MB", 65536 → "64 KB": how people write a response cap."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):g} MB"
    return f"{size / 1024:g} KB"
