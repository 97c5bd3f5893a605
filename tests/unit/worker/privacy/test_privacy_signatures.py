import pytest

from scanfleet.worker.privacy import vendors as v
from scanfleet.worker.privacy.signatures import SIGNATURES, find_signatures

POSITIVE = [
    (v.GOOGLE_ANALYTICS, "gtag('config', 'G-7XK2M9QW4R');", ["G-7XK2M9QW4R"]),
    (v.GOOGLE_ANALYTICS, "ga('create', 'UA-12345-6', 'auto');", ["UA-12345-6"]),
    (v.GOOGLE_TAG_MANAGER, "})(window,document,'script','dataLayer','GTM-K4X9PQ2');", ["GTM-K4X9PQ2"]),
    (v.META, "fbq('init', '1234567890123456'); fbq('track', 'PageView');", ["1234567890123456"]),
    (v.META, 'fbq( "init" , "987654" )', ["987654"]),
    (v.HOTJAR, "h._hjSettings={hjid:3456789,hjsv:6};", ["3456789"]),
    (v.HOTJAR, "_hjSettings = { hjid : 42424, hjsv: 6 }", ["42424"]),
    (v.CLARITY, '})(window, document, "clarity", "script", "k3x9m2p7q1");', ["k3x9m2p7q1"]),
    (v.FULLSTORY, "window['_fs_org'] = 'o-1QX2Y3-na1';", ["o-1QX2Y3-na1"]),
    (v.FULLSTORY, 'window._fs_org = "ABC12";', ["ABC12"]),
    (v.LINKEDIN, '_linkedin_partner_id = "4567890";', ["4567890"]),
    (v.LINKEDIN, "_linkedin_partner_id=123456;", ["123456"]),
    (v.TIKTOK, "ttq.load('C9ABCDEF0123456789GH'); ttq.page();", ["C9ABCDEF0123456789GH"]),
    (v.MATOMO, "_paq.push(['setSiteId', '3']);", ["3"]),
    (v.MATOMO, '_paq.push(["setSiteId", 12]);', ["12"]),
    (v.YANDEX_METRICA, 'ym(91234567, "init", {clickmap:true});', ["91234567"]),
]

NEGATIVE = [
    (v.GOOGLE_ANALYTICS, 'var key = "G-minor"; // G-7XK2M9QW4R unquoted'),
    (v.GOOGLE_ANALYTICS, "ga('create', 'UA-12345', 'auto');"),  # no property suffix
    (v.GOOGLE_TAG_MANAGER, "var prefix = 'GTM-'; var lower = 'GTM-abcd';"),
    (v.META, "fbq('track', 'PageView'); myfbq('init', '1234567');"),
    (v.HOTJAR, "h._hjSettings={hjsv:6}; var hjidx: 1234567;"),
    (v.CLARITY, 'c(window, document, "clarity", "style", "k3x9m2p7q1");'),
    (v.FULLSTORY, "window['_fs_namespace'] = 'FS'; window['_fs_host'] = 'fullstory.com';"),
    (v.LINKEDIN, "window._linkedin_data_partner_ids.push(_linkedin_partner_id);"),
    (v.TIKTOK, "ttq.page(); ttq.load(pixelId);"),
    (v.MATOMO, "_paq.push(['trackPageView']); _paq.push(['enableLinkTracking']);"),
    (v.YANDEX_METRICA, 'ym(91234567, "reachGoal", "checkout");'),
]


def ids_for(vendor: v.Vendor, script: str) -> list[str]:
    return find_signatures([script]).get(vendor, [])


@pytest.mark.parametrize(
    ("vendor", "script", "ids"), POSITIVE, ids=[f"{v.name}-{n}" for n, (v, _, _) in enumerate(POSITIVE)]
)
def test_signature_finds_the_id(vendor: v.Vendor, script: str, ids: list[str]) -> None:
    assert ids_for(vendor, script) == ids


@pytest.mark.parametrize(("vendor", "script"), NEGATIVE, ids=[v.name for v, _ in NEGATIVE])
def test_signature_ignores_lookalikes(vendor: v.Vendor, script: str) -> None:
    assert find_signatures([script]) == {}


def test_every_signature_has_a_positive_and_a_negative_case() -> None:
    vendors = {signature.vendor for signature in SIGNATURES}
    assert {vendor for vendor, _, _ in POSITIVE} == vendors
    assert {vendor for vendor, _ in NEGATIVE} == vendors


def test_ids_are_distinct_across_scripts_and_vendors_keep_table_order() -> None:
    scripts = [
        "fbq('init', '111111'); gtag('config', 'G-AAAA1111');",
        "gtag('config', 'G-AAAA1111'); gtag('config', 'G-BBBB2222'); fbq('init', '111111');",
    ]
    assert find_signatures(scripts) == {v.GOOGLE_ANALYTICS: ["G-AAAA1111", "G-BBBB2222"], v.META: ["111111"]}


def test_nothing_found_in_plain_code() -> None:
    assert find_signatures(["document.querySelector('#menu').addEventListener('click', toggle);", ""]) == {}
