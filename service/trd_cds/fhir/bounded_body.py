"""Reading an HTTP response body under a bound on its decoded size.

httpx decodes a compressed body a whole network chunk at a time, so a small gzip answer (a
"decompression bomb") is inflated to hundreds of megabytes before any size check sees it,
and stacked encodings (`gzip, gzip`) multiply that. Here the raw bytes are read and inflated
with zlib's output limit, so no more than the bound (plus one byte) is ever decoded: the bound
applies to the decoded bytes, and to the bytes on the wire too. One encoding at most (gzip or
deflate); anything else is refused before a byte is decoded.
"""

from __future__ import annotations

import zlib

import httpx

# What we ask servers for; httpx's default would add br or zstd when their packages are there.
ACCEPT_ENCODING = "gzip, deflate"
_GZIP = 16 + zlib.MAX_WBITS
_ZLIB = zlib.MAX_WBITS
_RAW_DEFLATE = -zlib.MAX_WBITS


class BodyTooLarge(Exception):
    """The body, decoded, is larger than the bound."""


class UnsupportedEncoding(Exception):
    """Stacked or unknown content codings."""


class BadEncoding(Exception):
    """The body is not valid data of its content coding."""


def _wbits(response: httpx.Response) -> int | None:
    """zlib's window bits for the body's content coding; None for none (identity)."""
    codings = [
        c.strip().lower()
        for c in response.headers.get("content-encoding", "").split(",")
        if c.strip() and c.strip().lower() != "identity"
    ]
    if not codings:
        return None
    if len(codings) > 1:
        raise UnsupportedEncoding("stacked content codings")
    if codings[0] in ("gzip", "x-gzip"):
        return _GZIP
    if codings[0] == "deflate":
        return _ZLIB
    raise UnsupportedEncoding("unknown content coding")


class _Inflater:
    def __init__(self, wbits: int, max_bytes: int) -> None:
        self._wbits = wbits
        self._max = max_bytes
        self._inflater = zlib.decompressobj(wbits)
        self._started = False
        self.size = 0
        self.chunks: list[bytes] = []

    def feed(self, data: bytes) -> None:
        try:
            self._inflate(data)
        except zlib.error:
            if self._wbits != _ZLIB or self._started:
                raise BadEncoding("corrupt compressed body") from None
            # "deflate" sent as a raw deflate stream, without the zlib wrapper (as httpx does).
            self._wbits = _RAW_DEFLATE
            self._inflater = zlib.decompressobj(_RAW_DEFLATE)
            try:
                self._inflate(data)
            except zlib.error:
                raise BadEncoding("corrupt compressed body") from None

    def _inflate(self, data: bytes) -> None:
        while data and not self._inflater.eof:
            # At most one byte past the bound is ever produced: enough to know it is past.
            out = self._inflater.decompress(data, self._max - self.size + 1)
            self._started = self._started or bool(out)
            self._take(out)
            data = self._inflater.unconsumed_tail

    def finish(self) -> None:
        try:
            self._take(self._inflater.flush())
        except zlib.error:
            raise BadEncoding("corrupt compressed body") from None
        if not self._inflater.eof:
            raise BadEncoding("truncated compressed body")

    def _take(self, out: bytes) -> None:
        self.size += len(out)
        if self.size > self._max:
            raise BodyTooLarge
        if out:
            self.chunks.append(out)


async def read_bounded(response: httpx.Response, max_bytes: int) -> bytes:
    """The decoded body of a streamed `response`, refusing one that is (or would inflate
    to) more than `max_bytes`."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge
    wbits = _wbits(response)
    inflater = _Inflater(wbits, max_bytes) if wbits is not None else None
    raw: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge
        if inflater is None:
            raw.append(chunk)
        else:
            inflater.feed(chunk)
    if inflater is None:
        return b"".join(raw)
    inflater.finish()
    return b"".join(inflater.chunks)
