"""Evidence for every cookie set anywhere in the redirect chain, parsed the way browsers parse Set-Cookie.

Parsing follows RFC 6265 section 5.2 rather than http.cookies.SimpleCookie, which rejects or silently
drops many real-world headers (unquoted commas, odd characters in values, unknown attributes).
Cookie values are deliberately not recorded: they are often session tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from scanfleet.http.fetch import FetchResult
from scanfleet.model import Evidence, Severity
from scanfleet.worker.privacy.domains import host_of, is_same_site

_SAME_SITE_VALUES = {"strict": "Strict", "lax": "Lax", "none": "None"}


@dataclass(frozen=True)
class SetCookie:
    """The attributes of one Set-Cookie header that matter for privacy and security."""

    name: str
    domain: str  # the Domain attribute without its leading dot, else the host that set the cookie
    host_only: bool  # no usable Domain attribute: sent back to the exact setting host only
    path: str
    expires: datetime | None
    max_age: int | None
    secure: bool
    http_only: bool
    same_site: str | None  # "Strict" / "Lax" / "None", or an unrecognised value as sent

    @property
    def session(self) -> bool:
        return self.expires is None and self.max_age is None


def parse_set_cookie(header: str, request_url: str) -> SetCookie | None:
    """Parse one Set-Cookie header value received from `request_url`; None if a browser would ignore it."""
    pair, *attribute_texts = header.split(";")
    if "=" in pair:
        name, _, value = pair.partition("=")
    else:  # RFC 6265bis: a pair without "=" is a nameless cookie whose value is the whole pair
        name, value = "", pair
    name, value = name.strip(), value.strip()
    if not name and not value:
        return None

    # Later attributes override earlier ones with the same name, as in a browser.
    attributes: dict[str, str] = {}
    for text in attribute_texts:
        key, _, attribute_value = text.partition("=")
        attributes[key.strip().lower()] = attribute_value.strip()

    request_host = host_of(request_url) or ""
    domain = attributes.get("domain", "").lstrip(".").lower()
    path = attributes.get("path", "")
    same_site = attributes.get("samesite")
    return SetCookie(
        name=name,
        domain=domain or request_host,
        host_only=not domain,
        path=path if path.startswith("/") else _default_path(request_url),
        expires=parse_cookie_date(attributes["expires"]) if "expires" in attributes else None,
        max_age=_parse_max_age(attributes.get("max-age")),
        secure="secure" in attributes,
        http_only="httponly" in attributes,
        same_site=_SAME_SITE_VALUES.get(same_site.lower(), same_site) if same_site else None,
    )


def collect_cookies(result: FetchResult) -> list[Evidence]:
    """One "cookie" row per Set-Cookie header on any hop, in hop then header order.

    Severity: medium for SameSite=None without Secure (browsers reject such a cookie outright);
    low when the cookie is third-party, lacks Secure although set over https, or lacks HttpOnly
    (readable by any script on the page); info otherwise. A cookie set over plain http is not
    faulted for missing Secure: browsers refuse Secure cookies from insecure origins anyway.
    """
    page_host = host_of(result.final.url) or ""
    rows: list[Evidence] = []
    for hop in result.hops:
        over_https = urlsplit(hop.url).scheme == "https"
        for header in hop.set_cookies:
            cookie = parse_set_cookie(header, hop.url)
            if cookie is None:
                continue
            third_party = not is_same_site(cookie.domain, page_host)
            rows.append(
                Evidence(
                    kind="cookie",
                    severity=cookie_severity(cookie, over_https=over_https, third_party=third_party),
                    title=f"Cookie {cookie.name or '(nameless)'} for {cookie.domain}",
                    details={
                        "name": cookie.name,
                        "domain": cookie.domain,
                        "host_only": cookie.host_only,
                        "path": cookie.path,
                        "expires": cookie.expires.isoformat() if cookie.expires else None,
                        "max_age": cookie.max_age,
                        "session": cookie.session,
                        "secure": cookie.secure,
                        "http_only": cookie.http_only,
                        "same_site": cookie.same_site,
                        "set_by": hop.url,
                        "third_party": third_party,
                    },
                    location=hop.url,
                )
            )
    return rows


def cookie_severity(cookie: SetCookie, *, over_https: bool, third_party: bool) -> Severity:
    if cookie.same_site == "None" and not cookie.secure:
        return Severity.MEDIUM
    if third_party or not cookie.http_only or (over_https and not cookie.secure):
        return Severity.LOW
    return Severity.INFO


def _default_path(request_url: str) -> str:
    """RFC 6265 5.1.4: the request path up to, not including, its last "/"; "/" when that leaves nothing."""
    path = urlsplit(request_url).path
    if not path.startswith("/") or path.count("/") == 1:
        return "/"
    return path[: path.rindex("/")]


def _parse_max_age(value: str | None) -> int | None:
    """RFC 6265 5.2.2: an optional leading "-" then digits only; anything else is ignored."""
    if value is None or not re.fullmatch(r"-?[0-9]+", value):
        return None
    return int(value)


# RFC 6265 5.1.1: dates are split into tokens on these delimiters, then each token is classified.
_DATE_DELIMITERS = re.compile(r"[\x09\x20-\x2f\x3b-\x40\x5b-\x60\x7b-\x7e]+")
_TIME = re.compile(r"([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:[^0-9].*)?")
_DAY = re.compile(r"([0-9]{1,2})(?:[^0-9].*)?")
_YEAR = re.compile(r"([0-9]{2,4})(?:[^0-9].*)?")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def parse_cookie_date(text: str) -> datetime | None:
    """The cookie-date algorithm of RFC 6265 5.1.1, which accepts every format browsers do.

    Handles "Wed, 21 Oct 2015 07:28:00 GMT", "Wednesday, 21-Oct-15 07:28:00 GMT", asctime and more;
    returns an aware UTC datetime, or None when a browser would ignore the attribute.
    """
    time: tuple[int, int, int] | None = None
    day = month = year = None
    for token in _DATE_DELIMITERS.split(text):
        if not token:
            continue
        if time is None and (match := _TIME.fullmatch(token)):
            time = (int(match[1]), int(match[2]), int(match[3]))
        elif day is None and (match := _DAY.fullmatch(token)):
            day = int(match[1])
        elif month is None and token[:3].lower() in _MONTHS:
            month = _MONTHS.index(token[:3].lower()) + 1
        elif year is None and (match := _YEAR.fullmatch(token)):
            year = int(match[1])
    if time is None or day is None or month is None or year is None:
        return None
    if 70 <= year <= 99:
        year += 1900
    elif 0 <= year <= 69:
        year += 2000
    hour, minute, second = time
    if year < 1601 or hour > 23 or minute > 59 or second > 59:
        return None
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:  # day 0, 31 April, 29 February in a common year
        return None
