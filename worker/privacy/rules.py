"""The rule table: each rule turns matching evidence rows into one Issue with a stable code.

The table is data so the README and RULES.md can document exactly what the scanner checks;
RULES.md is rendered from it by `rules_markdown()` and a test keeps the two in sync. Rules read whatever
evidence the engine produced; a browser_only rule reads kinds only the browser engine records (requests, the
cookie jar, fingerprinting, key logging, session recording), so an http scan never fires it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from scanfleet.model import Evidence, Issue, Severity
from scanfleet.worker.privacy.domains import host_of, registrable_domain
from scanfleet.worker.privacy.headers import CSP, HSTS, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS
from scanfleet.worker.privacy.tls import EXPIRY_HIGH_DAYS, EXPIRY_MEDIUM_DAYS
from scanfleet.worker.privacy.vendors import Category

HSTS_MIN_MAX_AGE = 15_552_000  # 180 days, the usual floor (and half the HSTS preload list's one year)

# Tracker categories with a rule of their own; every other category falls to tracker_present.
_NAMED_TRACKER_CATEGORIES = frozenset(
    {Category.ADVERTISING, Category.SESSION_RECORDING, Category.ANALYTICS, Category.TAG_MANAGER}
)

# Vendor categories that track a visitor. Tag managers are left out: what they load is judged on its own.
_TRACKING_CATEGORIES = frozenset(category.value for category in Category) - {Category.TAG_MANAGER.value}

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
    browser_only: bool = False  # reads only evidence the browser engine records: an http scan never fires it

    @property
    def engines(self) -> str:
        return "browser" if self.browser_only else "http, browser"


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


def _days_left_in(low: int | None, high: int) -> Match:
    """tls_certificate rows with low <= days_left < high (no lower bound when low is None)."""

    def within(row: dict[str, Any]) -> bool:
        days = row["days_left"]
        return days is not None and (low is None or days >= low) and days < high

    return _row_rule("tls_certificate", within)


def _tracker_rule(condition: Callable[[str], bool]) -> Match:
    """tracker rows whose category satisfies `condition`."""
    return _row_rule("tracker", lambda row: condition(row["category"]))


def _insecure_form(sensitive: bool) -> Match:
    """form rows submitting over http, with (or without) password or e-mail fields."""
    return _row_rule("form", lambda row: not row["secure"] and bool(row["sensitive_fields"]) is sensitive)


def _consent_managers(evidence: Sequence[Evidence]) -> list[int]:
    return [index for index, _ in _rows(evidence, "consent_manager")]


def _consent_domains(evidence: Sequence[Evidence]) -> set[str]:
    """The registrable domains the page's consent managers load from: their own cookies and requests are theirs."""
    return {
        registrable_domain(host)
        for _, row in _rows(evidence, "consent_manager")
        for url in row["urls"]
        if (host := host_of(url)) is not None
    }


def _tracker_requests(evidence: Sequence[Evidence]) -> list[int]:
    """Third-party requests the page made to a tracking vendor or a blocklisted URL. Made is enough, whatever
    became of them (a CORS error, say, comes after the tracker has the request): the page did not wait."""
    own = _consent_domains(evidence)
    return [
        index
        for index, row in _rows(evidence, "request")
        if row["party"] == "third" and row["category"] in _TRACKING_CATEGORIES and row["registrable_domain"] not in own
    ]


def _trackers_before_consent(evidence: Sequence[Evidence]) -> list[int]:
    managers = _consent_managers(evidence)
    requests = _tracker_requests(evidence)
    if not managers or not requests:
        return []
    # Cookies in the jar set by those requests' responses or by those scripts.
    trackers = {evidence[index].details["url"] for index in requests}
    cookies = [index for index, row in _rows(evidence, "browser_cookie") if row["setter"] in trackers]
    return sorted(managers + requests + cookies)


def _third_party_cookies_before_consent(evidence: Sequence[Evidence]) -> list[int]:
    managers = _consent_managers(evidence)
    own = _consent_domains(evidence)
    cookies = [
        *(index for index, row in _rows(evidence, "cookie") if row["third_party"]),
        *(index for index, row in _rows(evidence, "browser_cookie") if row["party"] == "third"),
    ]
    cookies = [index for index in cookies if registrable_domain(evidence[index].details["domain"]) not in own]
    return sorted(managers + cookies) if managers and cookies else []


def _consent_manager_missing(evidence: Sequence[Evidence]) -> list[int]:
    return [] if _consent_managers(evidence) else _tracker_requests(evidence)


def _session_recording_observed(evidence: Sequence[Evidence]) -> list[int]:
    requests = [
        index
        for index, row in _rows(evidence, "request")
        if row["party"] == "third" and row["category"] == Category.SESSION_RECORDING
    ]
    behaviour = [index for index, row in _rows(evidence, "session_recording") if row["party"] == "third"]
    return sorted(requests + behaviour)


