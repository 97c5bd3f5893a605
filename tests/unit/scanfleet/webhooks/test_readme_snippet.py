"""The verification snippet README.md gives customers accepts what the platform signs, and nothing else."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from scanfleet.webhooks.signing import sign

README = Path(__file__).resolve().parents[4] / "README.md"
FUNCTION = "def verify_scanfleet_signature"


def readme_verifier() -> Callable[..., bool]:
    blocks = [block.split("```", 1)[0] for block in README.read_text().split("```python\n")[1:]]
    code = next((block for block in blocks if FUNCTION in block), None)
    assert code is not None, f"README.md has no Python block with `{FUNCTION}` (the Webhooks section)"
    namespace: dict[str, object] = {}
    exec(code, namespace)  # noqa: S102 - the README's own code, run as a customer would paste it
    return namespace["verify_scanfleet_signature"]  # type: ignore[return-value]


def test_the_readme_snippet_checks_signatures() -> None:
    verify = readme_verifier()
    body = b'{"id":"e1","type":"scan.completed","data":{}}'
    now = int(time.time())
    assert verify("whsec_s", sign("whsec_s", now, body), body)
    assert not verify("whsec_s", sign("whsec_s", now, body), body + b" ")
    assert not verify("whsec_other", sign("whsec_s", now, body), body)
    assert not verify("whsec_s", sign("whsec_s", now - 301, body), body)
