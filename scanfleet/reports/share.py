"""Share links: a token that lets anyone holding it read one job's report until it expires, without an API key.

The token names the job, its organisation and its expiry, HMAC-signed (itsdangerous) with the platform's secret:
it cannot be altered or made up without the secret, and it is checked without a database. Changing the secret
voids every link made with the old one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from itsdangerous import BadSignature, URLSafeSerializer

from scanfleet.model import KINDS, Kind

_SALT = "scanfleet.report-share.v1"  # a token signed for anything else with the same secret is not a share link


class ShareInvalid(Exception):
    """Not a token this platform signed (forged, altered or cut short, or signed with another secret)."""


class ShareExpired(Exception):
    def __init__(self, expired_at: datetime) -> None:
        super().__init__(f"the share link expired at {expired_at.isoformat()}")
        self.expired_at = expired_at


@dataclass(frozen=True)
class Share:
    kind: Kind
    job_id: uuid.UUID
    org_id: uuid.UUID
    expires_at: datetime


def sign(secret: str, share: Share) -> str:
    payload = [share.kind, share.job_id.hex, share.org_id.hex, int(share.expires_at.timestamp())]
    return str(URLSafeSerializer(secret, salt=_SALT).dumps(payload))


def verify(secret: str, token: str, now: datetime) -> Share:
    """The share the token was signed for; ShareInvalid if it was not signed with `secret`, ShareExpired after."""
    try:
        payload = URLSafeSerializer(secret, salt=_SALT).loads(token)
        kind, job_id, org_id, expires = payload
        share = Share(kind, uuid.UUID(hex=job_id), uuid.UUID(hex=org_id), datetime.fromtimestamp(expires, UTC))
    except (BadSignature, ValueError, TypeError) as exc:  # a payload of another shape was not ours either
        raise ShareInvalid from exc
    if share.kind not in KINDS:
        raise ShareInvalid
    if now >= share.expires_at:
        raise ShareExpired(share.expires_at)
    return share
