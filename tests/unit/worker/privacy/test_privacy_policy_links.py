from typing import Any

import pytest

from scanfleet.model import Severity
from scanfleet.worker.privacy.document import parse_html
from scanfleet.worker.privacy.policy_links import collect_privacy_policy

PAGE = "https://www.example.com/"


def policy(html: str) -> dict[str, Any]:
    [row] = collect_privacy_policy(parse_html(html, PAGE))
    assert row.kind == "privacy_policy"
    return row.details


@pytest.mark.parametrize(
    "link",
    [
        '<a href="/legal/privacy">Privacy Policy</a>',
        '<a href="/p">Datenschutzerklärung</a>',
        '<a href="/datenschutz">Rechtliches</a>',  # the path names it
        '<a href="/c">Politique de confidentialité</a>',
        '<a href="/c">Protection des données</a>',
        '<a href="/p">Política de privacidad</a>',
        '<a href="/p">Política de Privacidade</a>',
        '<a href="/p">Informativa sulla riservatezza</a>',
        '<a href="/p">Integritetspolicy</a>',
        '<a href="/p">Polityka prywatności</a>',
        '<a href="/p" title="Privacy notice"><img src="/i.svg" alt=""></a>',
        '<a href="/%70rivacy-statement">Legal</a>',  # percent-encoded path
    ],
)
def test_policy_link_found(link: str) -> None:
    details = policy(f'<a href="/terms">Terms</a>{link}')
    assert details["found"] is True
    assert details["url"] != "https://www.example.com/terms"


@pytest.mark.parametrize(
    "links",
    [
        '<a href="/terms">Terms of use</a><a href="/cookies">Cookie settings</a><a href="/contact">Contact</a>',
        '<a href="https://policies.google.com/privacy">Privacy Policy</a>',  # the reCAPTCHA notice
        '<a href="https://www.facebook.com/privacy/policy/">Meta privacy policy</a>',
        '<a href="javascript:showPrivacy()">Privacy</a>',
    ],
)
def test_no_policy_link(links: str) -> None:
    [row] = collect_privacy_policy(parse_html(links, PAGE))
    assert row.details["found"] is False and row.details["url"] is None
    assert row.severity is Severity.MEDIUM


def test_same_site_link_preferred_over_an_earlier_third_party_one() -> None:
    details = policy('<a href="https://group.example.org/privacy">Group privacy</a><a href="/privacy">Privacy</a>')
    assert details["url"] == "https://www.example.com/privacy" and details["same_site"] is True


def test_third_party_policy_counts_when_it_is_the_only_one() -> None:
    details = policy('<a href="https://legal.example-group.org/privacy">Privacy</a>')
    assert details["found"] is True and details["same_site"] is False


def test_imprint_and_details() -> None:
    html = '<footer><a href="/impressum">Impressum</a> <a href="/datenschutz">Datenschutz</a></footer>'
    [row] = collect_privacy_policy(parse_html(html, PAGE))
    assert row.severity is Severity.INFO
    assert row.details == {
        "found": True,
        "url": "https://www.example.com/datenschutz",
        "text": "Datenschutz",
        "same_site": True,
        "imprint_url": "https://www.example.com/impressum",
    }


def test_no_document_no_row() -> None:
    assert collect_privacy_policy(None) == []
