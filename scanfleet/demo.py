"""The demo site `scanfleet up` serves on 127.0.0.1, so a first scan works without the internet: one page that
sets cookies, names third parties (an analytics tag, a pixel, a session recorder, an embedded video, web fonts)
and has a sign-up form over plain http. Only this page is fetched; the third parties are only named in it."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "127.0.0.1"

PAGE = b"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Demo shop</title>
  <link rel="stylesheet" href="https://fonts.googleapis.com/css2?family=Inter">
  <script async src="https://www.googletagmanager.com/gtag/js?id=G-DEMO12345"></script>
  <script>
    window.dataLayer = window.dataLayer || [];
    function gtag(){dataLayer.push(arguments);}
    gtag('js', new Date());
    gtag('config', 'G-DEMO12345');
  </script>
  <script src="https://static.hotjar.com/c/hotjar-1234567.js?sv=6"></script>
</head>
<body>
  <h1>Demo shop</h1>
  <p>This page is served by <code>scanfleet up</code> for a first scan that needs no internet access.</p>
  <img src="https://www.facebook.com/tr?id=123456789&amp;ev=PageView" alt="" width="1" height="1">
  <iframe src="https://www.youtube.com/embed/demo" title="Our story"></iframe>
  <form action="/subscribe" method="post">
    <label>Email <input type="email" name="email"></label>
    <label>Password <input type="password" name="password"></label>
    <button>Sign up</button>
  </form>
  <footer><a href="/privacy">Privacy policy</a></footer>
</body>
</html>
"""

PRIVACY = b"<!doctype html><html><head><title>Privacy policy</title></head><body><h1>Privacy policy</h1></body></html>"

COOKIES = (
    "session=demo; Path=/",  # readable by every script on the page: no HttpOnly
    "consent=pending; Path=/; SameSite=None",  # SameSite=None without Secure
    "_fbp=fb.1.1700000000.123456789; Domain=facebook.com; Path=/; Max-Age=7776000",  # another site's
)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        body = {"/": PAGE, "/privacy": PRIVACY}.get(path)
        if body is None:
            self._answer(404, b"not found", "text/plain")
            return
        self._answer(200, body, "text/html; charset=utf-8", COOKIES if path == "/" else ())

    def _answer(self, status: int, body: bytes, content_type: str, cookies: tuple[str, ...] = ()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for cookie in cookies:
            self.send_header("Set-Cookie", cookie)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Scans of the demo are not worth a line each."""


class DemoSite:
    """Serves from a daemon thread of the process that starts it, for as long as that process runs."""

    def __init__(self, port: int) -> None:
        self._server = ThreadingHTTPServer((HOST, port), _Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, name="demo-site", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    @property
    def endpoint(self) -> str:
        """The allow-list entry that opens this site, and nothing else on loopback, to the SSRF guard."""
        return f"{HOST}:{self.port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
