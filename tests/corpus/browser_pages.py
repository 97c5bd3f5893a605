"""The browser corpus: shop pages on the fake internet, each with the rows and issue codes a browser scan of it
reports, and what it really does where the browser falls short.

Every page is https://<name>.test/ (tests/corpus/browser_internet.py serves it); its vendors' scripts are those
of tests/support/vendors.py, which behave at run time as the real ones do.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.corpus.model import BrowserPage, Prefix, Row, missed, spurious
from tests.corpus.pages import (
    CLARITY_SNIPPET,
    GA4_SNIPPET,
    GTM_SNIPPET,
    HOTJAR_SNIPPET,
    POLICY,
    POLICY_LINK,
)
from tests.support.vendors import (
    AD_FRAME,
    ANTIFRAUD,
    COOKIEBOT,
    FORMCAPTURE,
    OT_STUB,
    SOURCEPOINT,
    USERCENTRICS,
    consent_platform,
)

# A consent manager proxied through the site's own domain (as Didomi and others allow): its IAB APIs answer
# Didomi's CMP id, and no host or global of Didomi's is in sight.
PROXIED_DIDOMI = consent_platform("", 7, tcf=True, gpp=True, banner_id="didomi-host", accept_url="/consent/accept")
# A publisher's own consent manager: TCF with an id the IAB CMP list does not hold.
INHOUSE_CMP = consent_platform("", 4242, tcf=True, gpp=False, banner_id="cookie-notice", accept_url="/consent/accept")
SESSION_COOKIE = ("Set-Cookie", "sid=7f3a; Path=/; Secure; HttpOnly; SameSite=Lax")


def page_html(head: str = "", body: str = "", footer: str = POLICY_LINK) -> str:
    # A data: icon: no favicon request of the browser's own among the page's.
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>Shop</title><link rel="icon" href="data:,">'
        f"{head}</head><body>{body}{footer}</body></html>"
    )


META_PIXEL = """<script>!function(f,b,e,v,n,t,s){if(f.fbq)return;n=f.fbq=function(){n.callMethod?
n.callMethod.apply(n,arguments):n.queue.push(arguments)};if(!f._fbq)f._fbq=n;n.push=n;n.loaded=!0;n.version='2.0';
n.queue=[];t=b.createElement(e);t.async=!0;t.src=v;s=b.getElementsByTagName(e)[0];s.parentNode.insertBefore(t,s)}(
window, document,'script','https://connect.facebook.net/en_US/fbevents.js');
fbq('init', '1234567890123456'); fbq('track', 'PageView'); fbq('track', 'AddToCart');</script>"""
# FullStory's loader names its host only as a bare string in script text: no tag in the page loads it.
FULLSTORY_LOADER = """<script>window['_fs_host'] = 'fullstory.com'; window['_fs_script'] = 'edge.fullstory.com/s/fs.js';
window['_fs_org'] = 'o-1QX2Y3-na1'; window['_fs_namespace'] = 'FS';
(function (m, n, e, t) { var o = n.createElement(e); o.async = 1; o.crossOrigin = 'anonymous';
o.src = 'https://' + m._fs_script; var y = n.getElementsByTagName(e)[0]; y.parentNode.insertBefore(o, y);
})(window, document, 'script', 'user');</script>"""
TIKTOK_LOADER = """<script>!function (w, d, t) { w.TiktokAnalyticsObject = t; var ttq = w[t] = w[t] || [];
ttq.load = function (e) { var n = d.createElement('script'); n.async = !0;
n.src = 'https://analytics.tiktok.com/i18n/pixel/events.js?sdkid=' + e + '&lib=' + t;
var s = d.getElementsByTagName('script')[0]; s.parentNode.insertBefore(n, s); };
ttq.load('C9ABCDEF0123456789GH'); ttq.page(); }(window, document, 'ttq');</script>"""
# gtag.js configured for a GA4 property and a Google Ads account (remarketing).
GTAG_WITH_ADS = GA4_SNIPPET.replace(
    "gtag('config', 'G-7XK2M9QW4R');", "gtag('config', 'G-7XK2M9QW4R'); gtag('config', 'AW-111222333');"
)
SIGNUP_FORM = """<form action="/account/create" method="post"><label>E-mail <input type="email" name="email"></label>
<label>Password <input type="password" name="password"></label><button>Create account</button></form>"""
NEWSLETTER_FORM = """<form action="/newsletter" method="post"><input type="email" name="email"
placeholder="Your e-mail"><button>Subscribe</button></form>"""


# Rows as a browser scan reports them; helpers name the details that identify and judge each one.


def request(
    url: str | Prefix,
    resource_type: str,
    *,
    party: str = "third",
    vendor: str | None = None,
    category: str | None = None,
    chain: tuple[str, ...] = (),
    method: str = "GET",
    status: int | None = 200,
    reported_chain: tuple[str, ...] | None = None,
) -> tuple[Row, ...]:
    """A request the page made and the scripts that led to it, nearest first. `reported_chain`: the browser
    names another initiator (Chromium attributes an image a script creates to the document, or to nothing when
    the script's event handler creates it): the true chain is then a known miss and the reported one spurious."""
    details: dict[str, Any] = {
        "url": url, "method": method, "resource_type": resource_type, "party": party, "vendor": vendor,
        "category": category, "initiator_chain": list(chain), "status": status, "failed": None, "blocked": None,
    }  # fmt: skip
    if reported_chain is None:
        return (Row("request", details),)
    return (
        missed("request", details),
        spurious("request", {**details, "initiator_chain": list(reported_chain)}),
    )


def document(page: str) -> Row:
    [row] = request(page, "Document", party="first")
    return row


def jar(
    name: str,
    domain: str,
    *,
    party: str,
    set_by: str,
    setter: str | None,
    secure: bool = False,
    http_only: bool = False,
    same_site: str | None = "Lax",
    session: bool = False,
) -> Row:
    details = {
        "name": name, "domain": domain, "party": party, "set_by": set_by, "setter": setter, "secure": secure,
        "http_only": http_only, "same_site": same_site, "session": session,
    }  # fmt: skip
    return Row("browser_cookie", details)


def storage(origin: str, area: str, names: list[str], party: str = "first") -> Row:
    return Row("storage", {"origin": origin, "area": area, "names": names, "party": party})


def fingerprinting(technique: str, script: str, vendor: str | None = None) -> Row:
    return Row("fingerprinting", {"technique": technique, "script": script, "party": "third", "vendor": vendor})


def key_logging(field: str, host: str, encodings: list[str], vendor: str | None = None) -> Row:
    return Row("key_logging", {"field": field, "host": host, "encodings": encodings, "vendor": vendor}, "high")


def session_recording(script: str, vendor: str | None) -> Row:
    return Row("session_recording", {"script": script, "party": "third", "vendor": vendor})


def third_party(host: str, tags: list[str], category: str | None = None) -> Row:
    return Row("third_party", {"host": host, "tags": tags, "category": category})


def tracker(source: str, vendor: str | None, category: str, host: str | None = None, **details: Any) -> Row:
    return Row("tracker", {"source": source, "vendor": vendor, "category": category, "host": host, **details})


def runtime_tracker(vendor: str | None, category: str, request_url: str) -> Row:
    """A tracker only the page's requests show: the host of `request_url`, its first request there."""
    return tracker("network", vendor, category, urlsplit(request_url).hostname, observed="request", request=request_url)


def inline_reference(host: str, written_as: list[str], urls: list[str]) -> Row:
    return Row("inline_reference", {"host": host, "written_as": written_as, "urls": urls}, "info")


def consent_manager(
    name: str | None,
    detected_by: list[str],
    *,
    tcf: dict[str, Any] | None = None,
    gpp: dict[str, Any] | None = None,
    tcf_api: bool = False,
    gpp_api: bool = False,
    globals_: list[str] | None = None,
) -> Row:
    details = {
        "name": name, "detected_by": detected_by, "globals": globals_ or [], "tcf_api": tcf_api, "gpp_api": gpp_api,
        "tcf": tcf, "gpp": gpp,
    }  # fmt: skip
    return Row("consent_manager", details, "info")


def form(action: str, sensitive: list[str], inputs: int) -> Row:
    return Row("form", {"action": action, "method": "post", "secure": True, "sensitive_fields": sensitive,
                        "inputs": inputs})  # fmt: skip


SID_COOKIE = Row("cookie", {"name": "sid", "secure": True, "http_only": True, "third_party": False}, "info")
TLS = Row("tls_certificate", {"hop": 0, "expired": False}, "info")


def final(page: str) -> Row:
    return Row("final_url", {"url": page, "https": True, "status": 200}, "info")


def common(page: str) -> tuple[Row, ...]:
    """What every corpus page has: its https final URL and certificate, and its privacy policy link."""
    return (final(page), TLS, POLICY)


PAGES: tuple[BrowserPage, ...] = (
    BrowserPage(
        name="plain-shop",
        note="No third parties: a session cookie, a first-party script keeping the cart in localStorage.",
        headers=(SESSION_COOKIE,),
        body=page_html('<script src="/static/cart.js"></script>', "<h1>Teas</h1><p>Green, black, white.</p>"),
        files=(("/static/cart.js", "application/javascript", "localStorage.setItem('cart', '[]');"),),
        rows=(
            *common("https://plain-shop.test/"),
            document("https://plain-shop.test/"),
            *request(
                "https://plain-shop.test/static/cart.js", "Script", party="first", chain=("https://plain-shop.test/",)
            ),
            SID_COOKIE,
            jar(
                "sid",
                "plain-shop.test",
                party="first",
                set_by="header",
                setter="https://plain-shop.test/",
                secure=True,
                http_only=True,
                session=True,
            ),
            storage("https://plain-shop.test", "local_storage", ["cart"]),
        ),
        issues=frozenset(),
    ),
    BrowserPage(
        name="gtm-shop",
        note="The GTM snippet only: the container injects gtag.js, which writes _ga cookies, beacons a page_view "
        "and sends a Google Ads remarketing hit whose response sets a DoubleClick cookie.",
        headers=(SESSION_COOKIE,),
        body=page_html(GTM_SNIPPET.replace("GTM-K4X9PQ2", "GTM-SHOP1"), "<h1>Shoes</h1>"),
        rows=(
            *common("https://gtm-shop.test/"),
            document("https://gtm-shop.test/"),
            *request(
                "https://www.googletagmanager.com/gtm.js?id=GTM-SHOP1",
                "Script",
                vendor="Google Tag Manager",
                category="tag_manager",
                chain=("https://gtm-shop.test/",),
            ),
            *request(
                "https://www.googletagmanager.com/gtag/js?id=G-7XK2M9QW4R",
                "Script",
                vendor="Google Tag Manager",
                category="tag_manager",
                chain=(
                    "https://www.googletagmanager.com/gtm.js?id=GTM-SHOP1",
                    "https://gtm-shop.test/",
                ),
            ),
            *request(
                "https://region1.google-analytics.com/g/collect?v=2&tid=G-7XK2M9QW4R&en=page_view",
                "Ping",
                vendor="Google Analytics",
                category="analytics",
                chain=(
                    "https://www.googletagmanager.com/gtag/js?id=G-7XK2M9QW4R",
                    "https://www.googletagmanager.com/gtm.js?id=GTM-SHOP1",
                    "https://gtm-shop.test/",
                ),
                method="POST",
                status=204,
            ),
            *request(
                "https://googleads.g.doubleclick.net/pagead/viewthroughconversion/111222333/?guid=ON&script=0",
                "Image",
                vendor="Google DoubleClick",
                category="advertising",
                chain=(
                    "https://www.googletagmanager.com/gtag/js?id=G-7XK2M9QW4R",
                    "https://www.googletagmanager.com/gtm.js?id=GTM-SHOP1",
                    "https://gtm-shop.test/",
                ),
                reported_chain=("https://gtm-shop.test/",),
            ),
            SID_COOKIE,
            third_party("www.googletagmanager.com", ["script"]),
            inline_reference("www.googletagmanager.com", ["url"], ["https://www.googletagmanager.com/gtm.js?id="]),
            tracker("network", "Google Tag Manager", "tag_manager", "www.googletagmanager.com"),
            tracker("inline", "Google Tag Manager", "tag_manager", None, ids=["GTM-SHOP1"]),
            jar(
                "IDE",
                "doubleclick.net",
                party="third",
                set_by="header",
                setter="https://googleads.g.doubleclick.net/pagead/viewthroughconversion/111222333/?guid=ON&script=0",
                secure=True,
                http_only=True,
                same_site="None",
            ),
            jar(
                "_ga",
                "gtm-shop.test",
                party="first",
                set_by="script",
                setter="https://www.googletagmanager.com/gtag/js?id=G-7XK2M9QW4R",
            ),
            jar(
                "_ga_7XK2M9QW4R",
                "gtm-shop.test",
                party="first",
                set_by="script",
                setter="https://www.googletagmanager.com/gtag/js?id=G-7XK2M9QW4R",
            ),
            jar(
                "sid",
                "gtm-shop.test",
                party="first",
                set_by="header",
                setter="https://gtm-shop.test/",
                secure=True,
                http_only=True,
                session=True,
            ),
            runtime_tracker(
                "Google Analytics",
                "analytics",
                "https://region1.google-analytics.com/g/collect?v=2&tid=G-7XK2M9QW4R&en=page_view",
            ),
            runtime_tracker(
                "Google DoubleClick",
                "advertising",
                "https://googleads.g.doubleclick.net/pagead/viewthroughconversion/111222333/?guid=ON&script=0",
            ),
        ),
        issues=frozenset(
            {
                "advertising_tracker_present",
                "analytics_tracker_present",
                "consent_manager_missing",
                "third_party_scripts",
                "tag_manager_present",
            }
        ),
    ),
    BrowserPage(
        name="gtag-direct",
        note="gtag.js in a tag, configured for GA4 and Google Ads.",
        body=page_html(
            GTAG_WITH_ADS,
            "<h1>Bags</h1>",
        ),
        rows=(
            *common("https://gtag-direct.test/"),
            document("https://gtag-direct.test/"),
            *request(
                "https://www.googletagmanager.com/gtag/js?id=G-7XK2M9QW4R",
                "Script",
                vendor="Google Tag Manager",
                category="tag_manager",
                chain=("https://gtag-direct.test/",),
            ),
            *request(
                "https://region1.google-analytics.com/g/collect?v=2&tid=G-7XK2M9QW4R&en=page_view",
                "Ping",
                vendor="Google Analytics",
                category="analytics",
                chain=(
                    "https://www.googletagmanager.com/gtag/js?id=G-7XK2M9QW4R",
                    "https://gtag-direct.test/",
                ),
                method="POST",
                status=204,
            ),
            *request(
                "https://googleads.g.doubleclick.net/pagead/viewthroughconversion/111222333/?guid=ON&script=0",
                "Image",
                vendor="Google DoubleClick",
                category="advertising",
                chain=("https://www.googletagmanager.com/gtag/js?id=G-7XK2M9QW4R", "https://gtag-direct.test/"),
                reported_chain=("https://gtag-direct.test/",),
            ),
            third_party("www.googletagmanager.com", ["script"]),
            tracker("network", "Google Tag Manager", "tag_manager", "www.googletagmanager.com"),
            tracker("inline", "Google Analytics", "analytics", None, ids=["G-7XK2M9QW4R"]),
            jar(
                "IDE",
                "doubleclick.net",
                party="third",
                set_by="header",
                setter="https://googleads.g.doubleclick.net/pagead/viewthroughconversion/111222333/?guid=ON&script=0",
                secure=True,
                http_only=True,
                same_site="None",
            ),
            jar(
                "_ga",
                "gtag-direct.test",
                party="first",
                set_by="script",
                setter="https://www.googletagmanager.com/gtag/js?id=G-7XK2M9QW4R",
            ),
            jar(
                "_ga_7XK2M9QW4R",
                "gtag-direct.test",
                party="first",
                set_by="script",
                setter="https://www.googletagmanager.com/gtag/js?id=G-7XK2M9QW4R",
            ),
            runtime_tracker(
                "Google Analytics",
                "analytics",
                "https://region1.google-analytics.com/g/collect?v=2&tid=G-7XK2M9QW4R&en=page_view",
            ),
            runtime_tracker(
                "Google DoubleClick",
                "advertising",
                "https://googleads.g.doubleclick.net/pagead/viewthroughconversion/111222333/?guid=ON&script=0",
            ),
        ),
        issues=frozenset(
            {
                "advertising_tracker_present",
                "analytics_tracker_present",
                "consent_manager_missing",
                "tag_manager_present",
                "third_party_scripts",
            }
        ),
    ),
    BrowserPage(
        name="meta-pixel",
        note="The Meta pixel snippet: fbevents.js writes _fbp, loads the pixel's configuration and sends PageView "
        "and AddToCart.",
        body=page_html(META_PIXEL, "<h1>Lamps</h1>"),
        rows=(
            *common("https://meta-pixel.test/"),
            document("https://meta-pixel.test/"),
            *request(
                "https://connect.facebook.net/en_US/fbevents.js",
                "Script",
                vendor="Meta Pixel",
                category="advertising",
                chain=("https://meta-pixel.test/",),
            ),
            *request(
                "https://connect.facebook.net/signals/config/1234567890123456?v=2.9.150",
                "Script",
                vendor="Meta Pixel",
                category="advertising",
                chain=(
                    "https://connect.facebook.net/en_US/fbevents.js",
                    "https://meta-pixel.test/",
                ),
            ),
            *request(
                "https://www.facebook.com/tr?id=1234567890123456&ev=PageView",
                "Image",
                vendor="Meta Pixel",
                category="advertising",
                chain=("https://connect.facebook.net/en_US/fbevents.js", "https://meta-pixel.test/"),
                reported_chain=("https://meta-pixel.test/",),
            ),
            *request(
                "https://www.facebook.com/tr?id=1234567890123456&ev=AddToCart",
                "Image",
                vendor="Meta Pixel",
                category="advertising",
                chain=("https://connect.facebook.net/en_US/fbevents.js", "https://meta-pixel.test/"),
                reported_chain=("https://meta-pixel.test/",),
            ),
            third_party("connect.facebook.net", ["script"]),
            inline_reference("connect.facebook.net", ["url"], ["https://connect.facebook.net/en_US/fbevents.js"]),
            tracker("network", "Meta Pixel", "advertising", "connect.facebook.net"),
            tracker("inline", "Meta Pixel", "advertising", None, ids=["1234567890123456"]),
            jar(
                "_fbp",
                "meta-pixel.test",
                party="first",
                set_by="script",
                setter="https://connect.facebook.net/en_US/fbevents.js",
            ),
            runtime_tracker("Meta Pixel", "advertising", "https://www.facebook.com/tr?id=1234567890123456&ev=PageView"),
        ),
        issues=frozenset({"advertising_tracker_present", "consent_manager_missing", "third_party_scripts"}),
    ),
    BrowserPage(
        name="gtm-meta",
        note="A GTM container holding GA4 and, as a custom HTML tag, the Meta pixel: Meta appears only at run time.",
        body=page_html(GTM_SNIPPET.replace("GTM-K4X9PQ2", "GTM-META1"), "<h1>Chairs</h1>"),
        rows=(
            *common("https://gtm-meta.test/"),
            document("https://gtm-meta.test/"),
            *request(
                "https://www.googletagmanager.com/gtm.js?id=GTM-META1",
                "Script",
                vendor="Google Tag Manager",
                category="tag_manager",
                chain=("https://gtm-meta.test/",),
            ),
            *request(
                "https://www.googletagmanager.com/gtag/js?id=G-M3T4P1X8QZ",
                "Script",
                vendor="Google Tag Manager",
                category="tag_manager",
                chain=(
                    "https://www.googletagmanager.com/gtm.js?id=GTM-META1",
                    "https://gtm-meta.test/",
                ),
            ),
            *request(
                "https://connect.facebook.net/en_US/fbevents.js",
                "Script",
                vendor="Meta Pixel",
                category="advertising",
                chain=(
                    "https://www.googletagmanager.com/gtm.js?id=GTM-META1",
                    "https://gtm-meta.test/",
                ),
            ),
            *request(
                "https://region1.google-analytics.com/g/collect?v=2&tid=G-M3T4P1X8QZ&en=page_view",
                "Ping",
                vendor="Google Analytics",
                category="analytics",
                chain=(
                    "https://www.googletagmanager.com/gtag/js?id=G-M3T4P1X8QZ",
                    "https://www.googletagmanager.com/gtm.js?id=GTM-META1",
                    "https://gtm-meta.test/",
                ),
                method="POST",
                status=204,
            ),
            *request(
                "https://connect.facebook.net/signals/config/2223334445556667?v=2.9.150",
                "Script",
                vendor="Meta Pixel",
                category="advertising",
                chain=(
                    "https://connect.facebook.net/en_US/fbevents.js",
                    "https://www.googletagmanager.com/gtm.js?id=GTM-META1",
                    "https://gtm-meta.test/",
                ),
            ),
            *request(
                "https://www.facebook.com/tr?id=2223334445556667&ev=PageView",
                "Image",
                vendor="Meta Pixel",
                category="advertising",
                chain=(
                    "https://connect.facebook.net/en_US/fbevents.js",
                    "https://www.googletagmanager.com/gtm.js?id=GTM-META1",
                    "https://gtm-meta.test/",
                ),
                reported_chain=("https://gtm-meta.test/",),
            ),
            *request(
                "https://www.facebook.com/tr?id=2223334445556667&ev=ViewContent",
                "Image",
                vendor="Meta Pixel",
                category="advertising",
                chain=(
                    "https://connect.facebook.net/en_US/fbevents.js",
                    "https://www.googletagmanager.com/gtm.js?id=GTM-META1",
                    "https://gtm-meta.test/",
                ),
                reported_chain=("https://gtm-meta.test/",),
            ),
            third_party("connect.facebook.net", ["script"]),
            third_party("www.googletagmanager.com", ["script"]),
            inline_reference("www.googletagmanager.com", ["url"], ["https://www.googletagmanager.com/gtm.js?id="]),
            tracker("network", "Meta Pixel", "advertising", "connect.facebook.net"),
            tracker("network", "Google Tag Manager", "tag_manager", "www.googletagmanager.com"),
            tracker("inline", "Google Tag Manager", "tag_manager", None, ids=["GTM-META1"]),
            jar(
                "_fbp",
                "gtm-meta.test",
                party="first",
                set_by="script",
                setter="https://connect.facebook.net/en_US/fbevents.js",
            ),
            jar(
                "_ga",
                "gtm-meta.test",
                party="first",
                set_by="script",
                setter="https://www.googletagmanager.com/gtag/js?id=G-M3T4P1X8QZ",
            ),
            jar(
                "_ga_M3T4P1X8QZ",
                "gtm-meta.test",
                party="first",
                set_by="script",
                setter="https://www.googletagmanager.com/gtag/js?id=G-M3T4P1X8QZ",
            ),
            runtime_tracker(
                "Google Analytics",
                "analytics",
                "https://region1.google-analytics.com/g/collect?v=2&tid=G-M3T4P1X8QZ&en=page_view",
            ),
            runtime_tracker("Meta Pixel", "advertising", "https://www.facebook.com/tr?id=2223334445556667&ev=PageView"),
        ),
        issues=frozenset(
            {
                "advertising_tracker_present",
                "analytics_tracker_present",
                "consent_manager_missing",
                "tag_manager_present",
                "third_party_scripts",
            }
        ),
    ),
    BrowserPage(
        name="hotjar",
        note="Hotjar's inline loader: its cookies and storage, then the recording module, which uploads.",
        body=page_html(HOTJAR_SNIPPET, "<h1>Rugs</h1>"),
        rows=(
            *common("https://hotjar.test/"),
            document("https://hotjar.test/"),
            *request(
                "https://static.hotjar.com/c/hotjar-3456789.js?sv=6",
                "Script",
                vendor="Hotjar",
                category="session_recording",
                chain=("https://hotjar.test/",),
            ),
            *request(
                "https://script.hotjar.com/modules.8a9b7c.js",
                "Script",
                vendor="Hotjar",
                category="session_recording",
                chain=(
                    "https://static.hotjar.com/c/hotjar-3456789.js?sv=6",
                    "https://hotjar.test/",
                ),
            ),
            *request(
                "https://in.hotjar.com/api/v2/client/sites/3456789/visit-data?sv=6",
                "Fetch",
                vendor="Hotjar",
                category="session_recording",
                chain=(
                    "https://script.hotjar.com/modules.8a9b7c.js",
                    "https://static.hotjar.com/c/hotjar-3456789.js?sv=6",
                    "https://hotjar.test/",
                ),
                method="POST",
            ),
            third_party("script.hotjar.com", ["script"]),
            third_party("static.hotjar.com", ["script"]),
            inline_reference("static.hotjar.com", ["url"], ["https://static.hotjar.com/c/hotjar-"]),
            tracker("network", "Hotjar", "session_recording", "script.hotjar.com"),
            tracker("network", "Hotjar", "session_recording", "static.hotjar.com"),
            tracker("inline", "Hotjar", "session_recording", None, ids=["3456789"]),
            jar(
                "_hjSessionUser_3456789",
                "hotjar.test",
                party="first",
                set_by="script",
                setter="https://static.hotjar.com/c/hotjar-3456789.js?sv=6",
            ),
            jar(
                "_hjSession_3456789",
                "hotjar.test",
                party="first",
                set_by="script",
                setter="https://static.hotjar.com/c/hotjar-3456789.js?sv=6",
            ),
            storage("https://hotjar.test", "local_storage", ["_hjSessionUser_3456789"]),
            storage("https://hotjar.test", "session_storage", ["_hjRecordingLastActivity"]),
            session_recording("https://script.hotjar.com/modules.8a9b7c.js", "Hotjar"),
            runtime_tracker(
                "Hotjar", "session_recording", "https://in.hotjar.com/api/v2/client/sites/3456789/visit-data?sv=6"
            ),
        ),
        issues=frozenset(
            {"session_recording_observed", "session_recorder_present", "consent_manager_missing", "third_party_scripts"}
        ),
    ),
    BrowserPage(
        name="clarity",
        note="Microsoft Clarity's inline loader: the tag loads the recorder, which sets its cookies, uploads and "
        "syncs a MUID cookie on clarity.ms.",
        body=page_html(CLARITY_SNIPPET, "<h1>Mugs</h1>"),
        rows=(
            *common("https://clarity.test/"),
            document("https://clarity.test/"),
            *request(
                "https://www.clarity.ms/tag/k3x9m2p7q1",
                "Script",
                vendor="Microsoft Clarity",
                category="session_recording",
                chain=("https://clarity.test/",),
            ),
            *request(
                "https://scripts.clarity.ms/0.7.34/clarity.js",
                "Script",
                vendor="Microsoft Clarity",
                category="session_recording",
                chain=(
                    "https://www.clarity.ms/tag/k3x9m2p7q1",
                    "https://clarity.test/",
                ),
            ),
            *request(
                "https://k.clarity.ms/collect",
                "Fetch",
                vendor="Microsoft Clarity",
                category="session_recording",
                chain=(
                    "https://scripts.clarity.ms/0.7.34/clarity.js",
                    "https://www.clarity.ms/tag/k3x9m2p7q1",
                    "https://clarity.test/",
                ),
                method="POST",
            ),
            *request(
                "https://c.clarity.ms/c.gif",
                "Image",
                vendor="Microsoft Clarity",
                category="session_recording",
                chain=(
                    "https://scripts.clarity.ms/0.7.34/clarity.js",
                    "https://www.clarity.ms/tag/k3x9m2p7q1",
                    "https://clarity.test/",
                ),
                reported_chain=("https://clarity.test/",),
            ),
            third_party("scripts.clarity.ms", ["script"]),
            third_party("www.clarity.ms", ["script"]),
            inline_reference("www.clarity.ms", ["url"], ["https://www.clarity.ms/tag/"]),
            tracker("network", "Microsoft Clarity", "session_recording", "scripts.clarity.ms"),
            tracker("network", "Microsoft Clarity", "session_recording", "www.clarity.ms"),
            tracker("inline", "Microsoft Clarity", "session_recording", None, ids=["k3x9m2p7q1"]),
            jar(
                "MUID",
                "clarity.ms",
                party="third",
                set_by="header",
                setter="https://c.clarity.ms/c.gif",
                secure=True,
                same_site="None",
            ),
            jar(
                "_clck",
                "clarity.test",
                party="first",
                set_by="script",
                setter="https://scripts.clarity.ms/0.7.34/clarity.js",
            ),
            jar(
                "_clsk",
                "clarity.test",
                party="first",
                set_by="script",
                setter="https://scripts.clarity.ms/0.7.34/clarity.js",
            ),
            session_recording("https://scripts.clarity.ms/0.7.34/clarity.js", "Microsoft Clarity"),
            runtime_tracker("Microsoft Clarity", "session_recording", "https://k.clarity.ms/collect"),
            runtime_tracker("Microsoft Clarity", "session_recording", "https://c.clarity.ms/c.gif"),
        ),
        issues=frozenset(
            {"session_recording_observed", "session_recorder_present", "consent_manager_missing", "third_party_scripts"}
        ),
    ),
    BrowserPage(
        name="fullstory",
        note="FullStory's loader names its host only inside script text; the recorder sets fs_uid and uploads.",
        body=page_html(FULLSTORY_LOADER, "<h1>Pens</h1>"),
        rows=(
            *common("https://fullstory.test/"),
            document("https://fullstory.test/"),
            *request(
                "https://edge.fullstory.com/s/fs.js",
                "Script",
                vendor="FullStory",
                category="session_recording",
                chain=("https://fullstory.test/",),
            ),
            *request(
                "https://rs.fullstory.com/rec/page?OrgId=o-1QX2Y3-na1",
                "Fetch",
                vendor="FullStory",
                category="session_recording",
                chain=(
                    "https://edge.fullstory.com/s/fs.js",
                    "https://fullstory.test/",
                ),
                method="POST",
            ),
            third_party("edge.fullstory.com", ["script"]),
            inline_reference("edge.fullstory.com", ["host"], ["https://edge.fullstory.com/s/fs.js"]),
            inline_reference("fullstory.com", ["host"], ["https://fullstory.com/"]),
            tracker("network", "FullStory", "session_recording", "edge.fullstory.com"),
            tracker("inline_reference", "FullStory", "session_recording", "fullstory.com"),
            tracker("inline", "FullStory", "session_recording", None, ids=["o-1QX2Y3-na1"]),
            jar(
                "fs_uid",
                "fullstory.test",
                party="first",
                set_by="script",
                setter="https://edge.fullstory.com/s/fs.js",
                same_site="Strict",
            ),
            session_recording("https://edge.fullstory.com/s/fs.js", "FullStory"),
            runtime_tracker("FullStory", "session_recording", "https://rs.fullstory.com/rec/page?OrgId=o-1QX2Y3-na1"),
        ),
        issues=frozenset(
            {"session_recording_observed", "session_recorder_present", "consent_manager_missing", "third_party_scripts"}
        ),
    ),
    BrowserPage(
        name="signup-capture",
        note="A sign-up form with a form-analytics script that sends the typed e-mail (base64, on each keystroke) "
        "and the password (as typed, on leaving its field) before any submit.",
        body=page_html(f'<script src="{FORMCAPTURE}"></script>', SIGNUP_FORM),
        rows=(
            *common("https://signup-capture.test/"),
            document("https://signup-capture.test/"),
            *request("https://cdn.formcapture.test/capture.js", "Script", chain=("https://signup-capture.test/",)),
            *(
                request(
                    "https://collect.formcapture.test/k",
                    "Fetch",
                    chain=(
                        "https://cdn.formcapture.test/capture.js",
                        "https://signup-capture.test/",
                    ),
                    method="POST",
                )
                * 24
            ),
            *request(
                Prefix("https://collect.formcapture.test/p?v="),
                "Image",
                chain=("https://cdn.formcapture.test/capture.js", "https://signup-capture.test/"),
                reported_chain=(),
            ),
            third_party("cdn.formcapture.test", ["script"]),
            form("https://signup-capture.test/account/create", ["email", "password"], 2),
            key_logging("input[name=email]", "collect.formcapture.test", ["base64", "base64url"]),
            key_logging("input[name=password]", "collect.formcapture.test", ["form_encoded", "raw", "url_encoded"]),
        ),
        issues=frozenset({"third_party_scripts", "key_logging"}),
    ),
    BrowserPage(
        name="checkout-antifraud",
        note="A checkout with an anti-fraud device check: a canvas drawn with text, read back, hashed and posted.",
        body=page_html(f'<script src="{ANTIFRAUD}"></script>', "<h1>Checkout</h1>"),
        rows=(
            *common("https://checkout-antifraud.test/"),
            document("https://checkout-antifraud.test/"),
            *request(
                "https://device.antifraud.test/v1/device.js", "Script", chain=("https://checkout-antifraud.test/",)
            ),
            *request(
                "https://device.antifraud.test/v1/fp",
                "Fetch",
                chain=(
                    "https://device.antifraud.test/v1/device.js",
                    "https://checkout-antifraud.test/",
                ),
                method="POST",
            ),
            third_party("device.antifraud.test", ["script"]),
            fingerprinting("canvas", "https://device.antifraud.test/v1/device.js"),
        ),
        issues=frozenset({"third_party_scripts", "canvas_fingerprinting"}),
    ),
    BrowserPage(
        name="fingerprinted",
        note="A fingerprinting library: canvas, fonts, WebGL's GPU name, offline audio, a navigator sweep.",
        body=page_html('<script src="https://fp.metrics.test/fp.js"></script>', "<h1>Watches</h1>"),
        rows=(
            *common("https://fingerprinted.test/"),
            document("https://fingerprinted.test/"),
            *request("https://fp.metrics.test/fp.js", "Script", chain=("https://fingerprinted.test/",)),
            third_party("fp.metrics.test", ["script"]),
            fingerprinting("audio", "https://fp.metrics.test/fp.js"),
            fingerprinting("canvas", "https://fp.metrics.test/fp.js"),
            fingerprinting("font_enumeration", "https://fp.metrics.test/fp.js"),
            fingerprinting("navigator_sweep", "https://fp.metrics.test/fp.js"),
            fingerprinting("webgl", "https://fp.metrics.test/fp.js"),
        ),
        issues=frozenset({"device_fingerprinting", "third_party_scripts", "canvas_fingerprinting"}),
    ),
    BrowserPage(
        name="onetrust-tcf",
        note="OneTrust with the IAB TCF and GPP APIs (CMP id 28), and gtag.js loading GA4 and Google Ads before any "
        "answer: the remarketing hit's DoubleClick cookie is set before consent.",
        body=page_html(
            f'<script src="{OT_STUB}" data-domain-script="0f1e2d3c"></script>' + GTAG_WITH_ADS,
            "<h1>Bikes</h1>",
        ),
        rows=(
            *common("https://onetrust-tcf.test/"),
            document("https://onetrust-tcf.test/"),
            *request(
                "https://cdn.cookielaw.org/scripttemplates/otSDKStub.js",
                "Script",
                chain=("https://onetrust-tcf.test/",),
            ),
            *request(
                "https://www.googletagmanager.com/gtag/js?id=G-7XK2M9QW4R",
                "Script",
                vendor="Google Tag Manager",
                category="tag_manager",
                chain=("https://onetrust-tcf.test/",),
            ),
            *request(
                "https://region1.google-analytics.com/g/collect?v=2&tid=G-7XK2M9QW4R&en=page_view",
                "Ping",
                vendor="Google Analytics",
                category="analytics",
                chain=(
                    "https://www.googletagmanager.com/gtag/js?id=G-7XK2M9QW4R",
                    "https://onetrust-tcf.test/",
                ),
                method="POST",
                status=204,
            ),
            *request(
                "https://googleads.g.doubleclick.net/pagead/viewthroughconversion/111222333/?guid=ON&script=0",
                "Image",
                vendor="Google DoubleClick",
                category="advertising",
                chain=("https://www.googletagmanager.com/gtag/js?id=G-7XK2M9QW4R", "https://onetrust-tcf.test/"),
                reported_chain=("https://onetrust-tcf.test/",),
            ),
            third_party("cdn.cookielaw.org", ["script"]),
            third_party("www.googletagmanager.com", ["script"]),
            tracker("network", "Google Tag Manager", "tag_manager", "www.googletagmanager.com"),
            tracker("inline", "Google Analytics", "analytics", None, ids=["G-7XK2M9QW4R"]),
            consent_manager(
                "OneTrust",
                ["cmp_id", "global", "host"],
                tcf={"cmp_id": 28, "cmp_status": "loaded", "display_status": "visible", "gdpr_applies": True},
                gpp={"cmp_id": 28, "cmp_status": "loaded", "display_status": "visible", "signal_status": "not ready"},
                tcf_api=True,
                gpp_api=True,
                globals_=["OneTrust", "Optanon"],
            ),
            jar(
                "__cf_bm",
                "cookielaw.org",
                party="third",
                set_by="header",
                setter="https://cdn.cookielaw.org/scripttemplates/otSDKStub.js",
                secure=True,
                same_site="None",
                session=True,
            ),
            jar(
                "IDE",
                "doubleclick.net",
                party="third",
                set_by="header",
                setter="https://googleads.g.doubleclick.net/pagead/viewthroughconversion/111222333/?guid=ON&script=0",
                secure=True,
                http_only=True,
                same_site="None",
            ),
            jar(
                "_ga",
                "onetrust-tcf.test",
                party="first",
                set_by="script",
                setter="https://www.googletagmanager.com/gtag/js?id=G-7XK2M9QW4R",
            ),
            jar(
                "_ga_7XK2M9QW4R",
                "onetrust-tcf.test",
                party="first",
                set_by="script",
                setter="https://www.googletagmanager.com/gtag/js?id=G-7XK2M9QW4R",
            ),
            runtime_tracker(
                "Google Analytics",
                "analytics",
                "https://region1.google-analytics.com/g/collect?v=2&tid=G-7XK2M9QW4R&en=page_view",
            ),
            runtime_tracker(
                "Google DoubleClick",
                "advertising",
                "https://googleads.g.doubleclick.net/pagead/viewthroughconversion/111222333/?guid=ON&script=0",
            ),
        ),
        issues=frozenset(
            {
                "advertising_tracker_present",
                "analytics_tracker_present",
                "tag_manager_present",
                "third_party_cookies_before_consent",
                "third_party_scripts",
                "trackers_before_consent",
            }
        ),
    ),
    BrowserPage(
        name="cookiebot-blocking",
        note="Cookiebot with TCF (CMP id 134), holding GA back until consent (type=text/plain): nothing tracks "
        "before an answer.",
        body=page_html(
            f'<script id="Cookiebot" src="{COOKIEBOT}" data-cbid="5f0e6c2a" data-framework="TCFv2.2"></script>'
            '<script type="text/plain" data-cookieconsent="statistics" '
            'src="https://www.googletagmanager.com/gtag/js?id=G-7XK2M9QW4R"></script>',
            "<h1>Kites</h1>",
        ),
        rows=(
            *common("https://cookiebot-blocking.test/"),
            document("https://cookiebot-blocking.test/"),
            *request("https://consent.cookiebot.com/uc.js", "Script", chain=("https://cookiebot-blocking.test/",)),
            *request(
                "https://consentcdn.cookiebot.com/consentconfig/5f0e6c2a/configuration.js",
                "Script",
                chain=(
                    "https://consent.cookiebot.com/uc.js",
                    "https://cookiebot-blocking.test/",
                ),
            ),
            third_party("consent.cookiebot.com", ["script"]),
            third_party("consentcdn.cookiebot.com", ["script"]),
            # The script Cookiebot holds back (type=text/plain) counts as a tag, but never loads.
            spurious("third_party", {"host": "www.googletagmanager.com", "tags": ["script"]}),
            spurious(
                "tracker", {"source": "network", "vendor": "Google Tag Manager", "host": "www.googletagmanager.com"}
            ),
            consent_manager(
                "Cookiebot",
                ["cmp_id", "global", "host"],
                tcf={"cmp_id": 134, "cmp_status": "loaded", "display_status": "visible", "gdpr_applies": True},
                tcf_api=True,
                globals_=["Cookiebot"],
            ),
        ),
        issues=frozenset({"third_party_scripts"}),
        spurious_issues=frozenset({"tag_manager_present"}),
    ),
    BrowserPage(
        name="usercentrics-hotjar",
        note="Usercentrics (no IAB API, its settings in localStorage) and Hotjar recording before any answer.",
        body=page_html(
            f'<script id="usercentrics-cmp" src="{USERCENTRICS}" data-settings-id="Ab3xYz9"></script>' + HOTJAR_SNIPPET,
            "<h1>Hats</h1>",
        ),
        rows=(
            *common("https://usercentrics-hotjar.test/"),
            document("https://usercentrics-hotjar.test/"),
            *request(
                "https://app.usercentrics.eu/browser-ui/latest/loader.js",
                "Script",
                chain=("https://usercentrics-hotjar.test/",),
            ),
            *request(
                "https://api.usercentrics.eu/settings/Ab3xYz9/latest/languages.json",
                "Fetch",
                chain=(
                    "https://app.usercentrics.eu/browser-ui/latest/loader.js",
                    "https://usercentrics-hotjar.test/",
                ),
            ),
            *request(
                "https://static.hotjar.com/c/hotjar-3456789.js?sv=6",
                "Script",
                vendor="Hotjar",
                category="session_recording",
                chain=("https://usercentrics-hotjar.test/",),
            ),
            *request(
                "https://script.hotjar.com/modules.8a9b7c.js",
                "Script",
                vendor="Hotjar",
                category="session_recording",
                chain=(
                    "https://static.hotjar.com/c/hotjar-3456789.js?sv=6",
                    "https://usercentrics-hotjar.test/",
                ),
            ),
            *request(
                "https://in.hotjar.com/api/v2/client/sites/3456789/visit-data?sv=6",
                "Fetch",
                vendor="Hotjar",
                category="session_recording",
                chain=(
                    "https://script.hotjar.com/modules.8a9b7c.js",
                    "https://static.hotjar.com/c/hotjar-3456789.js?sv=6",
                    "https://usercentrics-hotjar.test/",
                ),
                method="POST",
            ),
            third_party("app.usercentrics.eu", ["script"]),
            third_party("script.hotjar.com", ["script"]),
            third_party("static.hotjar.com", ["script"]),
            inline_reference("static.hotjar.com", ["url"], ["https://static.hotjar.com/c/hotjar-"]),
            tracker("network", "Hotjar", "session_recording", "script.hotjar.com"),
            tracker("network", "Hotjar", "session_recording", "static.hotjar.com"),
            tracker("inline", "Hotjar", "session_recording", None, ids=["3456789"]),
            consent_manager("Usercentrics", ["global", "host"], globals_=["UC_UI"]),
            jar(
                "_hjSessionUser_3456789",
                "usercentrics-hotjar.test",
                party="first",
                set_by="script",
                setter="https://static.hotjar.com/c/hotjar-3456789.js?sv=6",
            ),
            jar(
                "_hjSession_3456789",
                "usercentrics-hotjar.test",
                party="first",
                set_by="script",
                setter="https://static.hotjar.com/c/hotjar-3456789.js?sv=6",
            ),
            storage(
                "https://usercentrics-hotjar.test",
                "local_storage",
                ["_hjSessionUser_3456789", "uc_settings", "uc_ui_version"],
            ),
            storage("https://usercentrics-hotjar.test", "session_storage", ["_hjRecordingLastActivity"]),
            session_recording("https://script.hotjar.com/modules.8a9b7c.js", "Hotjar"),
            runtime_tracker(
                "Hotjar", "session_recording", "https://in.hotjar.com/api/v2/client/sites/3456789/visit-data?sv=6"
            ),
        ),
        issues=frozenset(
            {"session_recording_observed", "session_recorder_present", "third_party_scripts", "trackers_before_consent"}
        ),
    ),
    BrowserPage(
        name="proxied-cmp",
        note="A consent manager served from the site itself whose TCF and GPP APIs answer CMP id 7 (Didomi): "
        "only the id names it.",
        body=page_html('<script src="/consent/sdk.js"></script>', "<h1>Socks</h1>"),
        files=(("/consent/sdk.js", "application/javascript", PROXIED_DIDOMI),),
        rows=(
            *common("https://proxied-cmp.test/"),
            document("https://proxied-cmp.test/"),
            *request(
                "https://proxied-cmp.test/consent/sdk.js", "Script", party="first", chain=("https://proxied-cmp.test/",)
            ),
            consent_manager(
                "Didomi",
                ["cmp_id"],
                tcf={"cmp_id": 7, "cmp_status": "loaded", "display_status": "visible", "gdpr_applies": True},
                gpp={"cmp_id": 7, "cmp_status": "loaded", "display_status": "visible", "signal_status": "not ready"},
                tcf_api=True,
                gpp_api=True,
            ),
        ),
        issues=frozenset(),
    ),
    BrowserPage(
        name="inhouse-cmp",
        note="An in-house consent manager answering TCF with an id the IAB list does not hold, and a Meta pixel "
        "that does not wait for it.",
        body=page_html('<script src="/consent/cmp.js"></script>' + META_PIXEL, "<h1>Cups</h1>"),
        files=(("/consent/cmp.js", "application/javascript", INHOUSE_CMP),),
        rows=(
            *common("https://inhouse-cmp.test/"),
            document("https://inhouse-cmp.test/"),
            *request(
                "https://inhouse-cmp.test/consent/cmp.js", "Script", party="first", chain=("https://inhouse-cmp.test/",)
            ),
            *request(
                "https://connect.facebook.net/en_US/fbevents.js",
                "Script",
                vendor="Meta Pixel",
                category="advertising",
                chain=("https://inhouse-cmp.test/",),
            ),
            *request(
                "https://connect.facebook.net/signals/config/1234567890123456?v=2.9.150",
                "Script",
                vendor="Meta Pixel",
                category="advertising",
                chain=(
                    "https://connect.facebook.net/en_US/fbevents.js",
                    "https://inhouse-cmp.test/",
                ),
            ),
            *request(
                "https://www.facebook.com/tr?id=1234567890123456&ev=PageView",
                "Image",
                vendor="Meta Pixel",
                category="advertising",
                chain=("https://connect.facebook.net/en_US/fbevents.js", "https://inhouse-cmp.test/"),
                reported_chain=("https://inhouse-cmp.test/",),
            ),
            *request(
                "https://www.facebook.com/tr?id=1234567890123456&ev=AddToCart",
                "Image",
                vendor="Meta Pixel",
                category="advertising",
                chain=("https://connect.facebook.net/en_US/fbevents.js", "https://inhouse-cmp.test/"),
                reported_chain=("https://inhouse-cmp.test/",),
            ),
            third_party("connect.facebook.net", ["script"]),
            inline_reference("connect.facebook.net", ["url"], ["https://connect.facebook.net/en_US/fbevents.js"]),
            tracker("network", "Meta Pixel", "advertising", "connect.facebook.net"),
            tracker("inline", "Meta Pixel", "advertising", None, ids=["1234567890123456"]),
            consent_manager(
                None,
                ["api"],
                tcf={"cmp_id": 4242, "cmp_status": "loaded", "display_status": "visible", "gdpr_applies": True},
                tcf_api=True,
            ),
            jar(
                "_fbp",
                "inhouse-cmp.test",
                party="first",
                set_by="script",
                setter="https://connect.facebook.net/en_US/fbevents.js",
            ),
            runtime_tracker("Meta Pixel", "advertising", "https://www.facebook.com/tr?id=1234567890123456&ev=PageView"),
        ),
        issues=frozenset({"trackers_before_consent", "advertising_tracker_present", "third_party_scripts"}),
    ),
    BrowserPage(
        name="sourcepoint-gpp",
        note="Sourcepoint's US wrapper (GPP only, CMP id 6) and the TikTok pixel, loaded by an inline loader.",
        body=page_html(f'<script src="{SOURCEPOINT}"></script>' + TIKTOK_LOADER, "<h1>Skates</h1>"),
        rows=(
            *common("https://sourcepoint-gpp.test/"),
            document("https://sourcepoint-gpp.test/"),
            *request(
                "https://cdn.privacy-mgmt.com/unified/wrapperMessagingWithoutDetection.js",
                "Script",
                chain=("https://sourcepoint-gpp.test/",),
            ),
            *request(
                "https://analytics.tiktok.com/i18n/pixel/events.js?sdkid=C9ABCDEF0123456789GH&lib=ttq",
                "Script",
                vendor="TikTok Pixel",
                category="advertising",
                chain=("https://sourcepoint-gpp.test/",),
            ),
            *request(
                "https://analytics.tiktok.com/api/v2/pixel",
                "Fetch",
                vendor="TikTok Pixel",
                category="advertising",
                chain=(
                    "https://analytics.tiktok.com/i18n/pixel/events.js?sdkid=C9ABCDEF0123456789GH&lib=ttq",
                    "https://sourcepoint-gpp.test/",
                ),
                method="POST",
            ),
            third_party("analytics.tiktok.com", ["script"]),
            third_party("cdn.privacy-mgmt.com", ["script"]),
            inline_reference(
                "analytics.tiktok.com", ["url"], ["https://analytics.tiktok.com/i18n/pixel/events.js?sdkid="]
            ),
            tracker("network", "TikTok Pixel", "advertising", "analytics.tiktok.com"),
            tracker("inline", "TikTok Pixel", "advertising", None, ids=["C9ABCDEF0123456789GH"]),
            consent_manager(
                "Sourcepoint",
                ["cmp_id", "global", "host"],
                gpp={"cmp_id": 6, "cmp_status": "loaded", "display_status": "visible", "signal_status": "not ready"},
                gpp_api=True,
                globals_=["_sp_"],
            ),
            jar(
                "_ttp",
                "sourcepoint-gpp.test",
                party="first",
                set_by="script",
                setter="https://analytics.tiktok.com/i18n/pixel/events.js?sdkid=C9ABCDEF0123456789GH&lib=ttq",
            ),
        ),
        issues=frozenset({"trackers_before_consent", "advertising_tracker_present", "third_party_scripts"}),
    ),
    BrowserPage(
        name="named-not-loaded",
        note="Hosts named only inside inline script text and never loaded: a chat widget loaded on click (nothing "
        "is clicked) and a reviews widget's configuration.",
        body=page_html(
            """<script>window.reviewsConfig = {api: 'https://api.trustedreviews.test/v1/shop',
widget: 'https://cdn.trustedreviews.test/widget.js'};
document.addEventListener('DOMContentLoaded', function () {
  document.getElementById('chat').addEventListener('click', function () {
    var s = document.createElement('script'); s.src = 'https://widget.intercom.io/widget/abc123';
    document.body.appendChild(s);
  });
});</script>""",
            '<h1>Clocks</h1><button id="chat">Chat with us</button>',
        ),
        rows=(
            *common("https://named-not-loaded.test/"),
            document("https://named-not-loaded.test/"),
            inline_reference("api.trustedreviews.test", ["url"], ["https://api.trustedreviews.test/v1/shop"]),
            inline_reference("cdn.trustedreviews.test", ["url"], ["https://cdn.trustedreviews.test/widget.js"]),
            inline_reference("widget.intercom.io", ["url"], ["https://widget.intercom.io/widget/abc123"]),
            tracker("inline_reference", "Intercom", "marketing", "widget.intercom.io"),
        ),
        issues=frozenset({"tracker_present"}),
    ),
    BrowserPage(
        name="ad-frame",
        note="An ad network's frame: its script writes the network's cookie and storage in the frame and loads an "
        "impression pixel.",
        body=page_html(body=f'<h1>Vases</h1><iframe src="{AD_FRAME}?slot=top" width="300" height="250"></iframe>'),
        rows=(
            *common("https://ad-frame.test/"),
            document("https://ad-frame.test/"),
            *request(
                "https://ads.adnetwork.test/frame.html?slot=top",
                "Document",
                category="unclassified",
                chain=("https://ad-frame.test/",),
            ),
            *request(
                "https://ads.adnetwork.test/imp?slot=top",
                "Image",
                category="unclassified",
                chain=(
                    "https://ads.adnetwork.test/frame.html?slot=top",
                    "https://ad-frame.test/",
                ),
            ),
            third_party("ads.adnetwork.test", ["iframe"]),
            tracker("network", None, "unclassified", "ads.adnetwork.test"),
            jar(
                "adn_uid",
                "ads.adnetwork.test",
                party="third",
                set_by="script",
                setter="https://ads.adnetwork.test/frame.html?slot=top",
                secure=True,
                same_site="None",
            ),
            storage("https://ads.adnetwork.test", "indexed_db", ["adn-cache"], party="third"),
            storage("https://ads.adnetwork.test", "local_storage", ["adn_freq"], party="third"),
        ),
        issues=frozenset({"tracker_present", "consent_manager_missing", "third_party_content"}),
    ),
    BrowserPage(
        name="newsletter-clean",
        note="No third parties: a newsletter form, a first-party script using sessionStorage and IndexedDB.",
        headers=(SESSION_COOKIE,),
        body=page_html('<script src="/static/app.js"></script>', NEWSLETTER_FORM),
        files=(
            (
                "/static/app.js",
                "application/javascript",
                "sessionStorage.setItem('viewed', '1'); indexedDB.open('shop-offline');",
            ),
        ),
        rows=(
            *common("https://newsletter-clean.test/"),
            document("https://newsletter-clean.test/"),
            *request(
                "https://newsletter-clean.test/static/app.js",
                "Script",
                party="first",
                chain=("https://newsletter-clean.test/",),
            ),
            SID_COOKIE,
            form("https://newsletter-clean.test/newsletter", ["email"], 1),
            jar(
                "sid",
                "newsletter-clean.test",
                party="first",
                set_by="header",
                setter="https://newsletter-clean.test/",
                secure=True,
                http_only=True,
                session=True,
            ),
            storage("https://newsletter-clean.test", "indexed_db", ["shop-offline"]),
            storage("https://newsletter-clean.test", "session_storage", ["viewed"]),
        ),
        issues=frozenset(),
    ),
)
