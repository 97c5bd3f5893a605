import time

from scanfleet.model import Evidence, Severity
from scanfleet.worker.browser.evidence import request_rows, runtime_tracker_rows
from scanfleet.worker.browser.network import Request
from scanfleet.worker.browser.proxy import GuardedProxy
from scanfleet.worker.privacy.document import parse_html
from scanfleet.worker.privacy.rules import evaluate
from scanfleet.worker.privacy.trackers import collect_trackers

PAGE = "https://shop.example.com/"
GTAG = "https://www.googletagmanager.com/gtag/js?id=G-1"
COLLECT = "https://region1.google-analytics.com/g/collect?v=2&tid=G-1&en=page_view"
REMARKETING = "https://googleads.g.doubleclick.net/pagead/viewthroughconversion/1/?guid=ON&script=0"
PAGE_VIEW = "https://www.facebook.com/tr?id=1&ev=PageView"
ADD_TO_CART = "https://www.facebook.com/tr?id=1&ev=AddToCart"
PIXEL = "https://px.ads.example.net/pixel.gif?u=1"  # on EasyList, of no vendor in the map
WIDGET = "https://widget.intercom.io/widget/abc"  # a marketing vendor, not on the lists
GTAG_AND_META = f"<script src=\"{GTAG}\"></script><script>fbq('init', '1234567');</script>"


def sent(url: str, resource_type: str, initiator: str | None = GTAG, method: str = "GET") -> Request:
    return Request(
        id=url, url=url, method=method, resource_type=resource_type, frame_id="main", initiator_type="script",
        initiator_url=initiator, started=time.monotonic(), status=200,
    )  # fmt: skip


def requests_of(*requests: Request, page: str = PAGE) -> list[Evidence]:
    return request_rows([sent(page, "Document", None), *requests], page, GuardedProxy(None), "main")


def derived(requests: list[Evidence], static: list[Evidence] | None = None) -> list[Evidence]:
    return runtime_tracker_rows(static or [], requests, PAGE)


def test_beacons_and_pixels_become_tracker_rows_one_per_vendor_and_host() -> None:
    requests = requests_of(
        sent(GTAG, "Script", PAGE),
        sent(COLLECT, "Ping", method="POST"),
        sent(REMARKETING, "Image", PAGE),
        sent(PAGE_VIEW, "Image"),
        sent(ADD_TO_CART, "Image"),
    )
    rows = derived(requests)
    assert [(row.details["vendor"], row.details["host"], row.details["category"]) for row in rows] == [
        ("Google DoubleClick", "googleads.g.doubleclick.net", "advertising"),
        ("Google Analytics", "region1.google-analytics.com", "analytics"),
        ("Meta Pixel", "www.facebook.com", "advertising"),
        ("Google Tag Manager", "www.googletagmanager.com", "tag_manager"),  # gtag.js is on EasyPrivacy
    ]
    facebook = rows[2]
    assert facebook.kind == "tracker" and facebook.severity is Severity.HIGH and facebook.location == PAGE
    assert facebook.title == "Tracker (advertising): Meta Pixel at www.facebook.com, requested at run time"
    assert facebook.details == {
        "source": "network",
        "observed": "request",
        "request": PAGE_VIEW,  # the first request of the host: its request row
        "vendor": "Meta Pixel",
        "category": "advertising",
        "host": "www.facebook.com",
        "registrable_domain": "facebook.com",
        "urls": [PAGE_VIEW, ADD_TO_CART],
        "request_types": ["image"],
        "matched": True,
        "ids": [],
    }
    assert rows[1].details["request_types"] == ["ping"] and rows[1].severity is Severity.MEDIUM


def test_rows_have_the_static_rows_keys() -> None:
    static = collect_trackers(parse_html(GTAG_AND_META, PAGE))
    rows = derived(requests_of(sent(COLLECT, "Ping")))
    assert [row.details["observed"] for row in static] == ["document", "document"]
    assert {frozenset(row.details) for row in [*static, *rows]} == {frozenset(rows[0].details)}


def test_what_the_document_reported_is_not_reported_again() -> None:
    # The tag loads gtag.js: the static row has that vendor and host. The inline Meta row names no host, so the
    # pixel's own host, requested at run time, is still a row of its own.
    static = collect_trackers(parse_html(GTAG_AND_META, PAGE))
    requests = requests_of(sent(GTAG, "Script", PAGE), sent(PAGE_VIEW, "Image"))
    rows = derived(requests, static)
    assert [(row.details["vendor"], row.details["host"]) for row in rows] == [("Meta Pixel", "www.facebook.com")]


def test_blocklisted_hosts_of_no_vendor_count_other_vendors_need_the_blocklists() -> None:
    rows = derived(requests_of(sent(PIXEL, "Image"), sent(WIDGET, "Script")))
    assert [(row.details["vendor"], row.details["host"], row.details["category"]) for row in rows] == [
        (None, "px.ads.example.net", "unclassified")
    ]
    assert rows[0].title == "Tracker (unclassified): Blocklisted at px.ads.example.net, requested at run time"


def test_first_party_requests_are_never_trackers() -> None:
    # On facebook.com its own /tr is a first-party request: no vendor is named and no tracker row made.
    site = "https://www.facebook.com/"
    requests = requests_of(sent("https://www.facebook.com/tr?id=1&ev=PageView", "Image", site), page=site)
    assert requests[1].details["party"] == "first"
    assert runtime_tracker_rows([], requests, site) == []


def test_the_tracker_rules_fire_on_the_rows_seen_at_run_time() -> None:
    requests = requests_of(sent(COLLECT, "Ping"), sent(REMARKETING, "Image", PAGE))
    evidence = [*requests, *derived(requests)]
    issues = {issue.code: issue.evidence for issue in evaluate(evidence)}
    behind = {code: [(evidence[i].kind, evidence[i].details["host"]) for i in issues[code]] for code in issues}
    assert behind["advertising_tracker_present"] == [("tracker", "googleads.g.doubleclick.net")]
    assert behind["analytics_tracker_present"] == [("tracker", "region1.google-analytics.com")]
