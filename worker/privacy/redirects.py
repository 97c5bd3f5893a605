"""Evidence for the redirect chain: one row per hop plus a row for where the scan ended up."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from scanfleet.http.fetch import FetchResult
from scanfleet.results import Evidence, Severity


def collect_redirects(result: FetchResult) -> list[Evidence]:
    """Rows of kind "redirect" (one per hop, in order) followed by one row of kind "final_url".

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
    return rows
