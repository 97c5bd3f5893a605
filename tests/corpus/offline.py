"""Corpus pages as FetchResults without a network: what bench/privacy_quality.py and the offline test analyse.

The page is served from https://corpus.test (or http://), with a certificate as the corpus server
would present it, so analyse() sees what the end-to-end scan sees up to host and port.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from scanfleet.http.fetch import FetchResult, Hop, TlsInfo
from tests.corpus.model import SERVERS, CorpusPage

ORIGIN_HOST = "corpus.test"
_DEFAULT_CERT_DAYS = 3650  # trustme's default certificate is valid for centuries: any long life will do


def fetch_result(page: CorpusPage, now: datetime) -> FetchResult:
    server = SERVERS[page.server]
    url = f"{'https' if server.tls else 'http'}://{ORIGIN_HOST}{page.path}"
    final = Hop(
        url,
        200,
        httpx.Headers(page.response_headers()),
        "127.0.0.1",
        0.0,
        _tls(server.cert_days, now) if server.tls else None,
    )
    hops = [final]
    if page.via_http:
        start = Hop(f"http://{ORIGIN_HOST}{page.path}/start", 301, httpx.Headers({"location": url}), "127.0.0.1", 0.0)
        hops.insert(0, start)
    return FetchResult(hops, page.body.encode())


def _tls(cert_days: float | None, now: datetime) -> TlsInfo:
    return TlsInfo(
        protocol="TLSv1.3",
        cipher="TLS_AES_256_GCM_SHA384",
        subject={},
        issuer={"organizationName": "corpus test CA"},
        subject_alt_names=[ORIGIN_HOST],
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=cert_days or _DEFAULT_CERT_DAYS),
    )
