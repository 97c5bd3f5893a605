from datetime import UTC, datetime

import httpx
import pytest

from scanfleet.http.fetch import FetchResult, Hop
from scanfleet.model import Severity
from scanfleet.worker.privacy.cookies import collect_cookies, parse_cookie_date, parse_set_cookie


def hop(url: str, *cookies: str, status: int = 200) -> Hop:
    return Hop(url, status, httpx.Headers([("set-cookie", c) for c in cookies]), "192.0.2.1", 0.01)


def test_full_attribute_set() -> None:
    cookie = parse_set_cookie(
        "sid=abc; Domain=.Example.COM; Path=/app; Expires=Wed, 21 Oct 2037 07:28:00 GMT; "
        "Max-Age=3600; Secure; HttpOnly; SameSite=lax",
        "https://www.example.com/login",
    )
    assert cookie is not None
    assert cookie.name == "sid"
    assert cookie.domain == "example.com"
    assert not cookie.host_only
    assert cookie.path == "/app"
    assert cookie.expires == datetime(2037, 10, 21, 7, 28, tzinfo=UTC)
    assert cookie.max_age == 3600
    assert not cookie.session
    assert cookie.secure and cookie.http_only
    assert cookie.same_site == "Lax"


def test_missing_attributes_fall_back_to_the_request() -> None:
    cookie = parse_set_cookie("id=1", "https://shop.example.com/a/b/page")
    assert cookie is not None
    assert cookie.domain == "shop.example.com"
    assert cookie.host_only
    assert cookie.path == "/a/b"  # RFC 6265 default-path
    assert cookie.expires is None and cookie.max_age is None and cookie.session
    assert not cookie.secure and not cookie.http_only
    assert cookie.same_site is None


@pytest.mark.parametrize(
    ("url", "path"), [("https://a.test", "/"), ("https://a.test/x", "/"), ("https://a.test/x/", "/x")]
)
def test_default_path(url: str, path: str) -> None:
    cookie = parse_set_cookie("a=1; Path=relative", url)  # a Path not starting with "/" is ignored
    assert cookie is not None and cookie.path == path


def test_quoted_value_with_separators_keeps_name_and_attributes() -> None:
    cookie = parse_set_cookie('pref="a=b,c d"; Path=/; Secure', "https://example.com/")
    assert cookie is not None
    assert cookie.name == "pref"
    assert cookie.path == "/"
    assert cookie.secure


def test_attribute_names_case_insensitive_and_last_one_wins() -> None:
    cookie = parse_set_cookie("a=1; PATH=/one; path=/two; SECURE; httponly; samesite=NONE", "https://x.test/")
    assert cookie is not None
    assert cookie.path == "/two"
    assert cookie.secure and cookie.http_only
    assert cookie.same_site == "None"


def test_unknown_samesite_value_is_kept_as_sent() -> None:
    cookie = parse_set_cookie("a=1; SameSite=Bogus", "https://x.test/")
    assert cookie is not None and cookie.same_site == "Bogus"


def test_nameless_cookie_and_empty_header() -> None:
    nameless = parse_set_cookie("justavalue; Secure", "https://x.test/")
    assert nameless is not None and nameless.name == "" and nameless.secure
    assert parse_set_cookie("", "https://x.test/") is None
    assert parse_set_cookie(" = ; Path=/", "https://x.test/") is None


