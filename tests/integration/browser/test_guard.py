"""Every route a page has to the network passes the SSRF guard. The page is on 127.0.0.1 (allowed); 127.0.0.2
stands in for an internal host, and a TCP and a UDP listener there prove that nothing reached it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from ipaddress import ip_address
from pathlib import Path

import pytest

from scanfleet.http import GuardedBackend, parse_resolve
from scanfleet.http.resolve import IPAddress
from scanfleet.model import Status
from scanfleet.worker.browser import BrowserRuntime, browse
from tests.integration.browser.conftest import LIMITS, ONLY_127_0_0_1
from tests.support.internet import Internet, script
from tests.support.site import Page, html


class Listener:
    """TCP and UDP on 127.0.0.2:`port`, counting whatever arrives."""

    def __init__(self, port: int) -> None:
        self.tcp = socket.create_server(("127.0.0.2", port))
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.2", port))
        self.tcp.setblocking(False)
        self.udp.setblocking(False)

    def arrivals(self) -> list[str]:
        seen = []
        while True:
            try:
                connection, peer = self.tcp.accept()
            except BlockingIOError:
                break
            seen.append(f"tcp from {peer}")
            connection.close()
        while True:
            try:
                _data, peer = self.udp.recvfrom(2048)
            except BlockingIOError:
                break
            seen.append(f"udp from {peer}")
        return seen

    def close(self) -> None:
        self.tcp.close()
        self.udp.close()


class Rebinding(GuardedBackend):
    """rebind.test answers 127.0.0.1 at the first lookup and 127.0.0.2 ever after (DNS rebinding)."""

    lookups = 0

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        if host != "rebind.test":
            return await super().resolve(host, port)
        self.lookups += 1
        return [ip_address("127.0.0.1" if self.lookups == 1 else "127.0.0.2")]


@pytest.fixture(scope="module")
def listener(internet: Internet) -> Iterator[Listener]:
    running = Listener(internet.http_port)
    yield running
    running.close()


@pytest.fixture(scope="module")
async def rebinding_runtime(internet: Internet, ca_file: Path) -> AsyncIterator[BrowserRuntime]:
    # internal.test is mapped to the forbidden address the way SCANFLEET_FETCH_RESOLVE would do it.
    mapping = parse_resolve(f"internal.test:443:127.0.0.2:{internet.http_port},{_entries(internet)}")
    async with BrowserRuntime(Rebinding(ONLY_127_0_0_1, mapping), ca_file=ca_file) as running:
        yield running


def _entries(internet: Internet) -> str:
    return f"*:443:127.0.0.1:{internet.https_port},*:80:127.0.0.1:{internet.http_port}"


ATTACK = """(async function (forbidden) {
  const swallow = (p) => p.catch(() => null);
  swallow(fetch(forbidden + '/fetch'));
  swallow(fetch('https://internal.test/mapped'));
  swallow(fetch('/rebound'));  // the page's own host, looked up again
  const xhr = new XMLHttpRequest(); xhr.open('GET', forbidden + '/xhr'); xhr.send();
  navigator.sendBeacon(forbidden + '/beacon', 'x');
  try { new WebSocket(forbidden.replace('http', 'ws') + '/ws'); } catch (e) {}
  try { new EventSource(forbidden + '/events'); } catch (e) {}
  document.getElementById('a').click();
  swallow(navigator.serviceWorker.register('/sw.js'));
  const peer = new RTCPeerConnection({iceServers: [{urls: 'stun:' + forbidden.split('//')[1]}]});
  peer.createDataChannel('x');
  peer.setLocalDescription(await peer.createOffer());
})(FORBIDDEN);"""


def attack_page(forbidden: str) -> str:
    """Every way a page can make the browser connect somewhere, each aimed at `forbidden`."""
    return f"""<!doctype html><html><head>
