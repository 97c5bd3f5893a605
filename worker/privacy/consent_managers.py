"""Consent management platforms (cookie banners) by the hosts they serve from, the paths of their self-hosted
copies, and the page globals their scripts define.

Curated like vendors.py: each entry is one a scan can name reliably. Hosts are registrable domains, or hosts
where the registrable domain is shared with unrelated services (google.com, windows.net, consensu.org). Globals
are objects or functions the platform's own script defines, not names a site might use for anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from scanfleet.worker.privacy.domains import host_of, registrable_domain

# The IAB's JavaScript APIs a consent manager may expose: Transparency and Consent Framework v2 and Global
# Privacy Platform. Any platform can implement them; the `cmpId` their ping answers names which (cmp_ids).
TCF_API = "__tcfapi"
GPP_API = "__gpp"


@dataclass(frozen=True)
class ConsentManager:
    name: str
    hosts: tuple[str, ...] = ()
    globals: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()  # URL path prefixes of a copy served from the site itself (WordPress plugins)
    cmp_ids: tuple[int, ...] = ()  # in the IAB CMP list (see CMP_LIST_SOURCE)


# Where the cmp_ids come from: the IAB Europe CMP list (https://cmp-list.consensu.org/v2/cmp-list.json), as
# of its copy last updated 2025-03-20 in github.com/nagug/TCFProcessor (cmp-list.json). Each id is that list's
# entry of the same company ("OneTrust LLC" is 28, "Cookiebot" 134, "Didomi" 7, "Usercentrics.com" 5, ...);
# a platform whose entry was not found there has none. Ids are never reused, so a new list only adds.
CMP_LIST_SOURCE = "https://cmp-list.consensu.org/v2/cmp-list.json (2025-03-20)"

CONSENT_MANAGERS: tuple[ConsentManager, ...] = (
    ConsentManager(
        "OneTrust",
        ("cookielaw.org", "onetrust.com", "cookiepro.com", "optanon.blob.core.windows.net"),
        ("OneTrust", "Optanon"),
        cmp_ids=(28,),
    ),
    ConsentManager("Cookiebot", ("cookiebot.com", "cookiebot.eu"), ("Cookiebot",), cmp_ids=(134,)),
    ConsentManager("Usercentrics", ("usercentrics.eu", "usercentrics.com"), ("UC_UI", "__ucCmp"), cmp_ids=(5,)),
    ConsentManager("Didomi", ("privacy-center.org", "didomi.io"), ("Didomi",), cmp_ids=(7,)),
    ConsentManager("Quantcast Choice", ("cmp.quantcast.com", "quantcast.mgr.consensu.org")),
    ConsentManager("TrustArc", ("trustarc.com", "truste.com"), ("truste",), cmp_ids=(47,)),
    ConsentManager("iubenda", ("iubenda.com",), ("_iub",), cmp_ids=(123,)),
    ConsentManager(
        "Complianz",
        globals=("complianz",),
        paths=("/wp-content/plugins/complianz-gdpr/", "/wp-content/plugins/complianz-gdpr-premium/"),
        cmp_ids=(332,),
    ),
    ConsentManager(
        "CookieYes",
        ("cdn-cookieyes.com", "cookieyes.com"),
        ("getCkyConsent",),
        ("/wp-content/plugins/cookie-law-info/",),
        cmp_ids=(401,),
    ),
    ConsentManager("Osano", ("osano.com",), ("Osano",), cmp_ids=(279,)),
    ConsentManager("Google Funding Choices", ("fundingchoicesmessages.google.com",), ("googlefc",), cmp_ids=(300,)),
    ConsentManager("Sourcepoint", ("privacy-mgmt.com",), ("_sp_",), cmp_ids=(6,)),
    ConsentManager("CookieFirst", ("cookiefirst.com",), ("CookieFirst",), cmp_ids=(382,)),
    ConsentManager("Cookie Information", ("cookieinformation.com",), ("CookieInformation",), cmp_ids=(162,)),
    ConsentManager("Civic Cookie Control", ("civiccomputing.com",), ("CookieControl",), cmp_ids=(259,)),
    ConsentManager("Cookie Script", ("cookie-script.com",), ("CookieScript",)),
    ConsentManager(
        "Borlabs Cookie", globals=("BorlabsCookie",), paths=("/wp-content/plugins/borlabs-cookie/",), cmp_ids=(323,)
    ),
    ConsentManager("Axeptio", ("axept.io",), cmp_ids=(260,)),
    ConsentManager("consentmanager.net", ("consentmanager.net",), cmp_ids=(31,)),
    ConsentManager("Termly", ("termly.io",), cmp_ids=(412,)),
    ConsentManager("Klaro", ("kiprotect.com",), ("klaro",)),
)

_BY_HOST: dict[str, ConsentManager] = {host: cmp for cmp in CONSENT_MANAGERS for host in cmp.hosts}
_BY_GLOBAL: dict[str, ConsentManager] = {name: cmp for cmp in CONSENT_MANAGERS for name in cmp.globals}
_BY_CMP_ID: dict[int, ConsentManager] = {cmp_id: cmp for cmp in CONSENT_MANAGERS for cmp_id in cmp.cmp_ids}
_PATHS: tuple[tuple[str, ConsentManager], ...] = tuple((path, cmp) for cmp in CONSENT_MANAGERS for path in cmp.paths)
GLOBALS: tuple[str, ...] = tuple(_BY_GLOBAL)  # every global the browser engine looks for
HOSTS: frozenset[str] = frozenset(_BY_HOST)


def consent_manager_for_host(host: str) -> ConsentManager | None:
    """The platform serving from `host`: an exact host entry first, then its registrable domain."""
    return _BY_HOST.get(host) or _BY_HOST.get(registrable_domain(host))


def consent_manager_for_url(url: str, host: str | None = None) -> tuple[ConsentManager, str] | None:
    """The platform a URL loads, and how it was known: "host" (its service) or "path" (a self-hosted copy).
    `host` is the URL's, when the caller has it parsed already."""
    host = host if host is not None else host_of(url)
    if host and (found := consent_manager_for_host(host)) is not None:
        return found, "host"
    if any(prefix in url for prefix, _ in _PATHS):  # most URLs stop here, unparsed
        path = urlsplit(url).path
        for prefix, cmp in _PATHS:
            if path.startswith(prefix):
                return cmp, "path"
    return None


def consent_manager_for_global(name: str) -> ConsentManager | None:
    return _BY_GLOBAL.get(name)


def consent_manager_for_cmp_id(cmp_id: object) -> ConsentManager | None:
    """The platform an IAB API's `cmpId` names (the ping answer is the page's: any JSON value)."""
    return _BY_CMP_ID.get(cmp_id) if isinstance(cmp_id, int) and not isinstance(cmp_id, bool) else None
