"""The corpus pages: every evidence kind and every rule, each page with its expected rows and issue codes."""

from __future__ import annotations

from tests.corpus.model import CorpusPage, Row, missed, spurious

POLICY_LINK = '<footer><a href="/privacy">Privacy policy</a></footer>'
POLICY = Row("privacy_policy", {"found": True, "same_site": True, "text": "Privacy policy"}, "info")
TLS_OK = Row("tls_certificate", {"hop": 0, "protocol": "TLSv1.3", "expired": False}, "info")


def page_html(head: str = "", body: str = "", footer: str = POLICY_LINK) -> str:
    return f"<!doctype html><html><head><title>Corpus</title>{head}</head><body>{body}{footer}</body></html>"


def third_party(host: str, tags: list[str], category: str | None = None) -> Row:
    return Row("third_party", {"host": host, "tags": tags, "category": category})


def network_tracker(host: str, vendor: str | None, category: str, matched: bool) -> Row:
    details = {"source": "network", "host": host, "vendor": vendor, "category": category, "matched": matched}
    return Row("tracker", details)


def inline_tracker(vendor: str, category: str, ids: list[str]) -> Row:
    return Row("tracker", {"source": "inline", "vendor": vendor, "category": category, "ids": ids})


def inline_reference(host: str, written_as: list[str], urls: list[str]) -> Row:
    return Row("inline_reference", {"host": host, "written_as": written_as, "urls": urls}, "info")


def named_tracker(host: str, vendor: str, category: str, urls: list[str]) -> Row:
    """A tracker's host named in an inline script (and loaded by no tag)."""
    details = {"source": "inline_reference", "host": host, "vendor": vendor, "category": category, "urls": urls}
    return Row("tracker", details | {"matched": True, "request_types": ["script"]})


def consent_manager(name: str, detected_by: list[str], seen_in: list[str], urls: list[str]) -> Row:
    details = {"name": name, "detected_by": detected_by, "seen_in": seen_in, "urls": urls, "globals": []}
    return Row("consent_manager", details | {"tcf_api": None, "gpp_api": None, "tcf": None, "gpp": None}, "info")


