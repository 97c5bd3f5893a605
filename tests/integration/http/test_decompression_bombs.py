"""Compressed bodies against a real loopback server: every layer decoded within the cap and in bounded memory,
by the privacy fetcher and by check steps alike."""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from collections.abc import AsyncIterator, Iterator
from ipaddress import ip_network
from typing import Any

import pytest

from scanfleet.http import AddressPolicy, FetchError, FetchLimits, SafeFetcher
from tests.support.bombs import MIB, gzip_layers, gzip_zeros
from tests.support.site import FixtureSite, Page

LOCAL = AddressPolicy((ip_network("127.0.0.0/8"),))
CAP = 5 * MIB  # SCANFLEET_FETCH_MAX_BYTES's default
PAGE = b"<html><head><title>packed</title></head><body>" + b"<p>twice over</p>" * 1000 + b"</body></html>"


def encoded(body: bytes, encoding: str) -> Page:
    return Page(200, [("Content-Type", "text/html"), ("Content-Encoding", encoding)], body)


@pytest.fixture(scope="module")
def bombs() -> Iterator[FixtureSite]:
    with FixtureSite() as site:
        site.add("/", Page(200, [("Content-Type", "text/html")], b"<html>warm-up</html>"))
        # 1.3 KB on the wire, 512 MiB inside two layers; 1 MiB on the wire, 1 GiB inside one.
        site.add("/double", encoded(gzip_layers(gzip_zeros(512), 1), "gzip, gzip"))
        site.add("/single", encoded(gzip_zeros(1024), "gzip"))
        site.add("/triple", encoded(gzip_layers(PAGE, 3), "gzip, gzip, gzip"))
        site.add("/twice", encoded(gzip_layers(PAGE, 2), "gzip, gzip"))
        site.add("/zlib", encoded(zlib.compress(PAGE), "deflate"))
        site.add("/raw-deflate", encoded(zlib.compress(PAGE, wbits=-zlib.MAX_WBITS), "deflate"))
        site.add("/identity", encoded(zlib.compress(PAGE, wbits=31), "identity, gzip"))
        site.add("/corrupt", encoded(gzip_layers(PAGE, 1)[:20] + b"\xff" * 64, "gzip"))
        yield site


@pytest.fixture
async def fetcher() -> AsyncIterator[SafeFetcher]:
    async with SafeFetcher(FetchLimits(total_seconds=30, read_seconds=10, max_bytes=CAP), LOCAL) as running:
        yield running


@pytest.mark.parametrize("path", ["/twice", "/zlib", "/raw-deflate", "/identity"])
async def test_every_layer_is_decoded(fetcher: SafeFetcher, bombs: FixtureSite, path: str) -> None:
    result = await fetcher.fetch(bombs.url(path))
    assert (result.body, result.truncated) == (PAGE, False)


async def test_a_bomb_is_cut_at_the_cap(fetcher: SafeFetcher, bombs: FixtureSite) -> None:
    result = await fetcher.fetch(bombs.url("/double"))
    assert result.truncated and result.body == bytes(CAP)


async def test_more_than_two_layers_is_a_permanent_failure(fetcher: SafeFetcher, bombs: FixtureSite) -> None:
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(bombs.url("/triple"))
    assert caught.value.code == "too_many_encodings" and "3 times" in caught.value.message
    assert [hop.status for hop in caught.value.hops] == [200]


async def test_a_body_that_does_not_decode_is_a_protocol_error(fetcher: SafeFetcher, bombs: FixtureSite) -> None:
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(bombs.url("/corrupt"))
    assert caught.value.code == "protocol_error"


def _measured(path: str, url: str) -> dict[str, Any]:
    """One fetch in a process of its own, and how far it raised that process's peak resident memory."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.peak_memory", path, url, str(CAP)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    measured: dict[str, Any] = json.loads(done.stdout)
    return measured


# README (Limits): reading a body raises memory by at most about twice the cap — the decoded pieces and the body
# they are joined into — plus decoder slices; a check step also holds the body's text (once more the cap for these
# one-byte characters). 4 MiB of room for the interpreter's own noise.
BOUND_KIB = {"fetch": (2 * CAP + 4 * MIB) // 1024, "check": (3 * CAP + 4 * MIB) // 1024}


@pytest.mark.parametrize("path", ["fetch", "check"])
@pytest.mark.parametrize("bomb", ["/double", "/single"])
def test_a_bomb_costs_bounded_memory(bombs: FixtureSite, path: str, bomb: str) -> None:
    measured = _measured(path, bombs.url(bomb))
    assert (measured["bytes"], measured["truncated"]) == (CAP, True)
    assert measured["grown_kib"] < BOUND_KIB[path], measured


def test_a_check_step_refuses_more_than_two_layers(bombs: FixtureSite) -> None:
    assert _measured("check", bombs.url("/triple"))["error"] == "too_many_encodings"
