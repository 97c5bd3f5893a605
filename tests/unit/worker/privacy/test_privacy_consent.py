from typing import Any

import pytest

from scanfleet.model import Severity
from scanfleet.worker.privacy.consent import ConsentSignals, collect_consent_managers
from scanfleet.worker.privacy.consent_managers import (
    CONSENT_MANAGERS,
    GLOBALS,
    consent_manager_for_cmp_id,
    consent_manager_for_global,
    consent_manager_for_url,
)
from scanfleet.worker.privacy.document import parse_html
from scanfleet.worker.privacy.vendors import vendor_for
from tests.corpus.pages import QUANTCAST_CHOICE_SNIPPET

PAGE = "https://shop.example.com/"
PLUGINS = "https://shop.example.com/wp-content/plugins"  # self-hosted WordPress plugins
NOT_OBSERVED = {"tcf_api": None, "gpp_api": None, "tcf": None, "gpp": None}


def found(html: str, signals: ConsentSignals | None = None) -> list[dict[str, Any]]:
    return [row.details for row in collect_consent_managers(parse_html(html, PAGE), signals)]


@pytest.mark.parametrize(
    ("url", "name", "how"),
    [
        ("https://cdn.cookielaw.org/scripttemplates/otSDKStub.js", "OneTrust", "host"),
        ("https://optanon.blob.core.windows.net/consent/x.js", "OneTrust", "host"),
        ("https://consent.cookiebot.com/uc.js", "Cookiebot", "host"),
        ("https://app.usercentrics.eu/browser-ui/latest/loader.js", "Usercentrics", "host"),
        ("https://sdk.privacy-center.org/loader.js", "Didomi", "host"),
        ("https://cmp.quantcast.com/choice/x/shop.example.com/choice.js", "Quantcast Choice", "host"),
        ("https://consent.trustarc.com/notice?domain=shop.example.com", "TrustArc", "host"),
        ("https://cdn.iubenda.com/cs/iubenda_cs.js", "iubenda", "host"),
        ("https://cdn-cookieyes.com/client_data/abc/script.js", "CookieYes", "host"),
        ("https://fundingchoicesmessages.google.com/i/pub-1?ers=1", "Google Funding Choices", "host"),
        (f"{PLUGINS}/complianz-gdpr/cookiebanner/js/complianz.min.js", "Complianz", "path"),
        (f"{PLUGINS}/cookie-law-info/lite/frontend/js/script.min.js", "CookieYes", "path"),
    ],
)
def test_platforms_by_host_or_self_hosted_path(url: str, name: str, how: str) -> None:
    match = consent_manager_for_url(url)
    assert match is not None and (match[0].name, match[1]) == (name, how)


@pytest.mark.parametrize(
    "url",
    [
        "https://www.quantserve.com/quant.js",  # Quantcast's measurement tag is advertising, not its consent tool
        "https://windows.net/x.js",
        "https://www.google.com/recaptcha/api.js",
        "https://shop.example.com/wp-content/plugins/woocommerce/cart.js",
        "not a url",
    ],
)
def test_what_is_no_consent_manager(url: str) -> None:
    assert consent_manager_for_url(url) is None


def test_the_table_is_consistent() -> None:
    names = [cmp.name for cmp in CONSENT_MANAGERS]
    assert len(names) == len(set(names))
    assert all(cmp.hosts or cmp.paths for cmp in CONSENT_MANAGERS)  # every platform can be seen without a browser
    assert len(GLOBALS) == sum(len(cmp.globals) for cmp in CONSENT_MANAGERS)  # no global claimed twice
    assert not [host for cmp in CONSENT_MANAGERS for host in cmp.hosts if vendor_for(host) is not None]
    assert consent_manager_for_global("UC_UI") is not None and consent_manager_for_global("__tcfapi") is None
    ids = [cmp_id for cmp in CONSENT_MANAGERS for cmp_id in cmp.cmp_ids]
    assert len(ids) == len(set(ids))  # no IAB CMP id claimed twice


@pytest.mark.parametrize(
    ("cmp_id", "name"),
    # Entries of the IAB CMP list ("OneTrust LLC", "Cookiebot", "Didomi", "Usercentrics.com", "TrustArc Inc", ...).
    [(28, "OneTrust"), (134, "Cookiebot"), (7, "Didomi"), (5, "Usercentrics"), (47, "TrustArc"), (123, "iubenda"),
     (6, "Sourcepoint"), (31, "consentmanager.net"), (300, "Google Funding Choices"), (401, "CookieYes")],
)  # fmt: skip
def test_an_iab_cmp_id_names_its_platform(cmp_id: int, name: str) -> None:
    cmp = consent_manager_for_cmp_id(cmp_id)
    assert cmp is not None and cmp.name == name


@pytest.mark.parametrize("cmp_id", [0, 10_000, "28", True, 28.5, None])
def test_what_is_no_known_cmp_id(cmp_id: object) -> None:
    assert consent_manager_for_cmp_id(cmp_id) is None


