import pytest

from scanfleet.model import Evidence, Severity
from scanfleet.worker.privacy.document import parse_html
from scanfleet.worker.privacy.forms import collect_forms

HTTPS = "https://www.example.com/"
HTTP = "http://www.example.com/"


def form_rows(html: str, page: str = HTTPS) -> list[Evidence]:
    return collect_forms(parse_html(html, page))


@pytest.mark.parametrize(
    ("page", "form", "secure", "severity"),
    [
        (HTTPS, '<form action="/login"><input type="password"></form>', True, Severity.INFO),
        (HTTPS, '<form action="http://www.example.com/l"><input type=password></form>', False, Severity.HIGH),
        (HTTPS, '<form action="http://x.test/n"><input type="email"></form>', False, Severity.HIGH),
        (HTTPS, '<form action="http://x.test/s"><input name="q"></form>', False, Severity.MEDIUM),
        (HTTP, '<form method="post"><input type="password"></form>', False, Severity.HIGH),
        (HTTP, '<form action="https://www.example.com/s"><input name=q></form>', True, Severity.INFO),
    ],
)
def test_secure_and_severity(page: str, form: str, secure: bool, severity: Severity) -> None:
    [row] = form_rows(form, page)
    assert row.kind == "form"
    assert row.details["secure"] is secure
    assert row.severity is severity


def test_details() -> None:
    [row] = form_rows('<form action="http://newsletter.test/join" method="post"><input type="email"><input></form>')
    assert row.details == {
        "action": "http://newsletter.test/join",
        "method": "post",
        "secure": False,
        "third_party": True,
        "sensitive_fields": ["email"],
        "inputs": 2,
    }
    assert row.location == HTTPS
    assert "email" in row.title and "http://newsletter.test/join" in row.title


def test_same_site_subdomain_is_first_party_and_script_only_forms_are_skipped() -> None:
    rows = form_rows('<form action="https://accounts.example.com/x"></form><form action="javascript:go()"></form>')
    assert [row.details["third_party"] for row in rows] == [False]


def test_no_document_no_rows() -> None:
    assert collect_forms(None) == []