GTM_SNIPPET = """<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':new Date().getTime(),
event:'gtm.js'});var f=d.getElementsByTagName(s)[0],j=d.createElement(s),dl=l!='dataLayer'?'&l='+l:'';
j.async=true;j.src='https://www.googletagmanager.com/gtm.js?id='+i+dl;f.parentNode.insertBefore(j,f);
})(window,document,'script','dataLayer','GTM-K4X9PQ2');</script>"""
GA4_SNIPPET = """<script async src="https://www.googletagmanager.com/gtag/js?id=G-7XK2M9QW4R"></script>
<script>window.dataLayer = window.dataLayer || []; function gtag(){dataLayer.push(arguments);}
gtag('js', new Date()); gtag('config', 'G-7XK2M9QW4R');</script>"""
MATOMO_SNIPPET = """<script>var _paq = window._paq = window._paq || []; _paq.push(['trackPageView']);
(function() { var u="https://stats.corpus-shop.example/"; _paq.push(['setTrackerUrl', u+'matomo.php']);
_paq.push(['setSiteId', '3']); var d=document, g=d.createElement('script'); g.async=true; g.src=u+'matomo.js';
d.head.appendChild(g); })();</script>"""
YANDEX_SNIPPET = """<script src="https://mc.yandex.ru/metrika/tag.js" async></script>
<script>ym(91234567, "init", {clickmap:true, trackLinks:true});</script>"""
META_SNIPPET = """<script>!function(f,b,e,v,n,t,s){if(f.fbq)return;n=f.fbq=function(){n.callMethod?
n.callMethod.apply(n,arguments):n.queue.push(arguments)};t=b.createElement(e);t.async=!0;t.src=v;
s=b.getElementsByTagName(e)[0];s.parentNode.insertBefore(t,s)}(window, document,'script',
'https://connect.facebook.net/en_US/fbevents.js'); fbq('init', '1234567890123456'); fbq('track', 'PageView');</script>
<noscript><img height="1" width="1" style="display:none"
src="https://www.facebook.com/tr?id=1234567890123456&ev=PageView&noscript=1"></noscript>"""
LINKEDIN_SNIPPET = """<script>_linkedin_partner_id = "4567890";
window._linkedin_data_partner_ids = window._linkedin_data_partner_ids || [];
window._linkedin_data_partner_ids.push(_linkedin_partner_id);</script>
<script async src="https://snap.licdn.com/li.lms-analytics/insight.min.js"></script>"""
TIKTOK_SNIPPET = """<script>!function (w, d, t) { w.TiktokAnalyticsObject=t; var ttq=w[t]=w[t]||[];
ttq.load('C9ABCDEF0123456789GH'); ttq.page(); }(window, document, 'ttq');</script>"""
HOTJAR_SNIPPET = """<script>(function(h,o,t,j,a,r){h.hj=h.hj||function(){(h.hj.q=h.hj.q||[]).push(arguments)};
h._hjSettings={hjid:3456789,hjsv:6}; a=o.getElementsByTagName('head')[0]; r=o.createElement('script');
r.async=1; r.src=t+h._hjSettings.hjid+j+h._hjSettings.hjsv; a.appendChild(r);
})(window,document,'https://static.hotjar.com/c/hotjar-','.js?sv=');</script>"""
CLARITY_SNIPPET = """<script type="text/javascript">(function(c,l,a,r,i,t,y){c[a]=c[a]||function(){
(c[a].q=c[a].q||[]).push(arguments)}; t=l.createElement(r); t.async=1; t.src="https://www.clarity.ms/tag/"+i;
y=l.getElementsByTagName(r)[0]; y.parentNode.insertBefore(t,y); })(window, document, "clarity", "script", "k3x9m2p7q1");
</script>"""
FULLSTORY_SNIPPET = """<script>window['_fs_host'] = 'fullstory.com';
window['_fs_script'] = 'edge.fullstory.com/s/fs.js'; window['_fs_org'] = 'o-1QX2Y3-na1';
window['_fs_namespace'] = 'FS';</script>
<script async src="https://edge.fullstory.com/s/fs.js"></script>"""
QUANTCAST_CHOICE_SNIPPET = """<script type="text/javascript" async=true>(function() {
var host = window.location.hostname; var element = document.createElement('script');
var firstScript = document.getElementsByTagName('script')[0];
var url = 'https://cmp.quantcast.com'.concat('/choice/', 'Qx7Ab2Cd9', '/', host, '/choice.js?tag_version=V2');
element.async = true; element.type = 'text/javascript'; element.src = url;
firstScript.parentNode.insertBefore(element, firstScript); })();</script>"""
FBEVENTS = "https://connect.facebook.net/en_US/fbevents.js"
META_ROWS = (
    third_party("www.facebook.com", ["img"]),
    inline_reference("connect.facebook.net", ["url"], [FBEVENTS]),
    network_tracker("www.facebook.com", "Meta Pixel", "advertising", matched=True),
    named_tracker("connect.facebook.net", "Meta Pixel", "advertising", [FBEVENTS]),
    inline_tracker("Meta Pixel", "advertising", ["1234567890123456"]),
)