<link rel="preconnect" href="{forbidden}"><link rel="dns-prefetch" href="{forbidden}">
<link rel="prefetch" href="{forbidden}/prefetch"><link rel="preload" as="image" href="{forbidden}/preload">
<link rel="stylesheet" href="{forbidden}/style.css"><script src="{forbidden}/script.js"></script>
</head><body>
<img src="{forbidden}/img"><img src="http://2130706434:{forbidden.rsplit(":", 1)[1]}/decimal">
<iframe src="{forbidden}/frame"></iframe><iframe src="/redirect"></iframe>
<a ping="{forbidden}/ping" href="/x" target="_blank" id="a">x</a>
<script>{ATTACK.replace("FORBIDDEN", repr(forbidden))}</script>
</body></html>"""


SERVICE_WORKER = """self.addEventListener('install', (e) => e.waitUntil(fetch(FORBIDDEN + '/sw').catch(() => null)));"""


@pytest.fixture(scope="module")
def attack(internet: Internet) -> str:
    forbidden = f"http://127.0.0.2:{internet.http_port}"
    for host in ("127.0.0.1", "rebind.test"):
        base = f"http://{host}:{internet.http_port}"
        internet.add(f"{base}/", html(attack_page(forbidden)))
        internet.add(f"{base}/sw.js", script(SERVICE_WORKER.replace("FORBIDDEN", repr(forbidden))))
        internet.add(f"{base}/redirect", Page(302, [("Location", f"{forbidden}/redirected")]))
        internet.add(f"{base}/rebound", html("rebound"))
        internet.add(f"{base}/x", html("x"))
    return forbidden


async def test_no_route_reaches_a_forbidden_address(
    runtime: BrowserRuntime, internet: Internet, attack: str, listener: Listener
) -> None:
    outcome = await browse(runtime, f"http://127.0.0.1:{internet.http_port}/", LIMITS)
    assert outcome.status is Status.SUCCEEDED, outcome.error_message
    await asyncio.sleep(0.5)  # anything still on its way to the listener would have arrived by now
    assert listener.arrivals() == []
    refused = {row.details["url"] for row in outcome.evidence if row.kind == "request" and row.details["blocked"]}
    assert {
        f"{attack}/{path}" for path in ("img", "script.js", "style.css", "frame", "redirected", "fetch", "xhr")
    } <= {url.split("?")[0] for url in refused}
    [coverage] = [row.details for row in outcome.evidence if row.kind == "coverage"]
    assert coverage["connections_refused"] >= 8


async def test_a_name_mapped_to_a_forbidden_address_and_dns_rebinding_are_refused(
    rebinding_runtime: BrowserRuntime, internet: Internet, attack: str, listener: Listener
) -> None:
    outcome = await browse(rebinding_runtime, f"http://rebind.test:{internet.http_port}/", LIMITS)
    assert outcome.status is Status.SUCCEEDED, outcome.error_message
    await asyncio.sleep(0.5)
    assert listener.arrivals() == []
    requests = [row.details for row in outcome.evidence if row.kind == "request"]
    assert [r["blocked"] for r in requests if r["url"] == "https://internal.test/mapped"] == ["blocked_address"]
    # The page loaded from 127.0.0.1; its later requests to the same name met 127.0.0.2 and were refused.
    assert [r["blocked"] for r in requests if r["url"].endswith("/rebound")] == ["blocked_address"]


@pytest.mark.parametrize("url", ["file:///etc/passwd", "data:text/html,<p>x</p>", "chrome://version/", "ftp://x/"])
async def test_only_http_and_https_are_browsed(runtime: BrowserRuntime, url: str) -> None:
    outcome = await browse(runtime, url, LIMITS)
    assert (outcome.status, outcome.error_code) == (Status.FAILED, "invalid_url")


async def test_the_page_cannot_navigate_its_top_frame_to_local_schemes(
    runtime: BrowserRuntime, internet: Internet
) -> None:
    page = internet.add(
        "https://shop.test/escape",
        html("""<p id=still-here>page</p><script>
  setTimeout(() => { location.href = 'file:///etc/passwd'; }, 0);
  setTimeout(() => { location.href = 'chrome://version/'; }, 20);
  setTimeout(() => { location.href = 'data:text/html,<p>elsewhere</p>'; }, 40);
</script>"""),
    )
    outcome = await browse(runtime, page, LIMITS)
    assert (outcome.status, outcome.final_url) == (Status.SUCCEEDED, page)
    documents = [
        r.details["url"] for r in outcome.evidence if r.kind == "request" and r.details["request_type"] == "document"
    ]
    assert documents == [page]


async def test_a_blocked_page_fails_with_blocked_address(runtime: BrowserRuntime, internet: Internet) -> None:
    outcome = await browse(runtime, f"http://127.0.0.2:{internet.http_port}/", LIMITS)
    assert (outcome.status, outcome.error_code) == (Status.FAILED, "blocked_address")
    outcome = await browse(runtime, "http://10.1.2.3:8080/", LIMITS)  # no FETCH_RESOLVE entry for this port
    assert (outcome.status, outcome.error_code) == (Status.FAILED, "blocked_address")
