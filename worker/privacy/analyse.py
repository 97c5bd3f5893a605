"""Entry point: run every evidence collector over a fetch result, then the rules over the evidence."""

from __future__ import annotations

from scanfleet.http.fetch import FetchResult
from scanfleet.results import Evidence, Issue
from worker.privacy.cookies import collect_cookies
from worker.privacy.headers import collect_security_headers
from worker.privacy.redirects import collect_redirects
from worker.privacy.rules import evaluate
from worker.privacy.third_parties import collect_third_parties


def analyse(result: FetchResult) -> tuple[list[Evidence], list[Issue]]:
    """Evidence rows in a fixed order (redirects, final URL, cookies, headers, third parties) and the issues.

    Issue.evidence holds indexes into the returned evidence list.
    """
    evidence = [
        *collect_redirects(result),
        *collect_cookies(result),
        *collect_security_headers(result),
        *collect_third_parties(result),
    ]
    return evidence, evaluate(evidence)