PAGES: tuple[CorpusPage, ...] = (
    CorpusPage(
        name="clean",
        note="A well-configured page: first-party resources, a secure cookie, a search form, policy links.",
        server="https",
        headers=(("Set-Cookie", "sid=7f3a; Path=/; Secure; HttpOnly; SameSite=Lax"),),
        body=page_html(
            '<script src="/static/app.js"></script><link rel="stylesheet" href="/static/site.css">',
            '<h1>Welcome</h1><img src="/img/logo.png" alt=""><form action="/search"><input name="q"></form>',
            '<footer><a href="/privacy">Privacy policy</a> · <a href="/imprint">Imprint</a></footer>',
        ),
        rows=(
            TLS_OK,
            Row("cookie", {"name": "sid", "secure": True, "http_only": True, "third_party": False}, "info"),
            Row("security_header", {"header": "Strict-Transport-Security", "present": True, "max_age": 31536000}),
            Row("form", {"method": "get", "secure": True, "sensitive_fields": [], "inputs": 1}, "info"),
            POLICY,
            Row("final_url", {"https": True, "hops": 1, "status": 200}, "info"),
        ),
        issues=frozenset(),
    ),
    CorpusPage(
        name="plain-http",
        note="Served over plain http with no redirect to https; Spanish policy link.",
        server="http",
        body=page_html(footer='<a href="/politica-de-privacidad">Política de privacidad</a>'),
        rows=(
            Row("https_redirect", {"redirected_to_https": False, "https_hop": None, "https_url": None}, "medium"),
            Row("final_url", {"https": False}, "high"),
            Row("privacy_policy", {"found": True, "text": "Política de privacidad"}),
        ),
        issues=frozenset({"no_https", "http_not_redirected_to_https"}),
    ),
    CorpusPage(
        name="upgraded",
        note="An http:// start redirected to the https:// page: an upgrade at hop 1, certificate on hop 1.",
        server="https",
        via_http=True,
        body=page_html(body="<p>Moved to https.</p>"),
        rows=(
            Row("redirect", {"index": 0, "status": 301}),
            Row("redirect", {"index": 1, "status": 200}),
            Row("final_url", {"https": True, "hops": 2}),
            Row("https_redirect", {"redirected_to_https": True, "https_hop": 1}, "info"),
            Row("tls_certificate", {"hop": 1, "protocol": "TLSv1.3", "expired": False}, "info"),
            POLICY,
        ),
        issues=frozenset(),
    ),
    CorpusPage(
        name="cert-10-days",
        note="A certificate with 10 days left, and no HSTS header.",
        server="https_10d",
        drop=("Strict-Transport-Security",),
        body=page_html(body="<p>Renew me.</p>"),
        rows=(
            Row("tls_certificate", {"hop": 0, "days_left": 10, "expired": False}, "high"),
            Row("security_header", {"header": "Strict-Transport-Security", "present": False}, "low"),
            POLICY,
        ),
        issues=frozenset({"tls_certificate_expiring_soon", "hsts_missing"}),
    ),
    CorpusPage(
        name="cert-20-days",
        note="A certificate with 20 days left, and an HSTS max-age of one day.",
        server="https_20d",
        headers=(("Strict-Transport-Security", "max-age=86400"),),
        drop=("Strict-Transport-Security",),
        body=page_html(body="<p>Renewal overdue.</p>"),
        rows=(
            Row("tls_certificate", {"hop": 0, "days_left": 20}, "medium"),
            Row("security_header", {"header": "Strict-Transport-Security", "max_age": 86400, "effective": True}),
            POLICY,
        ),
        issues=frozenset({"tls_certificate_expiring", "hsts_weak"}),
    ),
    CorpusPage(
        name="headers-missing",
        note="No CSP, X-Content-Type-Options, X-Frame-Options or Referrer-Policy.",
        server="https",
        drop=("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"),
        body=page_html(body="<p>Bare.</p>"),
        rows=(
            TLS_OK,
            Row("security_header", {"header": "Content-Security-Policy", "present": False}, "low"),
            Row("security_header", {"header": "X-Frame-Options", "present": False, "protects": False}),
            Row("security_header", {"header": "X-Content-Type-Options", "nosniff": False}),
            Row("security_header", {"header": "Referrer-Policy", "policy": None}),
            POLICY,
        ),
        issues=frozenset(
            {"csp_missing", "x_content_type_options_missing", "clickjacking_unprotected", "referrer_policy_missing"}
        ),
    ),
    CorpusPage(
        name="cookies",
        note="One cookie per cookie rule, one of them for another site.",
        server="https",
        headers=(
            ("Set-Cookie", "nosecure=1; Path=/; HttpOnly"),
            ("Set-Cookie", "script=1; Path=/; Secure"),
            ("Set-Cookie", "broken=1; Path=/; HttpOnly; SameSite=None"),
            ("Set-Cookie", "ads=1; Path=/; Secure; HttpOnly; Domain=ads.example.net"),
        ),
        body=page_html(body="<p>Cookies.</p>"),
        rows=(
            TLS_OK,
            Row("cookie", {"name": "nosecure", "secure": False, "http_only": True}, "low"),
            Row("cookie", {"name": "script", "secure": True, "http_only": False}, "low"),
            Row("cookie", {"name": "broken", "same_site": "None", "secure": False}, "medium"),
            Row("cookie", {"name": "ads", "domain": "ads.example.net", "third_party": True}, "low"),
            POLICY,
        ),
        issues=frozenset(
            {"cookie_without_secure", "cookie_without_httponly", "cookie_samesite_none_insecure", "third_party_cookie"}
        ),
    ),
    CorpusPage(
        name="analytics",
        note="Analytics and a tag manager: GTM and GA4 snippets, Matomo, Segment, Yandex Metrica.",
        server="https",
        body=page_html(
            GTM_SNIPPET
            + GA4_SNIPPET
            + MATOMO_SNIPPET
            + YANDEX_SNIPPET
            + '<script src="https://cdn.segment.com/analytics.js/v1/wK3sT0x/analytics.min.js"></script>'
        ),
        rows=(
            TLS_OK,
            third_party("cdn.segment.com", ["script"]),
            third_party("mc.yandex.ru", ["script"]),
            third_party("www.googletagmanager.com", ["script"]),
            # Named in Matomo's and GTM's snippets; the tag manager is also loaded by a tag (GA4's).
            inline_reference("stats.corpus-shop.example", ["url"], ["https://stats.corpus-shop.example/"]),
            inline_reference("www.googletagmanager.com", ["url"], ["https://www.googletagmanager.com/gtm.js?id="]),
            network_tracker("cdn.segment.com", "Segment", "analytics", matched=True),
            network_tracker("mc.yandex.ru", "Yandex Metrica", "analytics", matched=True),
            network_tracker("www.googletagmanager.com", "Google Tag Manager", "tag_manager", matched=True),
            inline_tracker("Google Analytics", "analytics", ["G-7XK2M9QW4R"]),
            inline_tracker("Google Tag Manager", "tag_manager", ["GTM-K4X9PQ2"]),
            inline_tracker("Matomo", "analytics", ["3"]),
            inline_tracker("Yandex Metrica", "analytics", ["91234567"]),
            POLICY,
        ),
        issues=frozenset({"analytics_tracker_present", "tag_manager_present", "third_party_scripts"}),
    ),
    CorpusPage(
        name="advertising",
        note="Ad pixels: Meta (and its noscript image), LinkedIn, TikTok, DoubleClick, Criteo; German policy.",
        server="https",
        body=page_html(
            META_SNIPPET
            + LINKEDIN_SNIPPET
            + TIKTOK_SNIPPET
            + '<script async src="https://securepubads.g.doubleclick.net/tag/js/gpt.js"></script>'
            + '<script src="https://static.criteo.net/js/ld/publishertag.js"></script>',
            footer='<a href="/datenschutz">Datenschutzerklärung</a> <a href="/impressum">Impressum</a>',
        ),
        rows=(
            TLS_OK,
            third_party("securepubads.g.doubleclick.net", ["script"]),
            third_party("snap.licdn.com", ["script"]),
            third_party("static.criteo.net", ["script"]),
            *META_ROWS,
            network_tracker("securepubads.g.doubleclick.net", "Google DoubleClick", "advertising", matched=True),
            network_tracker("snap.licdn.com", "LinkedIn Insight Tag", "advertising", matched=True),
            network_tracker("static.criteo.net", "Criteo", "advertising", matched=True),
            inline_tracker("LinkedIn Insight Tag", "advertising", ["4567890"]),
            inline_tracker("TikTok Pixel", "advertising", ["C9ABCDEF0123456789GH"]),
            Row("privacy_policy", {"found": True, "text": "Datenschutzerklärung", "same_site": True}),
        ),
        issues=frozenset({"advertising_tracker_present", "third_party_scripts", "third_party_content"}),
    ),
    CorpusPage(
        name="session-recording",
        note="Session recorders configured inline: Hotjar, Microsoft Clarity, FullStory (and its script).",
        server="https",
        body=page_html(HOTJAR_SNIPPET + CLARITY_SNIPPET + FULLSTORY_SNIPPET),
        rows=(
            TLS_OK,
            third_party("edge.fullstory.com", ["script"]),
            # FullStory's snippet names its hosts bare; Hotjar's and Clarity's build the loader's URL.
            inline_reference("edge.fullstory.com", ["host"], ["https://edge.fullstory.com/s/fs.js"]),
            inline_reference("fullstory.com", ["host"], ["https://fullstory.com/"]),
            inline_reference("static.hotjar.com", ["url"], ["https://static.hotjar.com/c/hotjar-"]),
            inline_reference("www.clarity.ms", ["url"], ["https://www.clarity.ms/tag/"]),
            network_tracker("edge.fullstory.com", "FullStory", "session_recording", matched=True),
            named_tracker("fullstory.com", "FullStory", "session_recording", ["https://fullstory.com/"]),
            named_tracker("static.hotjar.com", "Hotjar", "session_recording", ["https://static.hotjar.com/c/hotjar-"]),
            named_tracker("www.clarity.ms", "Microsoft Clarity", "session_recording", ["https://www.clarity.ms/tag/"]),
            inline_tracker("Hotjar", "session_recording", ["3456789"]),
            inline_tracker("Microsoft Clarity", "session_recording", ["k3x9m2p7q1"]),
            inline_tracker("FullStory", "session_recording", ["o-1QX2Y3-na1"]),
            POLICY,
        ),
        issues=frozenset({"session_recorder_present", "third_party_scripts"}),
    ),
    CorpusPage(
        name="social-marketing-blocklisted",
        note="A social widget, a marketing tag and a blocklisted pixel from a vendor the curated map does not know.",
        server="https",
        body=page_html(
            '<script async src="https://platform.twitter.com/widgets.js"></script>'
            '<script id="hs-script-loader" async defer src="//js.hs-scripts.com/1234567.js"></script>',
            '<img src="https://px.ads.example.net/pixel.gif?u=1" width="1" height="1" alt="">',
        ),
        rows=(
            TLS_OK,
            third_party("js.hs-scripts.com", ["script"]),
            third_party("platform.twitter.com", ["script"]),
            third_party("px.ads.example.net", ["img"]),
            network_tracker("js.hs-scripts.com", "HubSpot", "marketing", matched=False),
            network_tracker("platform.twitter.com", "X (Twitter)", "social", matched=False),
            network_tracker("px.ads.example.net", None, "unclassified", matched=True),
            POLICY,
        ),
        issues=frozenset({"tracker_present", "third_party_scripts", "third_party_content"}),
    ),
    CorpusPage(
        name="consent-manager",
        note="A OneTrust banner, and a cookie for another site set with the page, before any answer to the banner.",
        server="https",
        headers=(("Set-Cookie", "uid=1; Path=/; Secure; HttpOnly; Domain=ads.example.net"),),
        body=page_html(
            '<script src="https://cdn.cookielaw.org/scripttemplates/otSDKStub.js" charset="UTF-8" '
            'data-domain-script="0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"></script>'
            "<script>function OptanonWrapper() { }</script>"
        ),
        rows=(
            TLS_OK,
            Row("cookie", {"name": "uid", "domain": "ads.example.net", "third_party": True}),
            third_party("cdn.cookielaw.org", ["script"]),
            consent_manager("OneTrust", ["host"], ["tag"], ["https://cdn.cookielaw.org/scripttemplates/otSDKStub.js"]),
            POLICY,
        ),
        issues=frozenset({"third_party_cookie", "third_party_cookies_before_consent", "third_party_scripts"}),
    ),
    CorpusPage(
        name="consent-manager-inline",
        note="Quantcast Choice loaded by its snippet, and a Meta pixel that loads whatever the visitor answers. "
        "Known limit: only a browser sees that the pixel runs before consent.",
        server="https",
        body=page_html(QUANTCAST_CHOICE_SNIPPET + META_SNIPPET),
        rows=(
            TLS_OK,
            *META_ROWS,
            inline_reference("cmp.quantcast.com", ["url"], ["https://cmp.quantcast.com/"]),
            consent_manager("Quantcast Choice", ["host"], ["inline_script"], ["https://cmp.quantcast.com/"]),
            POLICY,
        ),
        issues=frozenset({"advertising_tracker_present", "third_party_content"}),
        missed_issues=frozenset({"trackers_before_consent"}),
    ),
    CorpusPage(
        name="forms-on-http",
        note="A login form and a search form on a plain-http page: both submit unencrypted.",
        server="http",
        body=page_html(
            body='<form method="post" action="/login"><input name="user"><input type="password" name="pass">'
            "<button>Log in</button></form>"
            '<form action="/search"><input name="q"></form>',
            footer='<a href="/datenschutz">Datenschutz</a>',
        ),
        rows=(
            Row("https_redirect", {"redirected_to_https": False}, "medium"),
            Row("form", {"method": "post", "secure": False, "sensitive_fields": ["password"], "inputs": 2}, "high"),
            Row("form", {"method": "get", "secure": False, "sensitive_fields": [], "inputs": 1}, "medium"),
            Row("privacy_policy", {"found": True, "text": "Datenschutz"}),
        ),
        issues=frozenset(
            {"no_https", "http_not_redirected_to_https", "sensitive_form_over_http", "form_posts_over_http"}
        ),
    ),
    CorpusPage(
        name="forms-on-https",
        note="On https: an e-mail form posting to http elsewhere, a secure login, a third-party form; French policy.",
        server="https",
        body=page_html(
            body='<form action="http://newsletter.example.org/subscribe" method="post">'
            '<input type="email" name="address"></form>'
            '<form action="/account/login" method="POST"><input name="username"><input type="password" name="pw">'
            "</form>"
            '<form action="https://forms.example-saas.com/f/123" method="post"><input name="subject">'
            '<textarea name="message"></textarea></form>',
            footer='<a href="/politique-de-confidentialite">Politique de confidentialité</a>',
        ),
        rows=(
            TLS_OK,
            third_party("forms.example-saas.com", ["form"]),
            third_party("newsletter.example.org", ["form"]),
            Row(
                "form",
                {
                    "action": "http://newsletter.example.org/subscribe",
                    "secure": False,
                    "third_party": True,
                    "sensitive_fields": ["email"],
                },
                "high",
            ),
            Row("form", {"method": "post", "secure": True, "third_party": False, "sensitive_fields": ["password"]}),
            Row(
                "form",
                {"action": "https://forms.example-saas.com/f/123", "secure": True, "third_party": True, "inputs": 2},
                "info",
            ),
            Row("privacy_policy", {"found": True, "text": "Politique de confidentialité"}),
        ),
        issues=frozenset({"sensitive_form_over_http", "third_party_content"}),
    ),
    CorpusPage(
        name="mixed-content",
        note="http:// script, stylesheet, frame, image and video on an https page; an http preconnect loads nothing.",
        server="https",
        body=page_html(
            '<link rel="preconnect" href="http://cdn.example.net">'
            '<link rel="stylesheet" href="http://styles.example.net/site.css">'
            '<script src="http://cdn.example.net/app.js"></script>',
            '<iframe src="http://widgets.example.org/w"></iframe><img src="http://img.example.net/a.png" alt="">'
            '<video src="http://media.example.net/v.mp4"></video><img src="https://img.example.net/b.png" alt="">',
        ),
        rows=(
            TLS_OK,
            third_party("cdn.example.net", ["link", "script"]),
            third_party("img.example.net", ["img"]),
            third_party("media.example.net", ["video"]),
            third_party("styles.example.net", ["link"]),
            third_party("widgets.example.org", ["iframe"]),
            Row("mixed_content", {"url": "http://styles.example.net/site.css", "mode": "active"}, "high"),
            Row("mixed_content", {"url": "http://cdn.example.net/app.js", "mode": "active"}, "high"),
            Row("mixed_content", {"url": "http://widgets.example.org/w", "request_type": "subdocument"}, "high"),
            Row("mixed_content", {"url": "http://img.example.net/a.png", "mode": "passive"}, "low"),
            Row("mixed_content", {"url": "http://media.example.net/v.mp4", "mode": "passive"}, "low"),
            POLICY,
        ),
        issues=frozenset(
            {"mixed_content_active", "mixed_content_passive", "third_party_scripts", "third_party_content"}
        ),
    ),
    CorpusPage(
        name="fonts-and-cdns",
        note="Google Fonts, Adobe Fonts, and libraries from cdnjs and unpkg.",
        server="https",
        body=page_html(
            '<link rel="preconnect" href="https://fonts.gstatic.com" crossorigin>'
            '<link rel="stylesheet" href="https://fonts.googleapis.com/css2?family=Inter:wght@400;700&display=swap">'
            '<link rel="stylesheet" href="https://use.typekit.net/abc1def.css">'
            '<script src="https://cdnjs.cloudflare.com/ajax/libs/jquery/3.7.1/jquery.min.js"></script>'
            '<script src="https://unpkg.com/htmx.org@1.9.12"></script>',
            footer='<a href="/privacy">Privacy policy</a>',
        ),
        rows=(
            TLS_OK,
            third_party("cdnjs.cloudflare.com", ["script"], "cdn"),
            third_party("fonts.googleapis.com", ["link"], "font"),
            third_party("fonts.gstatic.com", ["link"], "font"),
            third_party("unpkg.com", ["script"], "cdn"),
            third_party("use.typekit.net", ["link"], "font"),
            POLICY,
        ),
        issues=frozenset({"third_party_fonts", "public_cdn_resources", "third_party_scripts", "third_party_content"}),
    ),
    CorpusPage(
        name="no-privacy-policy",
        note="Terms and contact links only; the reCAPTCHA notice links Google's policy, which is not the site's.",
        server="https",
        body=page_html(
            '<script src="https://www.google.com/recaptcha/api.js" async defer></script>',
            footer='<p>This site is protected by reCAPTCHA and the Google <a href="https://policies.google.com/privacy">'
            'Privacy Policy</a> and <a href="https://policies.google.com/terms">Terms of Service</a> apply.</p>'
            '<a href="/terms">Terms</a> <a href="/contact">Contact</a>',
        ),
        rows=(
            TLS_OK,
            third_party("www.google.com", ["script"]),
            Row("privacy_policy", {"found": False, "url": None}, "medium"),
        ),
        issues=frozenset({"privacy_policy_missing", "third_party_scripts"}),
    ),
    CorpusPage(
        name="runtime-injected",
        note="Known limit: a tracker script and the policy link are both added by JavaScript at runtime.",
        server="https",
        body=page_html(
            "<script>var s = document.createElement('script');"
            "s.src = 'https://cdn.' + 'metrics-vendor.example' + '/t.js?site=42'; document.head.appendChild(s);"
            "document.addEventListener('DOMContentLoaded', function () {"
            "document.getElementById('legal').innerHTML = '<a href=\"/privacy\">Privacy policy</a>'; });</script>",
            footer='<footer id="legal"></footer>',
        ),
        rows=(
            TLS_OK,
            missed("third_party", {"host": "cdn.metrics-vendor.example"}),
            missed("tracker", {"host": "cdn.metrics-vendor.example"}),
            missed("privacy_policy", {"found": True}),
            spurious("privacy_policy", {"found": False}),
        ),
        issues=frozenset(),
        missed_issues=frozenset({"third_party_scripts", "tracker_present"}),
        spurious_issues=frozenset({"privacy_policy_missing"}),
    ),
    CorpusPage(
        name="blocklist-gap",
        note="Known limit: a tracking pixel from an unknown vendor with a URL no EasyPrivacy filter matches.",
        server="https",
        body=page_html(
            body='<img src="https://static.shop-insights.example/v2/px.png?c=8d2f&u=home" width="1" height="1" alt="">'
        ),
        rows=(
            TLS_OK,
            third_party("static.shop-insights.example", ["img"]),
            missed("tracker", {"host": "static.shop-insights.example"}),
            POLICY,
        ),
        issues=frozenset({"third_party_content"}),
        missed_issues=frozenset({"tracker_present"}),
    ),
)
