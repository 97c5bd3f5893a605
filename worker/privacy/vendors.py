"""Well-known tracking vendors by host or registrable domain, and the categories the rules speak of.

Small and curated on purpose: EasyList/EasyPrivacy say whether a URL tracks, this map says who and
what for, so a site owner reads "Hotjar, session recording" rather than a blocklist hit.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from scanfleet.worker.privacy.domains import registrable_domain


class Category(StrEnum):
    ANALYTICS = "analytics"
    ADVERTISING = "advertising"
    SESSION_RECORDING = "session_recording"
    TAG_MANAGER = "tag_manager"
    SOCIAL = "social"
    MARKETING = "marketing"
    UNCLASSIFIED = "unclassified"  # on the blocklist, vendor not in this map


@dataclass(frozen=True)
class Vendor:
    name: str
    category: Category


GOOGLE_ANALYTICS = Vendor("Google Analytics", Category.ANALYTICS)
GOOGLE_TAG_MANAGER = Vendor("Google Tag Manager", Category.TAG_MANAGER)
META = Vendor("Meta Pixel", Category.ADVERTISING)
HOTJAR = Vendor("Hotjar", Category.SESSION_RECORDING)
CLARITY = Vendor("Microsoft Clarity", Category.SESSION_RECORDING)
FULLSTORY = Vendor("FullStory", Category.SESSION_RECORDING)
LINKEDIN = Vendor("LinkedIn Insight Tag", Category.ADVERTISING)
TIKTOK = Vendor("TikTok Pixel", Category.ADVERTISING)
MATOMO = Vendor("Matomo", Category.ANALYTICS)
YANDEX_METRICA = Vendor("Yandex Metrica", Category.ANALYTICS)

_BY_NAME: dict[tuple[str, ...], Vendor] = {
    ("google-analytics.com", "analytics.google.com"): GOOGLE_ANALYTICS,
    ("googletagmanager.com",): GOOGLE_TAG_MANAGER,
    ("doubleclick.net",): Vendor("Google DoubleClick", Category.ADVERTISING),
    ("googlesyndication.com",): Vendor("Google AdSense", Category.ADVERTISING),
    ("googleadservices.com",): Vendor("Google Ads", Category.ADVERTISING),
    ("facebook.net", "facebook.com"): META,
    ("hotjar.com", "hotjar.io"): HOTJAR,
    ("clarity.ms",): CLARITY,
    ("fullstory.com",): FULLSTORY,
    ("mouseflow.com",): Vendor("Mouseflow", Category.SESSION_RECORDING),
    ("luckyorange.com", "luckyorange.net"): Vendor("Lucky Orange", Category.SESSION_RECORDING),
    ("inspectlet.com",): Vendor("Inspectlet", Category.SESSION_RECORDING),
    ("licdn.com", "linkedin.com"): LINKEDIN,
    ("tiktok.com",): TIKTOK,
    ("ads-twitter.com",): Vendor("X (Twitter) Ads", Category.ADVERTISING),
    ("twitter.com", "x.com"): Vendor("X (Twitter)", Category.SOCIAL),
    ("criteo.com", "criteo.net"): Vendor("Criteo", Category.ADVERTISING),
    ("segment.com", "segment.io"): Vendor("Segment", Category.ANALYTICS),
    ("mixpanel.com", "mxpnl.com"): Vendor("Mixpanel", Category.ANALYTICS),
    ("amplitude.com",): Vendor("Amplitude", Category.ANALYTICS),
    ("hs-scripts.com", "hs-analytics.net", "hsforms.net", "hubspot.com", "hs-banner.com"): Vendor(
        "HubSpot", Category.MARKETING
    ),
    ("intercom.io", "intercomcdn.com"): Vendor("Intercom", Category.MARKETING),
    ("matomo.cloud", "innocraft.cloud"): MATOMO,
    ("mc.yandex.ru", "mc.yandex.com"): YANDEX_METRICA,
    ("bat.bing.com",): Vendor("Microsoft Advertising (Bing UET)", Category.ADVERTISING),
    ("pinterest.com", "pinimg.com"): Vendor("Pinterest Tag", Category.ADVERTISING),
    ("snapchat.com", "sc-static.net"): Vendor("Snap Pixel", Category.ADVERTISING),
    ("omtrdc.net", "demdex.net", "2o7.net", "everesttech.net"): Vendor("Adobe Analytics", Category.ANALYTICS),
    ("adobedtm.com",): Vendor("Adobe Experience Platform Tags", Category.TAG_MANAGER),
    ("quantserve.com", "quantcount.com"): Vendor("Quantcast", Category.ADVERTISING),
    ("taboola.com",): Vendor("Taboola", Category.ADVERTISING),
    ("outbrain.com",): Vendor("Outbrain", Category.ADVERTISING),
    ("adnxs.com",): Vendor("Xandr", Category.ADVERTISING),
    ("scorecardresearch.com",): Vendor("Comscore", Category.ANALYTICS),
    ("cloudflareinsights.com",): Vendor("Cloudflare Web Analytics", Category.ANALYTICS),
    ("plausible.io",): Vendor("Plausible", Category.ANALYTICS),
    ("addthis.com",): Vendor("AddThis", Category.SOCIAL),
    ("sharethis.com",): Vendor("ShareThis", Category.SOCIAL),
    ("disqus.com",): Vendor("Disqus", Category.SOCIAL),
}
# Keys are registrable domains, or hosts where the registrable domain is shared with unrelated
# services (bing.com, yandex.ru, google.com).
VENDORS: dict[str, Vendor] = {name: vendor for names, vendor in _BY_NAME.items() for name in names}


def home_domain(vendor: Vendor) -> str | None:
    """The registrable domain a vendor serves its script from (its first name above), for snippets
    found inline: the page names no host, but the snippet loads from there at run time."""
    return _HOME.get(vendor)


def vendor_for(host: str) -> Vendor | None:
    """The vendor behind `host`: an exact host entry first, then its registrable domain."""
    return VENDORS.get(host) or VENDORS.get(registrable_domain(host))


_HOME: dict[Vendor, str] = {}
for _names, _vendor in _BY_NAME.items():
    _HOME.setdefault(_vendor, registrable_domain(_names[0]))
