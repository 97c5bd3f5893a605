"""API keys: 256 random bits shown once; only a SHA-256 digest is stored.

A fast hash is the right one here: the secret is random, not a password, so there is nothing for a
slow hash to protect against, and lookups by digest stay one index probe per request.
"""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "sf_"


def generate() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def display_prefix(key: str) -> str:
    return key[: len(PREFIX) + 6]