def test_http_scan_recognises_platforms_in_tags_and_inline_scripts() -> None:
    html = (
        '<script src="https://consent.cookiebot.com/uc.js" data-cbid="0f1e"></script>'
        '<link rel="preload" as="script" href="https://consent.cookiebot.com/0f1e/cc.js">'
        + QUANTCAST_CHOICE_SNIPPET
        + '<script src="/wp-content/plugins/complianz-gdpr/cookiebanner/js/complianz.min.js"></script>'
    )
    rows = collect_consent_managers(parse_html(html, PAGE))
    assert [(row.kind, row.severity, row.title) for row in rows] == [
        ("consent_manager", Severity.INFO, "Consent manager Complianz (by path)"),
        ("consent_manager", Severity.INFO, "Consent manager Cookiebot (by host)"),
        ("consent_manager", Severity.INFO, "Consent manager Quantcast Choice (by host)"),
    ]
    assert [row.details for row in rows] == [
        {"name": "Complianz", "detected_by": ["path"], "seen_in": ["tag"],
         "urls": ["https://shop.example.com/wp-content/plugins/complianz-gdpr/cookiebanner/js/complianz.min.js"],
         "globals": [], **NOT_OBSERVED},
        {"name": "Cookiebot", "detected_by": ["host"], "seen_in": ["tag"],
         "urls": ["https://consent.cookiebot.com/uc.js", "https://consent.cookiebot.com/0f1e/cc.js"], "globals": [],
         **NOT_OBSERVED},
        {"name": "Quantcast Choice", "detected_by": ["host"], "seen_in": ["inline_script"],
         "urls": ["https://cmp.quantcast.com/"], "globals": [], **NOT_OBSERVED},
    ]  # fmt: skip


def test_no_consent_manager_no_rows() -> None:
    assert found('<script src="https://www.google-analytics.com/analytics.js"></script>') == []
    assert collect_consent_managers(None) == []


def test_browser_signals_add_requests_globals_and_the_iab_apis() -> None:
    signals = ConsentSignals(
        globals=["Didomi", "OneTrust", "Optanon"],
        tcf={"cmp_id": 7, "cmp_status": "loaded", "display_status": "visible", "gdpr_applies": True},
        gpp={},  # defined, but did not answer its ping
        requests=[PAGE, "https://sdk.privacy-center.org/loader.js", "https://sdk.privacy-center.org/sdk.js"],
    )
    apis = {
        "tcf_api": True,
        "gpp_api": True,
        "tcf": {"cmp_id": 7, "cmp_status": "loaded", "display_status": "visible", "gdpr_applies": True},
        "gpp": None,
    }
    assert found("<p>rendered by the platforms</p>", signals) == [
        {"name": "Didomi", "detected_by": ["cmp_id", "global", "host"], "seen_in": ["request"],
         "urls": ["https://sdk.privacy-center.org/loader.js", "https://sdk.privacy-center.org/sdk.js"],
         "globals": ["Didomi"], **apis},
        {"name": "OneTrust", "detected_by": ["global"], "seen_in": [], "urls": [], "globals": ["OneTrust", "Optanon"],
         **apis},
    ]  # fmt: skip


def test_an_iab_api_alone_is_an_unnamed_consent_manager() -> None:
    rows = collect_consent_managers(parse_html("<p>x</p>", PAGE), ConsentSignals([], tcf={}, gpp=None))
    assert [(row.title, row.details) for row in rows] == [
        (
            "Consent manager behind the IAB consent API, platform not recognised",
            {"name": None, "detected_by": ["api"], "seen_in": [], "urls": [], "globals": [], "tcf_api": True,
             "gpp_api": False, "tcf": None, "gpp": None},
        )
    ]  # fmt: skip


def test_the_cmp_id_a_ping_answers_names_a_platform_seen_no_other_way() -> None:
    tcf = {"cmp_id": 134, "cmp_status": "loaded", "display_status": "visible"}
    rows = collect_consent_managers(parse_html("<p>x</p>", PAGE), ConsentSignals([], tcf=tcf, gpp={"cmp_id": 134}))
    assert [(row.title, row.details) for row in rows] == [
        (
            "Consent manager Cookiebot (by cmp_id)",
            {"name": "Cookiebot", "detected_by": ["cmp_id"], "seen_in": [], "urls": [], "globals": [], "tcf_api": True,
             "gpp_api": True, "tcf": tcf, "gpp": {"cmp_id": 134}},
        )
    ]  # fmt: skip


def test_an_unknown_cmp_id_leaves_the_platform_unnamed() -> None:
    rows = found("<p>x</p>", ConsentSignals([], tcf={"cmp_id": 9999, "cmp_status": "loaded"}))
    assert [(row["name"], row["detected_by"], row["tcf"]) for row in rows] == [
        (None, ["api"], {"cmp_id": 9999, "cmp_status": "loaded"})
    ]


def test_a_browser_that_saw_nothing_reports_nothing() -> None:
    assert found("<p>x</p>", ConsentSignals([], requests=[PAGE])) == []
