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
# Privacy Platform. Any platform can implement them, so they say a consent manager is there, not which.
TCF_API = "__tcfapi"
GPP_API = "__gpp"


@dataclass(frozen=True)
class ConsentManager:
    name: str
    hosts: tuple[str, ...] = ()
    globals: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()  # URL path prefixes of a copy served from the site itself (WordPress plugins)


CONSENT_MANAGERS: tuple[ConsentManager, ...] = (
    ConsentManager(
        "OneTrust",
        ("cookielaw.org", "onetrust.com", "cookiepro.com", "optanon.blob.core.windows.net"),
        ("OneTrust", "Optanon"),
    ),
    ConsentManager("Cookiebot", ("cookiebot.com", "cookiebot.eu"), ("Cookiebot",)),
    ConsentManager("Usercentrics", ("usercentrics.eu", "usercentrics.com"), ("UC_UI", "__ucCmp")),
    ConsentManager("Didomi", ("privacy-center.org", "didomi.io"), ("Didomi",)),
    ConsentManager("Quantcast Choice", ("cmp.quantcast.com", "quantcast.mgr.consensu.org")),
    ConsentManager("TrustArc", ("trustarc.com", "truste.com"), ("truste",)),
    ConsentManager("iubenda", ("iubenda.com",), ("_iub",)),
    ConsentManager(
        "Complianz",
        globals=("complianz",),
        paths=("/wp-content/plugins/complianz-gdpr/", "/wp-content/plugins/complianz-gdpr-premium/"),
    ),
    ConsentManager(
        "CookieYes",
        ("cdn-cookieyes.com", "cookieyes.com"),
        ("getCkyConsent",),
        ("/wp-content/plugins/cookie-law-info/",),
    ),
    ConsentManager("Osano", ("osano.com",), ("Osano",)),
    ConsentManager("Google Funding Choices", ("fundingchoicesmessages.google.com",), ("googlefc",)),
    ConsentManager("Sourcepoint", ("privacy-mgmt.com",), ("_sp_",)),
    ConsentManager("CookieFirst", ("cookiefirst.com",), ("CookieFirst",)),
    ConsentManager("Cookie Information", ("cookieinformation.com",), ("CookieInformation",)),
    ConsentManager("Civic Cookie Control", ("civiccomputing.com",), ("CookieControl",)),
    ConsentManager("Cookie Script", ("cookie-script.com",), ("CookieScript",)),
    ConsentManager("Borlabs Cookie", globals=("BorlabsCookie",), paths=("/wp-content/plugins/borlabs-cookie/",)),
    ConsentManager("Axeptio", ("axept.io",)),
    ConsentManager("consentmanager.net", ("consentmanager.net",)),
    ConsentManager("Termly", ("termly.io",)),
    ConsentManager("Klaro", ("kiprotect.com",), ("klaro",)),
)

_BY_HOST: dict[str, ConsentManager] = {host: cmp for cmp in CONSENT_MANAGERS for host in cmp.hosts}
_BY_GLOBAL: dict[str, ConsentManager] = {name: cmp for cmp in CONSENT_MANAGERS for name in cmp.globals}
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
