"""Vendor signatures in inline <script> text: the ids of trackers a page configures itself.

Tag snippets pasted into a page often load their script at runtime (so no <script src> names the
vendor); their configuration calls still carry the account id. Ids are matched only as the string or
number literals those snippets use, which keeps prose and minified code from matching by accident.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scanfleet.worker.privacy.vendors import (
    CLARITY,
    FULLSTORY,
    GOOGLE_ANALYTICS,
    GOOGLE_TAG_MANAGER,
    HOTJAR,
    LINKEDIN,
    MATOMO,
    META,
    TIKTOK,
    YANDEX_METRICA,
    Vendor,
)

_Q = r"""['"]"""  # either JavaScript string quote


@dataclass(frozen=True)
class Signature:
    vendor: Vendor
    marker: str  # a literal in every match: scripts without it skip the regex (inline bundles are large)
    pattern: re.Pattern[str]  # group 1 is the id


SIGNATURES: tuple[Signature, ...] = (
    # GA4 measurement ids (G-XXXXXXXXXX) and Universal Analytics property ids (UA-12345-6).
    Signature(GOOGLE_ANALYTICS, "G-", re.compile(rf"{_Q}(G-[A-Z0-9]{{6,12}}){_Q}")),
    Signature(GOOGLE_ANALYTICS, "UA-", re.compile(rf"{_Q}(UA-\d{{4,10}}-\d{{1,4}}){_Q}")),
    Signature(GOOGLE_TAG_MANAGER, "GTM-", re.compile(rf"{_Q}(GTM-[A-Z0-9]{{4,10}}){_Q}")),
    # fbq('init', '123456789012345')
    Signature(META, "fbq", re.compile(rf"\bfbq\(\s*{_Q}init{_Q}\s*,\s*{_Q}(\d{{6,20}}){_Q}")),
    # h._hjSettings={hjid:1234567,hjsv:6}
    Signature(HOTJAR, "hjid", re.compile(r"\bhjid\s*:\s*(\d{4,12})\b")),
    # })(window, document, "clarity", "script", "abcdefghij");
    Signature(
        CLARITY, "clarity", re.compile(rf"{_Q}clarity{_Q}\s*,\s*{_Q}script{_Q}\s*,\s*{_Q}([a-z0-9]{{6,16}}){_Q}")
    ),
    # window['_fs_org'] = 'o-1ABCD-na1';
    Signature(FULLSTORY, "_fs_org", re.compile(rf"\b_fs_org{_Q}?\]?\s*=\s*{_Q}([\w-]{{3,30}}){_Q}")),
    # _linkedin_partner_id = "123456";
    Signature(LINKEDIN, "_linkedin_partner_id", re.compile(rf"\b_linkedin_partner_id\s*=\s*{_Q}?(\d{{3,12}})\b")),
    # ttq.load('C4ABCDEFGH1234567890');
    Signature(TIKTOK, "ttq.load", re.compile(rf"\bttq\.load\(\s*{_Q}([A-Z0-9]{{10,30}}){_Q}")),
    # _paq.push(['setSiteId', '3']); self-hosted Matomo is analytics all the same.
    Signature(MATOMO, "setSiteId", re.compile(rf"\b_paq\.push\(\s*\[\s*{_Q}setSiteId{_Q}\s*,\s*{_Q}?(\w{{1,12}})")),
    # ym(12345678, "init", {...})
    Signature(YANDEX_METRICA, "ym(", re.compile(rf"\bym\(\s*(\d{{5,12}})\s*,\s*{_Q}init{_Q}")),
)


def find_signatures(scripts: list[str]) -> dict[Vendor, list[str]]:
    """Distinct ids per vendor found in `scripts`, vendors in SIGNATURES order, ids in first-seen order."""
    found: dict[Vendor, dict[str, None]] = {}  # dicts as ordered sets
    for signature in SIGNATURES:
        for script in scripts:
            if signature.marker in script:
                ids = signature.pattern.findall(script)
                found.setdefault(signature.vendor, {}).update(dict.fromkeys(ids))
    return {vendor: list(ids) for vendor, ids in found.items() if ids}
