"""Evidence for the security headers of the final response, each parsed the way browsers read it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from scanfleet.http.fetch import FetchResult
from scanfleet.model import Evidence, Severity

HSTS = "Strict-Transport-Security"
CSP = "Content-Security-Policy"
REFERRER_POLICY = "Referrer-Policy"
PERMISSIONS_POLICY = "Permissions-Policy"
X_CONTENT_TYPE_OPTIONS = "X-Content-Type-Options"
X_FRAME_OPTIONS = "X-Frame-Options"

_REFERRER_POLICIES = frozenset(
    {
        "no-referrer",
        "no-referrer-when-downgrade",
        "same-origin",
        "origin",
        "strict-origin",
        "origin-when-cross-origin",
        "strict-origin-when-cross-origin",
        "unsafe-url",
    }
)


def parse_hsts(value: str) -> dict[str, Any]:
    """RFC 6797 6.1: max-age (seconds, may be quoted), includeSubDomains and preload.

    max_age is None when it is missing or not a number, or when any directive repeats: the RFC makes
    such a header invalid, so a browser ignores it entirely.
    """
    names: list[str] = []
    max_age: int | None = None
    for directive in value.split(";"):
        name, _, argument = directive.partition("=")
        name = name.strip().lower()
        if not name:
            continue
        names.append(name)
        if name == "max-age":
            argument = argument.strip().strip('"')
            max_age = int(argument) if argument.isdigit() else None
    if len(names) != len(set(names)):
        max_age = None
    return {
        "max_age": max_age,
        "include_subdomains": "includesubdomains" in names,
        "preload": "preload" in names,
    }


def parse_csp(value: str) -> list[dict[str, list[str]]]:
    """CSP3 parsing: "," separates policies (each enforced on its own), ";" separates directives.

    Each policy maps a lower-cased directive name to its source values; a repeated directive is ignored,
    as the spec requires.
    """
    policies: list[dict[str, list[str]]] = []
    for policy_text in value.split(","):
        policy: dict[str, list[str]] = {}
        for directive in policy_text.split(";"):
            tokens = directive.split()
            if tokens and tokens[0].lower() not in policy:
                policy[tokens[0].lower()] = tokens[1:]
        if policy:
            policies.append(policy)
    return policies


def parse_referrer_policy(value: str) -> str | None:
    """The last recognised token wins, so sites can list a fallback before a newer policy."""
    tokens = (token.strip().lower() for token in value.split(","))
    recognised = [token for token in tokens if token in _REFERRER_POLICIES]
    return recognised[-1] if recognised else None


def parse_permissions_policy(value: str) -> dict[str, list[str]]:
    """Structured-field dictionary: feature=() / feature=* / feature=(self "https://a.example").

    Maps each feature to its allowlist ([] means disabled everywhere); parameters after ";" are dropped.
    """
    features: dict[str, list[str]] = {}
    for member in value.split(","):
        name, _, allowlist = member.partition("=")
        allowlist = allowlist.partition(";")[0].strip()
        if not name.strip():
            continue
        is_list = allowlist.startswith("(") and allowlist.endswith(")")
        items = allowlist[1:-1].split() if is_list else [allowlist]
        features[name.strip().lower()] = [item.strip('"') for item in items if item]
    return features


def _first(values: list[str]) -> str:
    return values[0] if values else ""


# Each maps the header's values (empty when absent) to parsed fields, so present and missing rows
# carry the same keys.
_CHECKED: dict[str, Callable[[list[str]], dict[str, Any]]] = {
    # Only the first HSTS header counts (RFC 6797 8.1).
    HSTS: lambda values: parse_hsts(_first(values)),
    # Several CSP headers are several policies, all enforced: keep them apart.
    CSP: lambda values: {"policies": [policy for value in values for policy in parse_csp(value)]},
    REFERRER_POLICY: lambda values: {"policy": parse_referrer_policy(", ".join(values))},
    PERMISSIONS_POLICY: lambda values: {"features": parse_permissions_policy(", ".join(values))},
    # Browsers honour only the first value.
    X_CONTENT_TYPE_OPTIONS: lambda values: {"nosniff": _first(values).split(",")[0].strip().lower() == "nosniff"},
    # HTML spec: any DENY or SAMEORIGIN among the values blocks cross-site framing; ALLOW-FROM is obsolete.
    X_FRAME_OPTIONS: lambda values: {
        "protects": any(token.strip().lower() in ("deny", "sameorigin") for token in ", ".join(values).split(","))
    },
}


def collect_security_headers(result: FetchResult) -> list[Evidence]:
    """One "security_header" row per checked header of the final response, present or not.

    Severity: info when present; low when missing, except HSTS on a plain-http page (info: it could
    not take effect there; the missing https is reported on its own).
    """
    final = result.final
    https = urlsplit(final.url).scheme == "https"
    rows: list[Evidence] = []
    for header, parse in _CHECKED.items():
        present = header in final.headers
        details: dict[str, Any] = {"header": header, "present": present, "value": final.headers.get(header)}
        details |= parse(final.headers.get_list(header))
        if header == HSTS:  # browsers ignore HSTS received over plain http
            details["effective"] = https and details["max_age"] is not None
        missing_matters = header != HSTS or https
        rows.append(
            Evidence(
                kind="security_header",
                severity=Severity.LOW if not present and missing_matters else Severity.INFO,
                title=f"{header} {'present' if present else 'missing'}",
                details=details,
                location=final.url,
            )
        )
    return rows
