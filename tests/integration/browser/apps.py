"""Web apps on the fake internet for browser steps: a login flow, a single-page app, a slow page, a button that
turns up late, and a page that leaks what is typed into it."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import parse_qsl

from tests.support.internet import Hit, Internet
from tests.support.site import Page, html

APP = "https://app.test"
USER, PASSWORD = "ada", "correct horse battery"
SLOW_SECONDS = 0.8

# Signs in (the variables user and password), lands on the dashboard, checks it and extracts {{order}}.
LOGIN: list[dict[str, Any]] = [
    {"action": "goto", "url": f"{APP}/login"},
    {"action": "fill", "selector": "#user", "value": "{{user}}"},
    {"action": "fill", "selector": "#password", "value": "{{password}}", "secret": True},
    {"action": "select", "selector": "#lang", "value": "Français"},
    {"action": "check", "selector": "#remember"},
    {"action": "hover", "selector": "#submit"},
    {"action": "click", "selector": "text=Sign in"},
    {"action": "wait_for", "url": "**/dashboard?*"},
    {"action": "assert_text", "selector": "h1", "operator": "equals", "value": f"Welcome, {USER}"},
    {"action": "assert_text", "selector": "#lang", "value": "fr"},
    {"action": "assert_text", "selector": "#remember", "value": "yes"},
    {"action": "assert_count", "selector": ".items li", "value": 3},
    {"action": "assert_attribute", "selector": "#order", "name": "href", "operator": "contains", "value": "4521"},
    {"action": "assert_title", "operator": "equals", "value": "Dashboard"},
    {"action": "extract", "name": "order", "selector": "#order", "attribute": "data-order"},
]
# On the single-page app's inbox: to its settings view, which is rendered from a fetch.
SPA_ROUTES = [
    {"action": "click", "selector": "#to-settings"},
    {"action": "assert_url", "operator": "regex", "value": "/spa/settings$"},
    {"action": "wait_for", "selector": "li.option"},
    {"action": "assert_count", "selector": "li.option", "value": 2},
    {"action": "assert_title", "operator": "equals", "value": "Settings"},
]

LOGIN_PAGE = """<!doctype html><html><head><title>Sign in</title></head><body>
<form method="post" action="/session"><input id="user" name="user"><input id="password" name="password" type="password">
<select id="lang" name="lang"><option value="en">English</option><option value="fr">Français</option></select>
<label><input id="remember" name="remember" type="checkbox"> Remember me</label>
<button id="submit" type="submit">Sign in</button></form></body></html>"""

DASHBOARD = """<!doctype html><html><head><title>Dashboard</title></head><body>
<h1>Welcome, {user}</h1><p id="lang">{lang}</p><p id="remember">{remember}</p>
<a id="order" href="/orders/4521" data-order="4521">Order #4521</a>
<ul class="items"><li>one</li><li>two</li><li>three</li></ul></body></html>"""

SPA = """<!doctype html><html><head><title>Inbox</title></head><body>
<nav><a href="/spa/inbox" data-route>Inbox</a> <a id="to-settings" href="/spa/settings" data-route>Settings</a></nav>
<main id="view"><h1>Inbox</h1></main>
<script>
  const views = {
    "/spa/inbox": () => Promise.resolve("<h1>Inbox</h1>"),
    "/spa/settings": () => fetch("/api/settings").then((r) => r.json()).then((s) =>
      "<h1>Settings</h1><ul>" + s.options.map((o) => "<li class=option>" + o + "</li>").join("") + "</ul>"),
  };
  const show = (path) => views[path]().then((markup) => {
    document.getElementById("view").innerHTML = markup;
    document.title = markup.match(/<h1>(.*?)<\\/h1>/)[1];
  });
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-route]");
    if (!link) return;
    event.preventDefault();
    history.pushState({}, "", link.getAttribute("href"));
    show(link.getAttribute("href"));
  });
  fetch("/api/missing");
  console.error("spa: telemetry endpoint missing");
</script></body></html>"""

# The button turns up late, and is replaced once more before it settles: a selector that flickers.
LATE = """<!doctype html><html><head><title>Late</title></head><body><div id="slot"></div><p id="result"></p>
<script>
  const put = (label) => {
    const b = document.createElement("button"); b.id = "go"; b.textContent = label;
    b.onclick = () => { document.getElementById("result").textContent = "clicked " + label; };
    document.getElementById("slot").replaceChildren(b);
  };
  setTimeout(() => put("wait"), 300);
  setTimeout(() => put("go"), 600);
</script></body></html>"""

# Echoes whatever is typed: into the page, the console, the URL and a request.
LEAKY = """<!doctype html><html><head><title>Leaky</title></head><body>
<input id="token" type="text"><p id="echo"></p>
<script>
  document.getElementById("token").addEventListener("input", (event) => {
    const value = event.target.value;
    document.getElementById("echo").textContent = "you typed " + value;
    document.body.setAttribute("data-typed", value);
    console.error("typed " + value);
    history.replaceState({}, "", "/leaky?typed=" + encodeURIComponent(value));
    fetch("/api/nowhere?t=" + encodeURIComponent(value));
  });
</script></body></html>"""


class Sessions(set[str]):
    def login(self, hit: Hit) -> Page:
        form = dict(parse_qsl(hit.body.decode()))
        if (form.get("user"), form.get("password")) != (USER, PASSWORD):
            return html("<h1>Wrong password</h1>", status=401)
        token = secrets.token_hex(8)
        self.add(token)
        query = f"lang={form.get('lang', '')}&remember={'yes' if form.get('remember') else 'no'}"
        return Page(303, [("Location", f"/dashboard?{query}"), ("Set-Cookie", f"sid={token}; Path=/; Secure")])

    def dashboard(self, hit: Hit) -> Page:
        cookies = dict(part.strip().partition("=")[::2] for part in hit.headers.get("cookie", "").split(";"))
        if cookies.get("sid") not in self:
            return Page(303, [("Location", "/login")])
        query = dict(parse_qsl(hit.path.partition("?")[2]))
        return html(DASHBOARD.format(user=USER, lang=query.get("lang"), remember=query.get("remember")))


def build_apps(internet: Internet) -> None:
    sessions = Sessions()
    internet.add(f"{APP}/login", html(LOGIN_PAGE))
    internet.add(f"{APP}/session", sessions.login)
    internet.add(f"{APP}/dashboard", sessions.dashboard)
    internet.add(f"{APP}/spa/inbox", html(SPA))
    internet.add(f"{APP}/api/settings", Page(200, [("Content-Type", "application/json")], b'{"options": ["a", "b"]}'))
    internet.add(f"{APP}/slow", Page(200, [("Content-Type", "text/html")], b"<h1>Finally</h1>", delay=SLOW_SECONDS))
    internet.add(f"{APP}/late", html(LATE))
    internet.add(f"{APP}/leaky", html(LEAKY))
    internet.add(f"{APP}/favicon.ico", Page(204))
