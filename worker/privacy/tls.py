"""Evidence for the TLS certificate of every https hop: who issued it, what it covers, when it runs out."""

from __future__ import annotations

from datetime import datetime

from scanfleet.http.fetch import FetchResult
from scanfleet.model import Evidence, Severity

# Certificate renewal thresholds: ACME clients renew at 30 days left, so under 30 a renewal is overdue,
# and under 14 the site is days from every visitor seeing a certificate error.
EXPIRY_HIGH_DAYS = 14
EXPIRY_MEDIUM_DAYS = 30


def days_left(not_after: datetime, now: datetime) -> int:
    """Whole days until expiry, rounded down: 0 in the last day, negative once expired."""
    return (not_after - now).days


def expiry_severity(days: int | None) -> Severity:
    if days is not None and days < EXPIRY_HIGH_DAYS:
        return Severity.HIGH
    return Severity.MEDIUM if days is not None and days < EXPIRY_MEDIUM_DAYS else Severity.INFO


def collect_tls(result: FetchResult, now: datetime) -> list[Evidence]:
    """One "tls_certificate" row per hop that reports a TLS session, in hop order."""
    rows: list[Evidence] = []
    for index, hop in enumerate(result.hops):
        tls = hop.tls
        if tls is None:
            continue
        days = days_left(tls.not_after, now) if tls.not_after else None
        issuer = tls.issuer.get("organizationName") or tls.issuer.get("commonName") or "unknown issuer"
        left = f", {days} days left" if days is not None else ""
        rows.append(
            Evidence(
                kind="tls_certificate",
                severity=expiry_severity(days),
                title=f"TLS certificate from {issuer}{left}",
                details={
                    "hop": index,
                    "url": hop.url,
                    "issuer": tls.issuer,
                    "subject": tls.subject,
                    "subject_alt_names": tls.subject_alt_names,
                    "not_before": tls.not_before.isoformat() if tls.not_before else None,
                    "not_after": tls.not_after.isoformat() if tls.not_after else None,
                    "days_left": days,
                    "expired": days is not None and days < 0,
                    "protocol": tls.protocol,
                    "cipher": tls.cipher,
                },
                location=hop.url,
            )
        )
    return rows
