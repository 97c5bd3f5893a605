"""The fake internet's sites: a shop whose vendors' scripts behave at run time as real ones do."""

from __future__ import annotations

from tests.support.internet import Internet, pixel, script
from tests.support.site import Page, html
from tests.support.vendors import FINGERPRINTER, ONETRUST, OT_STUB, RECORDING, key_logger

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

CONSENT_PAGE = f"""<!doctype html><html><head><title>Consent</title>
<script src="{OT_STUB}" data-domain-script="0f1e2d3c"></script>
<script>!function(f,b,e,v,n,t,s){{if(f.fbq)return;n=f.fbq=function(){{n.callMethod?
n.callMethod.apply(n,arguments):n.queue.push(arguments)}};if(!f._fbq)f._fbq=n;n.push=n;n.loaded=!0;n.queue=[];
t=b.createElement(e);t.async=!0;t.src=v;s=b.getElementsByTagName(e)[0];s.parentNode.insertBefore(t,s)}}(window,
document,'script','https://connect.facebook.net/en_US/fbevents.js');fbq('init','1234567890123456');</script>
</head><body><a href="/privacy">Privacy policy</a></body></html>"""

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
    internet.add("https://static.hotjar.com/keys.js", script(key_logger("https://in.hotjar.com")))
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
    internet.add("https://cdn.recorder.test/record.js", script(RECORDING))
    internet.add("https://news.test/app.js", script(RECORDING))
