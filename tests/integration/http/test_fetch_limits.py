"""The fetcher's limits against real sockets: redirects, body size, compression bombs, time."""

from __future__ import annotations

import gzip
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from ipaddress import ip_network

import pytest

from scanfleet.http import AddressPolicy, FetchError, FetchLimits, SafeFetcher
from tests.support.site import FixtureSite, Page, html

LOCAL = AddressPolicy((ip_network("127.0.0.0/8"),))


@pytest.fixture
async def fetcher() -> AsyncIterator[SafeFetcher]:
    limits = FetchLimits(total_seconds=3, connect_seconds=1, read_seconds=1, max_redirects=3, max_bytes=64 * 1024)
    async with SafeFetcher(limits, LOCAL) as running:
        yield running


async def test_redirect_loop_stops_at_the_limit(fetcher: SafeFetcher, site: FixtureSite) -> None:
    site.add("/loop-a", Page(302, [("Location", "/loop-b")]))
    url = site.add("/loop-b", Page(302, [("Location", "/loop-a")]))
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(url)
    assert caught.value.code == "too_many_redirects"
    assert len(caught.value.hops) == 4  # the first answer and three redirects followed


async def test_large_body_is_cut_at_max_bytes(fetcher: SafeFetcher, site: FixtureSite) -> None:
    url = site.add("/huge", html("<html>" + "x" * 500_000 + "</html>"))
    result = await fetcher.fetch(url)
    assert result.truncated and len(result.body) == 64 * 1024


async def test_compression_bomb_is_cut_after_decoding(fetcher: SafeFetcher, site: FixtureSite) -> None:
    bomb = gzip.compress(b"<html>" + b"\0" * 20_000_000)
    assert len(bomb) < 100_000
    url = site.add("/bomb", Page(200, [("Content-Type", "text/html"), ("Content-Encoding", "gzip")], bomb))
    result = await fetcher.fetch(url)
    assert result.truncated and len(result.body) == 64 * 1024


@pytest.mark.parametrize("port", [65536, 99999])  # (httpcore takes port 0 for the default port)
async def test_a_redirect_to_a_port_out_of_range_is_an_invalid_url(
    fetcher: SafeFetcher, site: FixtureSite, port: int
) -> None:
    url = site.add(f"/to-port-{port}", Page(302, [("Location", f"http://127.0.0.1:{port}/")]))
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(url)
    assert caught.value.code == "invalid_url" and len(caught.value.hops) == 1


async def test_slow_target_times_out(fetcher: SafeFetcher, site: FixtureSite) -> None:
    url = site.add("/slow", Page(200, [("Content-Type", "text/html")], b"<html></html>", delay=2.5))
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(url)
    assert caught.value.code == "timeout"


async def test_hostname_resolving_to_loopback_is_refused_without_allow_list(site: FixtureSite) -> None:
    async with SafeFetcher(FetchLimits(), AddressPolicy()) as strict:
        with pytest.raises(FetchError) as caught:
            await strict.fetch(f"http://localhost:{site.port}/")
    assert caught.value.code == "blocked_address"
    assert "loopback" in caught.value.message
    assert "SCANFLEET_FETCH_ALLOW_NETWORKS" in caught.value.message  # how to allow it, in the error itself


@pytest.mark.parametrize(
    "target",
    ["http://%31%32%37.0.0.2/", f"http://{'a' * 64}.localhost/", "http://127.0.0.1:99999/"],
    ids=["percent-encoded", "long-label", "port"],
)
async def test_a_url_breaking_the_host_rules_is_invalid_not_resolved(
    fetcher: SafeFetcher, site: FixtureSite, target: str
) -> None:
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(target)
    assert caught.value.code == "invalid_url"

    redirect = site.add(f"/to-{uuid.uuid4().hex[:8]}", Page(302, [("Location", target)]))
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(redirect)
    assert caught.value.code == "invalid_url"
    assert [hop.status for hop in caught.value.hops] == [302]  # the redirect is evidence


@pytest.mark.parametrize("location", ["http://[::1", "http://a:b:c/", "//[zz]/"])
async def test_an_unparseable_redirect_location_is_an_invalid_url(
    fetcher: SafeFetcher, site: FixtureSite, location: str
) -> None:
    url = site.add(f"/bad-location-{uuid.uuid4().hex[:8]}", Page(302, [("Location", location)]))
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(url)
    assert caught.value.code == "invalid_url"  # not protocol_error, which is retried as a cut connection
    assert location in caught.value.message


async def test_an_oversized_header_block_is_its_own_failure(fetcher: SafeFetcher, site: FixtureSite) -> None:
    url = site.add("/fat-headers", Page(200, [("Content-Type", "text/html"), ("X-Padding", "a" * 200_000)]))
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(url)
    assert caught.value.code == "headers_too_large"


@pytest.mark.parametrize(("size", "truncated"), [(64 * 1024, False), (64 * 1024 + 1, True), (128 * 1024, True)])
async def test_truncation_is_reported_exactly_at_the_limit(
    fetcher: SafeFetcher, site: FixtureSite, size: int, truncated: bool
) -> None:
    url = site.add(f"/exact-{size}", Page(200, [("Content-Type", "text/html")], b"x" * size))
    result = await fetcher.fetch(url)
    assert (len(result.body), result.truncated) == (min(size, 64 * 1024), truncated)


@pytest.fixture
def drip_server() -> Iterator[str]:
    """Answers a byte every 0.2 s forever: each read is quick, the whole never ends."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n")
                while not stop.wait(0.2):
                    try:
                        conn.sendall(b"<")
                    except OSError:
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    stop.set()
    thread.join()
    listener.close()


async def test_slow_drip_is_cut_by_the_total_time_limit(fetcher: SafeFetcher, drip_server: str) -> None:
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(drip_server)
    assert caught.value.code == "timeout"
    assert 2.5 < time.monotonic() - started < 6  # the 3 s total, not the 1 s read timeout, ended it