def test_empty_domain_attribute_means_host_only() -> None:
    cookie = parse_set_cookie("a=1; Domain=", "https://x.test/")
    assert cookie is not None and cookie.host_only and cookie.domain == "x.test"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", 0), ("-5", -5), ("86400", 86400), ("1.5", None), ("+5", None), ("", None), ("10s", None)],
)
def test_max_age(value: str, expected: int | None) -> None:
    cookie = parse_set_cookie(f"a=1; Max-Age={value}", "https://x.test/")
    assert cookie is not None and cookie.max_age == expected
    assert cookie.session == (expected is None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Wed, 21 Oct 2015 07:28:00 GMT", datetime(2015, 10, 21, 7, 28, tzinfo=UTC)),
        ("Wednesday, 21-Oct-15 07:28:00 GMT", datetime(2015, 10, 21, 7, 28, tzinfo=UTC)),
        ("Thu Jan  1 00:00:01 1970", datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)),
        ("Sat, 01-Jan-2050 12:00:00 GMT", datetime(2050, 1, 1, 12, tzinfo=UTC)),
        ("01 Jan 69 00:00:00", datetime(2069, 1, 1, tzinfo=UTC)),
        ("Thu, 01-Jan-70 00:00:01 GMT", datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)),
        ("31 Apr 2030 00:00:00 GMT", None),  # no such day
        ("Wed, 21 Oct 2015", None),  # no time
        ("21 Oct 2015 25:00:00", None),
        ("01 Jan 1600 00:00:00", None),
        ("tomorrow", None),
    ],
)
def test_cookie_date(text: str, expected: datetime | None) -> None:
    assert parse_cookie_date(text) == expected


def test_expires_with_commas_is_not_split() -> None:
    result = FetchResult([hop("https://example.com/", "a=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/")], b"")
    [row] = collect_cookies(result)
    assert row.details["expires"] == "2037-10-21T07:28:00+00:00"
    assert row.details["path"] == "/"
    assert row.details["session"] is False


def test_rows_cover_every_hop_and_record_the_setter() -> None:
    result = FetchResult(
        [
            hop("http://example.com/", "early=1", status=301),
            hop("https://tracker.net/bounce", "uid=9; Secure; HttpOnly; SameSite=None", status=302),
            hop("https://www.example.com/", "sid=2; Secure; HttpOnly", "pref=dark"),
        ],
        b"",
    )
    rows = collect_cookies(result)
    assert [(r.details["name"], r.details["set_by"]) for r in rows] == [
        ("early", "http://example.com/"),
        ("uid", "https://tracker.net/bounce"),
        ("sid", "https://www.example.com/"),
        ("pref", "https://www.example.com/"),
    ]
    assert [r.details["third_party"] for r in rows] == [False, True, False, False]
    assert all(r.kind == "cookie" and r.location == r.details["set_by"] for r in rows)
    # sid is well configured; uid is third-party; pref lacks Secure over https and HttpOnly.
    assert [r.severity for r in rows] == [Severity.LOW, Severity.LOW, Severity.INFO, Severity.LOW]


def test_cookie_value_is_not_recorded() -> None:
    rows = collect_cookies(FetchResult([hop("https://example.com/", "session=s3cr3t-token")], b""))
    assert "s3cr3t-token" not in repr(rows[0].details)


def test_third_party_uses_multi_label_public_suffix() -> None:
    page = "https://www.example.co.uk/"
    result = FetchResult(
        [
            hop(
                page,
                "a=1; Domain=.example.co.uk",  # same site
                "b=1; Domain=shop.example.co.uk",  # same site, other subdomain
                "c=1; Domain=other.co.uk",  # a different site under the same suffix
                "d=1; Domain=co.uk",  # the suffix itself is not example.co.uk
            )
        ],
        b"",
    )
    assert [r.details["third_party"] for r in collect_cookies(result)] == [False, False, True, True]


def test_ip_address_hosts_compare_as_themselves() -> None:
    result = FetchResult([hop("http://192.0.2.10/", "a=1", "b=1; Domain=192.0.2.11")], b"")
    assert [r.details["third_party"] for r in collect_cookies(result)] == [False, True]


def test_samesite_none_without_secure_is_medium() -> None:
    [row] = collect_cookies(FetchResult([hop("https://x.test/", "a=1; SameSite=None; HttpOnly")], b""))
    assert row.severity is Severity.MEDIUM
