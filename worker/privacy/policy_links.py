"""Evidence for the page's link to its privacy policy (and, where the law asks for one, its imprint).

A link counts when its text, title or URL path names a privacy policy in one of the languages below.
The patterns are matched against lower-cased text: re.IGNORECASE turns off the regex engine's literal
scan and makes a page with thousands of links eight times slower.
Links to a vendor's own policy (the reCAPTCHA badge's "Google Privacy Policy", a tracker's terms) are
not the site's and do not count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from scanfleet.model import Evidence, Severity
from scanfleet.worker.privacy.document import Document, resolve_url
from scanfleet.worker.privacy.domains import host_of, registrable_domain
from scanfleet.worker.privacy.vendors import vendor_for

PRIVACY = re.compile(
    r"privacy|privacidad|privacidade|datenschutz|confidentialit|donn[ée]es[ -]personnelles|protection[ -]des[ -]donn"
    r"|protecci[oó]n[ -]de[ -]datos|data[ -]protection|integritetspolicy|personvern|tietosuoja|prywatno"
    r"|riservatezza|privatsph"
)
IMPRINT = re.compile(r"imprint|impressum|mentions[ -]l[ée]gales|aviso[ -]legal|legal[ -]notice|note[ -]legali|colofon")
_EITHER = re.compile(f"{PRIVACY.pattern}|{IMPRINT.pattern}")  # a first pass over every link on the page
# Sites whose policies describe the vendor, not the page that links to them.
_VENDOR_POLICY_SITES = frozenset({"google.com"})


@dataclass(frozen=True)
class Link:
    url: str
    text: str


def collect_privacy_policy(document: Document | None) -> list[Evidence]:
    """Exactly one "privacy_policy" row for an HTML page: the first policy link, same-site links preferred.

    Severity: info when a link was found, medium when none was.
    """
    if document is None:
        return []
    policies: list[Link] = []
    imprints: list[Link] = []
    for anchor in document.anchors:
        # The raw text and href contain everything the exact test looks at: a cheap filter first.
        if not _EITHER.search(f"{anchor.text} {unquote(anchor.href)}".lower()):
            continue
        url = resolve_url(anchor.href, document.base_url)
        if url is None:
            continue
        label = f"{anchor.text} {unquote(urlsplit(url).path)}".lower()
        if PRIVACY.search(label):
            policies.append(Link(url, anchor.text))
        if IMPRINT.search(label):
            imprints.append(Link(url, anchor.text))
    policy, imprint = _best(document, policies), _best(document, imprints)
    details: dict[str, Any] = {
        "found": policy is not None,
        "url": policy.url if policy else None,
        "text": policy.text if policy else None,
        "same_site": _same_site(document, policy) if policy else None,
        "imprint_url": imprint.url if imprint else None,
    }
    return [
        Evidence(
            kind="privacy_policy",
            severity=Severity.INFO if policy else Severity.MEDIUM,
            title=f"Privacy policy link: {policy.url}" if policy else "No link to a privacy policy",
            details=details,
            location=document.url,
        )
    ]


def _best(document: Document, links: list[Link]) -> Link | None:
    """The first same-site link, else the first one not pointing at a vendor's own policy."""
    own = [link for link in links if not _vendor_policy(link)]
    return next((link for link in own if _same_site(document, link)), own[0] if own else None)


def _same_site(document: Document, link: Link) -> bool:
    return registrable_domain(host_of(link.url) or "") == document.site


def _vendor_policy(link: Link) -> bool:
    host = host_of(link.url) or ""
    return registrable_domain(host) in _VENDOR_POLICY_SITES or vendor_for(host) is not None
