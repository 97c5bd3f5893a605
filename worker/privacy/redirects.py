"""Evidence for the redirect chain: one row per hop, a row for where the scan ended up and, for a scan
that started on http://, whether and where it was sent to https://."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from scanfleet.http.fetch import FetchResult
from scanfleet.model import Evidence, Severity


def collect_redirects(result: FetchResult) -> list[Evidence]:
    """Rows of kind "redirect" (one per hop, in order), one row of kind "final_url", then an
    "https_redirect" row when the first hop was http://.

    A hop's "location" is its Location header resolved against the hop URL, so relative redirects read
    as the absolute URL the fetcher went to next. The final_url row is high severity when the page is
    served over plain http, info otherwise.
    """
    rows: list[Evidence] = []
    for index, hop in enumerate(result.hops):
        raw_location = hop.headers.get("location")
        location = urljoin(hop.url, raw_location.strip()) if raw_location else None
        rows.append(
            Evidence(
                kind="redirect",
                severity=Severity.INFO,
                title=f"{hop.status} → {location}" if location else f"{hop.status} {hop.url}",
                details={
                    "index": index,
                    "url": hop.url,
                    "status": hop.status,
                    "location": location,
                    "address": hop.address,
                },
                location=hop.url,
            )
        )
    final = result.final
    https = urlsplit(final.url).scheme == "https"
    rows.append(
        Evidence(
            kind="final_url",
            severity=Severity.INFO if https else Severity.HIGH,
            title=f"Final URL {final.url} ({final.status})",
            details={"url": final.url, "status": final.status, "hops": len(result.hops), "https": https},
            location=final.url,
        )
    )
    if urlsplit(result.hops[0].url).scheme == "http":
        rows.append(_https_redirect(result))
    return rows


def _https_redirect(result: FetchResult) -> Evidence:
    """Whether an http:// start ended on https:// and which hop first went there.

    Ending on https is what counts: a chain that bounces through https back to http was not upgraded.
    Severity: info when upgraded, medium otherwise (the http_not_redirected_to_https rule's severity).
    """
    start, final = result.hops[0], result.final
    upgraded = urlsplit(final.url).scheme == "https"
    https_hop = next((i for i, hop in enumerate(result.hops) if urlsplit(hop.url).scheme == "https"), None)
    outcome = f"redirected to https:// at hop {https_hop}" if upgraded else "not redirected to https://"
    return Evidence(
        kind="https_redirect",
        severity=Severity.INFO if upgraded else Severity.MEDIUM,
        title=f"http:// {outcome}",
        details={
            "start_url": start.url,
            "final_url": final.url,
            "redirected_to_https": upgraded,
            "https_hop": https_hop,
            "https_url": result.hops[https_hop].url if https_hop is not None else None,
        },
        location=start.url,
    )
