"""A response body read within a byte cap, whatever its Content-Encoding, in bounded memory.

httpx decodes each network chunk through every layer in one go: a 64 KiB chunk of a `gzip, gzip` body can
inflate to hundreds of MiB before any cap sees it. Here the raw bytes go through the layers a slice at a time:
no layer makes more than `_SLICE` bytes per step, none makes more than the cap in all, and reading stops as
soon as the body is full. So a fetch holds the body (at most the cap) plus a few slices, however the bytes
were packed.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import httpx

MAX_ENCODINGS = 2  # content codings stacked on one body (identity not counted); more is refused
_SLICE = 64 * 1024  # the most one layer produces per step
_INFLATE = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}
# What requests say they take: exactly what is decoded here (httpx would add br or zstd once their packages are
# installed, and this reader would then get bodies it keeps as they came).
ACCEPT_ENCODING = "gzip, deflate"


class TooManyEncodingsError(Exception):
    """More content codings than MAX_ENCODINGS: a bomb's shape, not a body worth decoding."""


class _Inflate:
    """One gzip or deflate layer, decoded a bounded slice at a time."""

    def __init__(self, coding: str) -> None:
        self._wbits = _INFLATE[coding]
        self._inflater = zlib.decompressobj(self._wbits)
        self._started = False
        self.produced = 0

    def feed(self, data: bytes, limit: int) -> Iterator[bytes]:
        """What `data` decodes to, in slices, until the layer has produced `limit` bytes in all."""
        while data and not self._inflater.eof and self.produced < limit:
            piece = self._decompress(data, min(_SLICE, limit - self.produced))
            data = self._inflater.unconsumed_tail
            self.produced += len(piece)
            if piece:
                yield piece
        # Past the end of the stream (a second gzip member, trailing bytes) nothing is decoded, as in httpx.

    def _decompress(self, data: bytes, most: int) -> bytes:
        first, self._started = not self._started, True
        try:
            return self._inflater.decompress(data, most)
        except zlib.error as exc:
            if first and self._wbits == zlib.MAX_WBITS:  # "deflate" sent raw, without its zlib wrapper
                self._wbits = -zlib.MAX_WBITS
                self._inflater = zlib.decompressobj(self._wbits)
                return self._decompress(data, most)
            raise httpx.DecodingError(f"the body does not decode as its Content-Encoding says: {exc}") from None

    @property
    def done(self) -> bool:
        return self._inflater.eof


def _layers(headers: httpx.Headers) -> list[_Inflate]:
    """Decoders for the body's codings, the last applied first. A coding we cannot decode leaves the body
    as it came (an undecodable layer makes the ones under it unreadable too)."""
    codings = [c.strip().lower() for c in headers.get_list("content-encoding", split_commas=True)]
    codings = [coding for coding in codings if coding and coding != "identity"]
    if len(codings) > MAX_ENCODINGS:
        raise TooManyEncodingsError(
            f"the body is encoded {len(codings)} times over ({', '.join(codings)}); at most {MAX_ENCODINGS} are read"
        )
    if not all(coding in _INFLATE for coding in codings):
        return []
    return [_Inflate(coding) for coding in reversed(codings)]


class _Body:
    def __init__(self, layers: list[_Inflate], limit: int) -> None:
        self._layers = layers
        self._limit = limit
        self._wire = 0
        self._pieces: list[bytes] = []  # joined once at the end: a growing buffer would peak at old + new size
        self._size = 0
        self.truncated = False

    @property
    def full(self) -> bool:
        # A layer at its end decodes nothing more: neither it nor the layers after it have more to give.
        return self.truncated or any(layer.done for layer in self._layers)

    def joined(self) -> bytes:
        return b"".join(self._pieces)

    def add(self, raw: bytes) -> None:
        """Take the next raw chunk. No layer, the bytes on the wire included, goes past the cap."""
        room = self._limit - self._wire
        self._wire += len(raw)
        if len(raw) > room:
            raw, self.truncated = raw[:room], True
        self._into(0, raw)

    def _into(self, index: int, data: bytes) -> None:
        if index == len(self._layers):
            room = self._limit - self._size
            if len(data) > room:
                data, self.truncated = data[:room], True
            self._pieces.append(data)
            self._size += len(data)
            return
        layer = self._layers[index]
        for piece in layer.feed(data, self._limit):
            self._into(index + 1, piece)
            if self.truncated:
                return
        if layer.produced >= self._limit and not layer.done:
            self.truncated = True


async def read_body(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    """At most `limit` bytes of the decoded body of a streamed response, and whether any was left unread.
    Raises TooManyEncodingsError, or httpx.DecodingError for bytes that do not decode."""
    body = _Body(_layers(response.headers), limit)
    async for chunk in response.aiter_raw():
        body.add(chunk)
        if body.full:
            break
    return body.joined(), body.truncated
