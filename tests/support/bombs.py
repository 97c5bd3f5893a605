"""Hostile data built cheaply: compression bombs, and values nested deeper than a recursive walk goes.

Compression bombs are gzip streams of many zeros, made without holding (or compressing) the zeros. After a full
flush a deflate stream depends on nothing before it, so one compressed mebibyte of zeros, repeated, is a valid
stream of any number of mebibytes; the gzip header and trailer (CRC-32, size) are written by hand.
"""

from __future__ import annotations

import struct
import zlib

MIB = 1024 * 1024
_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # gzip, deflate, no name, no time, max compression, unknown OS


def gzip_zeros(mebibytes: int) -> bytes:
    """A gzip stream that inflates to `mebibytes` MiB of zero bytes."""
    zeros = bytes(MIB)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    first = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    again = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(mebibytes):
        crc = zlib.crc32(zeros, crc)
    body = first + again * (mebibytes - 1) + deflate.flush()
    return _HEADER + body + struct.pack("<II", crc, (mebibytes * MIB) & 0xFFFFFFFF)


def gzip_layers(data: bytes, layers: int) -> bytes:
    """`data` gzipped `layers` more times (`Content-Encoding: gzip, gzip, …`)."""
    for _ in range(layers):
        data = zlib.compress(data, 9, wbits=zlib.MAX_WBITS | 16)
    return data


def nested(depth: int, innermost: object) -> object:
    """`innermost` inside `depth` lists, each in the next ([[…[innermost]…]]): no recursion to build it."""
    value = innermost
    for _ in range(depth):
        value = [value]
    return value


def unnested(value: object, depth: int) -> object:
    """What `nested(depth, …)` holds innermost."""
    for _ in range(depth):
        assert isinstance(value, list) and len(value) == 1, value
        value = value[0]
    return value
