"""The rule table: each rule turns matching evidence rows into one Issue with a stable code.

The table is data so the README and RULES.md can document exactly what the scanner checks;
RULES.md is rendered from it by `rules_markdown()` and a test keeps the two in sync.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from scanfleet.results import Evidence, Issue, Severity
from worker.privacy.headers import CSP, HSTS, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS

HSTS_MIN_MAX_AGE = 15_552_000  # 180 days, the usual floor (and half the HSTS preload list's one year)

# Frame-ancestors sources that still allow framing from anywhere.
_ANY_ANCESTOR = frozenset({"*", "http:", "https:"})

Match = Callable[[Sequence[Evidence]], list[int]]


@dataclass(frozen=True)
class Rule:
    code: str
    severity: Severity
    title: str
    explanation: str  # why it matters, shown to the user with the issue
    fires_when: str  # the condition, for the documentation
    match: Match  # indexes of the evidence rows that trigger the rule; empty means it does not fire


def _rows(evidence: Sequence[Evidence], kind: str) -> Iterator[tuple[int, dict[str, Any]]]:
    return ((index, row.details) for index, row in enumerate(evidence) if row.kind == kind)


def _final(evidence: Sequence[Evidence]) -> tuple[int, dict[str, Any]] | None:
    return next(_rows(evidence, "final_url"), None)


def _final_https(evidence: Sequence[Evidence]) -> bool:
    final = _final(evidence)
    return final is not None and final[1]["https"]


def _header(evidence: Sequence[Evidence], name: str) -> tuple[int, dict[str, Any]] | None:
    return next(((i, d) for i, d in _rows(evidence, "security_header") if d["header"] == name), None)


def _no_https(evidence: Sequence[Evidence]) -> list[int]:
    final = _final(evidence)
    return [final[0]] if final is not None and not final[1]["https"] else []


def _http_not_redirected(evidence: Sequence[Evidence]) -> list[int]:
    hops = list(_rows(evidence, "redirect"))
    final = _final(evidence)
    if not hops or final is None or urlsplit(hops[0][1]["url"]).scheme != "http" or final[1]["https"]:
        return []
    return [index for index, _ in hops] + [final[0]]


def _header_rule(name: str, failing: Callable[[dict[str, Any]], bool], *, https_only: bool = False) -> Match:
    """A match on one security_header row: fires when `failing(details)` holds."""

    def match(evidence: Sequence[Evidence]) -> list[int]:
        row = _header(evidence, name)
        if row is None or (https_only and not _final_https(evidence)):
            return []
        return [row[0]] if failing(row[1]) else []

    return match


def _clickjacking(evidence: Sequence[Evidence]) -> list[int]:
    frame_options, csp = _header(evidence, X_FRAME_OPTIONS), _header(evidence, CSP)
    if frame_options is None or csp is None or frame_options[1]["protects"]:
        return []
    for policy in csp[1]["policies"]:
        ancestors = policy.get("frame-ancestors")
        if ancestors is not None and not _ANY_ANCESTOR & {source.lower() for source in ancestors}:
            return []
    return [frame_options[0], csp[0]]


def _row_rule(kind: str, condition: Callable[[dict[str, Any]], bool]) -> Match:
    """A match on every row of `kind` whose details satisfy `condition`."""

    def match(evidence: Sequence[Evidence]) -> list[int]:
        return [index for index, details in _rows(evidence, kind) if condition(details)]

    return match


RULES: tuple[Rule, ...] = (
    Rule(
        "no_https",
        Severity.HIGH,
        "Page is served over plain HTTP",
        "Everything sent to and from the page, cookies included, can be read and altered on the network.",
        "The final URL (after all redirects) is http://.",
        _no_https,
    ),
    Rule(
        "http_not_redirected_to_https",
        Severity.MEDIUM,
        "HTTP is not redirected to HTTPS",
        "Visitors who type the bare domain or follow an old http:// link stay on an unencrypted page.",
        "The scan started on an http:// URL and did not end on https://.",
        _http_not_redirected,
    ),
    Rule(
        "hsts_missing",
        Severity.MEDIUM,
        "No HTTP Strict Transport Security",
        "Without HSTS a network attacker can downgrade a visitor's first request to plain HTTP.",
        "The final page is https:// and has no valid Strict-Transport-Security header (absent, or no numeric max-age).",
        _header_rule(HSTS, lambda row: not row["effective"], https_only=True),
    ),
    Rule(
        "hsts_weak",
        Severity.LOW,
        "HSTS max-age is short",
        "A short max-age lets the protection lapse between visits; 180 days or more is recommended.",
        f"The final page's HSTS max-age is below {HSTS_MIN_MAX_AGE} seconds (180 days), 0 included.",
        _header_rule(HSTS, lambda row: row["effective"] and row["max_age"] < HSTS_MIN_MAX_AGE),
    ),
    Rule(
        "csp_missing",
        Severity.MEDIUM,
        "No Content Security Policy",
        "A CSP limits where scripts and other content may load from, containing injected code.",
        "The final response has no Content-Security-Policy header with at least one directive "
        "(`Content-Security-Policy-Report-Only` and `<meta>` policies are not checked).",
        _header_rule(CSP, lambda row: not row["policies"]),
    ),
    Rule(
        "x_content_type_options_missing",
        Severity.LOW,
        "X-Content-Type-Options: nosniff missing",
        "Without nosniff, browsers may guess a response's type and run uploaded files as scripts or pages.",
        "The final response's X-Content-Type-Options is not nosniff.",
        _header_rule(X_CONTENT_TYPE_OPTIONS, lambda row: not row["nosniff"]),
    ),
    Rule(
        "clickjacking_unprotected",
        Severity.MEDIUM,
        "Page can be framed by any site",
        "Another site can load the page in an invisible frame and trick visitors into clicking on it.",
        "The final response has neither X-Frame-Options DENY/SAMEORIGIN nor a CSP frame-ancestors "
        "directive that excludes `*`, `http:` and `https:`.",
        _clickjacking,
    ),
    Rule(
        "referrer_policy_missing",
        Severity.LOW,
        "No Referrer-Policy",
        "An explicit policy controls how much of the page URL leaks to other sites in the Referer header.",
        "The final response has no Referrer-Policy header with a recognised policy.",
        _header_rule(REFERRER_POLICY, lambda row: row["policy"] is None),
    ),
    Rule(
        "cookie_without_secure",
        Severity.MEDIUM,
        "Cookie set over HTTPS without Secure",
        "Without Secure the browser also sends the cookie over plain HTTP, where it can be intercepted.",
        "A cookie set by an https:// response lacks the Secure attribute.",
        _row_rule("cookie", lambda row: urlsplit(row["set_by"]).scheme == "https" and not row["secure"]),
    ),
    Rule(
        "cookie_without_httponly",
        Severity.LOW,
        "Cookie readable by scripts",
        "Without HttpOnly any script on the page, third-party or injected, can read the cookie.",
        "A cookie lacks the HttpOnly attribute.",
        _row_rule("cookie", lambda row: not row["http_only"]),
    ),
    Rule(
        "cookie_samesite_none_insecure",
        Severity.MEDIUM,
        "SameSite=None cookie without Secure",
        "Browsers reject SameSite=None cookies that are not Secure, so the cookie silently does not work.",
        "A cookie has SameSite=None but no Secure attribute.",
        _row_rule("cookie", lambda row: row["same_site"] == "None" and not row["secure"]),
    ),
    Rule(
        "third_party_cookie",
        Severity.MEDIUM,
        "Third-party cookie",
        "Cookies for another site are how visitors are tracked across websites.",
        "A cookie's domain has a different registrable domain (eTLD+1) than the final page, "
        "including cookies set by redirect hops.",
        _row_rule("cookie", lambda row: row["third_party"]),
    ),
    Rule(
        "third_party_scripts",
        Severity.MEDIUM,
        "Scripts loaded from third parties",
        "A third-party script runs with the page's full privileges and sees everything the visitor does.",
        "The final HTML page loads a `<script src>` from a host with a different registrable domain.",
        _row_rule("third_party", lambda row: "script" in row["tags"]),
    ),
    Rule(
        "third_party_content",
        Severity.INFO,
        "Content loaded from third parties",
        "Each third-party request tells that host the visitor's IP address and, often, the page visited.",
        "The final HTML page references (but loads no script from) a host with a different registrable "
        "domain: images, frames, stylesheets, forms, media.",
        _row_rule("third_party", lambda row: "script" not in row["tags"]),
    ),
)


def evaluate(evidence: Sequence[Evidence]) -> list[Issue]:
    """One Issue per rule that fires, in table order, pointing at all the rows that triggered it."""
    issues: list[Issue] = []
    for rule in RULES:
        indexes = rule.match(evidence)
        if indexes:
            issues.append(Issue(rule.code, rule.severity, rule.title, rule.explanation, tuple(indexes)))
    return issues


def rules_markdown() -> str:
    """The rule table as Markdown: the content of RULES.md."""
    lines = [
        "# Privacy scan rules",
        "",
        "Rendered from `worker.privacy.rules.RULES` by `rules_markdown()`; a unit test keeps them in sync.",
        "",
        "| Code | Severity | Fires when |",
        "| --- | --- | --- |",
    ]
    lines += [f"| `{rule.code}` | {rule.severity.value} | {rule.fires_when} |" for rule in RULES]
    return "\n".join(lines) + "\n"
