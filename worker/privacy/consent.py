"""Evidence for consent managers (cookie banners): recognised by the hosts and paths their scripts load from,
in the page's tags and inline scripts, and, in a browser, in its requests, its globals and the IAB APIs.

Everything here is observed before any interaction with a banner: neither engine clicks one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scanfleet.model import Evidence, Severity
from scanfleet.worker.privacy.consent_managers import (
    ConsentManager,
    consent_manager_for_cmp_id,
    consent_manager_for_global,
    consent_manager_for_url,
)
from scanfleet.worker.privacy.document import Document
from scanfleet.worker.privacy.third_parties import URLS_PER_HOST


@dataclass(frozen=True)
class ConsentSignals:
    """What a browser saw of the page after it settled: the consent managers' globals it defines (names from
    consent_managers.GLOBALS), the answers of the IAB APIs' `ping` (None: no such function; an empty dict: a
    function that did not answer) and the URLs it requested."""

    globals: list[str]
    tcf: dict[str, Any] | None = None
    gpp: dict[str, Any] | None = None
    requests: list[str] = field(default_factory=list)


@dataclass
class _Found:
    detected_by: set[str] = field(default_factory=set)
    seen_in: set[str] = field(default_factory=set)
    urls: list[str] = field(default_factory=list)
    globals: list[str] = field(default_factory=list)


def collect_consent_managers(document: Document | None, signals: ConsentSignals | None = None) -> list[Evidence]:
    """One "consent_manager" row per platform recognised, by name (in a browser also by the IAB CMP id the TCF or
    GPP ping answered: "cmp_id"); then one unnamed row when an IAB API is there and no platform was recognised.
    Severity info.

    tcf_api and gpp_api say whether `__tcfapi` and `__gpp` exist (None without a browser, which cannot see it);
    tcf and gpp hold what their `ping` answered (None when absent or silent).
    """
    found: dict[ConsentManager, _Found] = {}
    for seen_in, url, host in _urls(document, signals):
        if (match := consent_manager_for_url(url, host)) is not None:
            entry = found.setdefault(match[0], _Found())
            entry.detected_by.add(match[1])
            entry.seen_in.add(seen_in)
            if url not in entry.urls and len(entry.urls) < URLS_PER_HOST:
                entry.urls.append(url)
    for name in signals.globals if signals else ():
        if (cmp := consent_manager_for_global(name)) is not None:
            entry = found.setdefault(cmp, _Found())
            entry.detected_by.add("global")
            entry.globals.append(name)
    for answer in (signals.tcf, signals.gpp) if signals else ():
        if answer and (cmp := consent_manager_for_cmp_id(answer.get("cmp_id"))) is not None:
            found.setdefault(cmp, _Found()).detected_by.add("cmp_id")
    apis = _apis(signals)
    page_url = document.url if document else None
    rows = [_row(cmp.name, entry, apis, page_url) for cmp, entry in sorted(found.items(), key=lambda i: i[0].name)]
    if not rows and (apis["tcf_api"] or apis["gpp_api"]):
        rows.append(_row(None, _Found(detected_by={"api"}), apis, page_url))
    return rows


def _urls(document: Document | None, signals: ConsentSignals | None) -> list[tuple[str, str, str | None]]:
    """(where seen, URL, its host if known) of every URL the page loads or names."""
    urls: list[tuple[str, str, str | None]] = []
    if document is not None:
        urls += [("tag", reference.url, reference.host) for reference in document.references]
        named = document.inline_third_parties.items()
        urls += [("inline_script", url, host) for host, entry in named for url in entry.urls]
    if signals is not None:
        urls += [("request", url, None) for url in signals.requests]
    return urls


def _apis(signals: ConsentSignals | None) -> dict[str, Any]:
    if signals is None:
        return {"tcf_api": None, "gpp_api": None, "tcf": None, "gpp": None}
    return {
        "tcf_api": signals.tcf is not None,
        "gpp_api": signals.gpp is not None,
        "tcf": signals.tcf or None,
        "gpp": signals.gpp or None,
    }


def _row(name: str | None, entry: _Found, apis: dict[str, Any], page_url: str | None) -> Evidence:
    detected_by = sorted(entry.detected_by)
    title = (
        f"Consent manager {name} (by {', '.join(detected_by)})"
        if name
        else "Consent manager behind the IAB consent API, platform not recognised"
    )
    return Evidence(
        kind="consent_manager",
        severity=Severity.INFO,
        title=title,
        details={
            "name": name,
            "detected_by": detected_by,
            "seen_in": sorted(entry.seen_in),
            "urls": entry.urls,
            "globals": sorted(entry.globals),
            **apis,
        },
        location=page_url,
    )