def _fingerprinting(canvas: bool) -> Match:
    """fingerprinting rows by canvas readout (or by any other technique)."""
    return _row_rule("fingerprinting", lambda row: (row["technique"] == "canvas") is canvas)


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
    Rule(
        "tls_certificate_expiring_soon",
        Severity.HIGH,
        "TLS certificate expires within two weeks",
        "Once it expires every visitor sees a certificate error; automated renewal is already overdue.",
        f"The certificate of an https:// hop has fewer than {EXPIRY_HIGH_DAYS} days left, or has expired.",
        _days_left_in(None, EXPIRY_HIGH_DAYS),
    ),
    Rule(
        "tls_certificate_expiring",
        Severity.MEDIUM,
        "TLS certificate expires within a month",
        "Automated renewal normally happens with 30 days left: one this close to expiry suggests renewal is failing.",
        f"The certificate of an https:// hop has {EXPIRY_HIGH_DAYS} to {EXPIRY_MEDIUM_DAYS - 1} days left.",
        _days_left_in(EXPIRY_HIGH_DAYS, EXPIRY_MEDIUM_DAYS),
    ),
    Rule(
        "advertising_tracker_present",
        Severity.HIGH,
        "Advertising trackers",
        "Advertising pixels and tags report each visit to ad networks, which profile visitors across websites.",
        "A tracker (a blocklisted request or a request to a known vendor, loaded by a tag in the page or, in a "
        "browser, seen at run time; a known vendor's host named in an inline script; or a vendor snippet in an "
        "inline script) has category `advertising`.",
        _tracker_rule(lambda category: category == Category.ADVERTISING),
    ),
    Rule(
        "session_recorder_present",
        Severity.HIGH,
        "Session recording",
        "Session recorders send the vendor visitors' mouse movements, clicks and keystrokes, often with "
        "personal data typed into the page.",
        "A tracker has category `session_recording` (Hotjar, Microsoft Clarity, FullStory, Mouseflow, …).",
        _tracker_rule(lambda category: category == Category.SESSION_RECORDING),
    ),
    Rule(
        "analytics_tracker_present",
        Severity.MEDIUM,
        "Third-party analytics",
        "Analytics services receive every page view with the visitor's IP address and usually an identifying cookie.",
        "A tracker has category `analytics`.",
        _tracker_rule(lambda category: category == Category.ANALYTICS),
    ),
    Rule(
        "tag_manager_present",
        Severity.MEDIUM,
        "Tag manager",
        "A tag manager loads whatever tags are configured in the vendor's console when the page runs: a "
        "scan without a browser cannot see them, so the page may track more than is reported here.",
        "A tracker has category `tag_manager` (Google Tag Manager, Adobe Experience Platform Tags).",
        _tracker_rule(lambda category: category == Category.TAG_MANAGER),
    ),
    Rule(
        "tracker_present",
        Severity.MEDIUM,
        "Other trackers",
        "The request is on EasyList/EasyPrivacy or goes to a social or marketing vendor: a third party "
        "learns who visits the page.",
        "A tracker has a category without a rule of its own: `social`, `marketing`, or `unclassified` "
        "(on EasyList/EasyPrivacy, vendor not in the curated map).",
        _tracker_rule(lambda category: category not in _NAMED_TRACKER_CATEGORIES),
    ),
    Rule(
        "sensitive_form_over_http",
        Severity.HIGH,
        "Password or e-mail form submits over HTTP",
        "Passwords and e-mail addresses typed into the form cross the network unencrypted.",
        "A form with a password or e-mail field submits to an http:// URL (an empty action on an http:// "
        "page included).",
        _insecure_form(sensitive=True),
    ),
    Rule(
        "form_posts_over_http",
        Severity.MEDIUM,
        "Form submits over HTTP",
        "Whatever visitors type into the form can be read and altered on the network.",
        "A form without password or e-mail fields submits to an http:// URL.",
        _insecure_form(sensitive=False),
    ),
    Rule(
        "mixed_content_active",
        Severity.HIGH,
        "Scripts or frames loaded over HTTP on an HTTPS page",
        "A network attacker can replace active content loaded over http and take over the page; browsers "
        "block it, which breaks the page instead.",
        "The https:// page loads a script, frame, stylesheet, font or plugin from an http:// URL.",
        _row_rule("mixed_content", lambda row: row["mode"] == "active"),
    ),
    Rule(
        "mixed_content_passive",
        Severity.LOW,
        "Images or media loaded over HTTP on an HTTPS page",
        "Images and media fetched over http tell the network what the visitor looks at, and can be swapped.",
        "The https:// page loads an image, audio or video from an http:// URL.",
        _row_rule("mixed_content", lambda row: row["mode"] == "passive"),
    ),
    Rule(
        "third_party_fonts",
        Severity.LOW,
        "Fonts loaded from a third-party font service",
        "Every page view sends the visitor's IP address to the font service; self-hosted fonts avoid it "
        "(a German court fined a site for embedding Google Fonts in 2022).",
        "A third-party host is a known font service (Google Fonts, Adobe Fonts, Bunny Fonts, Font Awesome, …).",
        _row_rule("third_party", lambda row: row["category"] == "font"),
    ),
    Rule(
        "public_cdn_resources",
        Severity.LOW,
        "Files loaded from a public CDN",
        "Every page view tells the CDN operator the visitor's IP address and the page; self-hosted copies "
        "avoid it, and the risk of the CDN serving altered code.",
        "A third-party host is a known public CDN (cdnjs, jsDelivr, unpkg, code.jquery.com, …).",
        _row_rule("third_party", lambda row: row["category"] == "cdn"),
    ),
    Rule(
        "privacy_policy_missing",
        Severity.MEDIUM,
        "No link to a privacy policy",
        "Visitors must be told what is collected about them and why (GDPR Art. 13); the page gives no way to find out.",
        "The HTML page has no link whose text, title or path names a privacy policy (privacy, Datenschutz, "
        "confidentialité, privacidad, …); links to a vendor's own policy do not count.",
        _row_rule("privacy_policy", lambda row: not row["found"]),
    ),
    Rule(
        "trackers_before_consent",
        Severity.HIGH,
        "Trackers load before consent",
        "The page has a consent manager, yet trackers ran before the visitor could answer its banner: the choice "
        "it offers does not decide what is collected (GDPR Art. 6, ePrivacy Art. 5(3)).",
        "A consent manager was detected and the page, before any interaction with it, made a third-party request "
        "to a tracking vendor or a URL on EasyList/EasyPrivacy (tag managers and the consent manager's own hosts "
        "left out). The issue lists the consent manager, those requests and the cookies they set.",
        _trackers_before_consent,
        browser_only=True,
    ),
    Rule(
        "third_party_cookies_before_consent",
        Severity.MEDIUM,
        "Third-party cookies before consent",
        "Cookies for other sites were stored before the visitor answered the consent banner: such cookies are how "
        "visitors are followed across websites, and need consent first.",
        "A consent manager was detected and, before any interaction with it, a cookie for another registrable "
        "domain (not the consent manager's own) was set: in the page's `Set-Cookie` chain or, in a browser, in "
        "its cookie jar.",
        _third_party_cookies_before_consent,
    ),
    Rule(
        "consent_manager_missing",
        Severity.MEDIUM,
        "Trackers load and no consent manager was found",
        "Visitors are tracked without being asked: no consent banner of a known platform, and no IAB consent API, "
        "was on the page.",
        "The page made third-party tracker requests (as for `trackers_before_consent`) and no consent manager was "
        "detected by host, path, page global or IAB TCF/GPP API.",
        _consent_manager_missing,
        browser_only=True,
    ),
    Rule(
        "canvas_fingerprinting",
        Severity.HIGH,
        "Canvas fingerprinting",
        "Reading back text drawn on a canvas yields a per-device identifier that survives clearing cookies and "
        "needs no consent prompt to work.",
        "A script read back a canvas it had drawn text on (`toDataURL`, `toBlob` or `getImageData`).",
        _fingerprinting(canvas=True),
        browser_only=True,
    ),
    Rule(
        "device_fingerprinting",
        Severity.MEDIUM,
        "Device fingerprinting",
        "Combining the GPU's name, audio processing, installed fonts and device properties identifies a browser "
        "without cookies.",
        "A script read WebGL's unmasked GPU names, rendered audio offline, measured text in many fonts, or read "
        "many navigator and screen properties.",
        _fingerprinting(canvas=False),
        browser_only=True,
    ),
    Rule(
        "key_logging",
        Severity.HIGH,
        "Typed text sent to a third party before submitting",
        "What visitors type leaves for another site as they type it, even if they never submit the form: "
        "passwords and e-mail addresses included.",
        "A canary typed into a field (never submitted) reached a third party, raw, encoded or hashed.",
        _row_rule("key_logging", lambda row: True),
        browser_only=True,
    ),
    Rule(
        "session_recording_observed",
        Severity.HIGH,
        "Session recording observed",
        "The page was recorded as it ran: a session recorder sends the vendor the visitor's mouse movements, "
        "clicks and keystrokes.",
        "The page made a request to a session-recording vendor, or a third-party script watched the whole "
        "document's changes while listening to the pointer and keys page-wide.",
        _session_recording_observed,
        browser_only=True,
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
        "| Code | Severity | Engines | Fires when |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| `{rule.code}` | {rule.severity.value} | {rule.engines} | {rule.fires_when} |" for rule in RULES]
    return "\n".join(lines) + "\n"
