"""Evidence for trackers: third-party requests that EasyList/EasyPrivacy block or that go to a known
tracking vendor, hosts of the same kind named in inline scripts, and vendor snippets configured inline.

Every tracker row has the same keys whatever its source, so rules and readers need no special cases:
source ("network": a tag loads it, or a browser saw the page request it; "inline_reference": an inline script
names the host, which no tag loads; "inline": a vendor's snippet with its account ids), observed ("document":
found in the served HTML or the rendered DOM; "request": only in a request a browser saw the page make),
request (for observed "request", the URL of the first such request), vendor, category, host,
registrable_domain, urls, request_types, matched (blocklist verdict; None for inline rows, which name no URL)
and ids (account ids found inline).
"""

from __future__ import annotations

from typing import Any

import braveblock

from scanfleet.model import Evidence, Severity
from scanfleet.worker.privacy.document import Document, Reference
from scanfleet.worker.privacy.domains import registrable_domain
from scanfleet.worker.privacy.script_hosts import NamedHost
from scanfleet.worker.privacy.signatures import find_signatures
from scanfleet.worker.privacy.third_parties import URLS_PER_HOST
from scanfleet.worker.privacy.vendors import Category, home_domain, vendor_for

# Built once per process (~0.1 s): the EasyList and EasyPrivacy copies bundled in the wheel, so a
# scan never downloads a list and every worker judges URLs the same way.
_BLOCKER = braveblock.Adblocker()
_HIGH_RISK = frozenset({Category.ADVERTISING, Category.SESSION_RECORDING})


def is_blocklisted(url: str, page_url: str, request_type: str) -> bool:
    """Whether an ad blocker with EasyList + EasyPrivacy would block `url` loaded by the page as `request_type`."""
    return _BLOCKER.check_network_urls(url=url, source_url=page_url, request_type=request_type)


def collect_trackers(document: Document | None) -> list[Evidence]:
    """Network rows sorted by host, inline_reference rows sorted by host, then one inline row per vendor in
    signature order.

    Severity: high for advertising and session recording (cross-site profiles; recordings of everything
    typed and clicked), medium for every other category.
    """
    if document is None:
        return []
    rows = [
        row
        for host, references in sorted(document.third_parties.items())
        if (row := _network_row(document, host, references)) is not None
    ]
    for host, named in sorted(document.inline_third_parties.items()):
        if host not in document.third_parties and (row := _named_row(document, host, named)) is not None:
            rows.append(row)
    for vendor, ids in find_signatures(document.inline_scripts).items():
        details = _details("inline", vendor.name, vendor.category, ids=ids, registrable_domain=home_domain(vendor))
        rows.append(_row(f"{vendor.name} configured inline ({', '.join(ids)})", vendor.category, details, document.url))
    return rows


def _network_row(document: Document, host: str, references: list[Reference]) -> Evidence | None:
    distinct = list(dict.fromkeys((reference.url, reference.request_type) for reference in references))
    return _host_row("network", document, host, distinct)


def _named_row(document: Document, host: str, named: NamedHost) -> Evidence | None:
    # Judged as the script a loader's URL almost always is; what it is really fetched as, only a browser sees.
    return _host_row("inline_reference", document, host, [(url, "script") for url in named.urls])


def _host_row(source: str, document: Document, host: str, distinct: list[tuple[str, str]]) -> Evidence | None:
    matched = any(is_blocklisted(url, document.url, request_type) for url, request_type in distinct)
    if vendor_for(host) is None and not matched:
        return None
    where = f"{host}, named in an inline script" if source == "inline_reference" else host
    return host_row(source, host, distinct, matched, document.url, where)


def host_row(
    source: str,
    host: str,
    distinct: list[tuple[str, str]],
    matched: bool,
    page_url: str,
    where: str,
    **found: Any,
) -> Evidence:
    """The tracker row of a host of a known vendor or with blocklisted URLs (`matched`), loaded as `distinct`
    (url, request type) pairs."""
    vendor = vendor_for(host)
    category = vendor.category if vendor is not None else Category.UNCLASSIFIED
    details = _details(
        source,
        vendor.name if vendor is not None else None,
        category,
        host=host,
        registrable_domain=registrable_domain(host),
        urls=list(dict.fromkeys(url for url, _ in distinct))[:URLS_PER_HOST],
        request_types=sorted({request_type for _, request_type in distinct}),
        matched=matched,
        **found,
    )
    return _row(f"{details['vendor'] or 'Blocklisted'} at {where}", category, details, page_url)


def _details(source: str, vendor: str | None, category: Category, **found: Any) -> dict[str, Any]:
    empty: dict[str, Any] = {
        "observed": "document",
        "request": None,
        "host": None,
        "registrable_domain": None,
        "urls": [],
        "request_types": [],
        "matched": None,
        "ids": [],
    }
    return {"source": source, "vendor": vendor, "category": category.value} | empty | found


def _row(what: str, category: Category, details: dict[str, Any], page_url: str) -> Evidence:
    return Evidence(
        kind="tracker",
        severity=Severity.HIGH if category in _HIGH_RISK else Severity.MEDIUM,
        title=f"Tracker ({category.value}): {what}",
        details=details,
        location=page_url,
    )
