"""What of a job's attachments is kept (the size limits), how blobs are named, and what a HAR leaves out."""

from __future__ import annotations

import json
import time
import uuid

from scanfleet.artifacts import blob_key, parse_key
from scanfleet.artifacts.blobs import served_type
from scanfleet.artifacts.writer import within_limits
from scanfleet.model import Attachment
from scanfleet.worker.browser.har import har_log
from scanfleet.worker.browser.network import Request


def _of(kind: str, size: int) -> Attachment:
    return Attachment(kind, "application/octet-stream", b"x" * size)


def test_each_artifact_and_the_whole_job_stay_within_their_limits() -> None:
    kept = within_limits(
        [_of("screenshot", 101), _of("har", 60), _of("document", 50), _of("dom_snapshot", 40)],
        max_bytes=100, job_max_bytes=100,
    )  # fmt: skip
    # The screenshot is over the per-artifact limit; the document would cross the job's; the snapshot still fits.
    assert [item.kind for item in kept] == ["har", "dom_snapshot"]


def test_keys_name_the_org_and_the_digest_and_nothing_else_parses() -> None:
    org, digest = uuid.uuid4(), "ab" * 32
    assert parse_key(blob_key(org, digest)) == (org, digest)
    for foreign in ("ready", f"{org}/{digest}.tmp", f"../{digest}", f"{org}/{digest.upper()}", f"x/{org}/{digest}"):
        assert parse_key(foreign) is None


def test_a_har_keeps_urls_and_set_cookies_and_leaves_request_bodies_out() -> None:
    opened = time.monotonic()
    sent = Request(
        id="1", url="https://in.logger.example/collect?v=1", method="POST", resource_type="Fetch", frame_id=None,
        initiator_type="script", initiator_url="https://logger.example/l.js", started=opened + 0.5,
        post_data=b"email=sfcanary-secret", status=204, set_cookies=["id=42; Secure"],
    )  # fmt: skip
    raw = har_log([sent], "https://shop.example/", "150.0", opened)
    assert b"sfcanary-secret" not in raw
    (entry,) = json.loads(raw)["log"]["entries"]
    assert entry["request"]["url"] == sent.url and entry["request"]["queryString"] == [{"name": "v", "value": "1"}]
    assert entry["request"]["bodySize"] == -1 and "postData" not in entry["request"]
    assert entry["response"]["headers"] == [{"name": "Set-Cookie", "value": "id=42; Secure"}]
    assert entry["_initiator"] == {"type": "script", "url": "https://logger.example/l.js"}


def test_only_screenshots_and_hars_are_served_as_their_own_type() -> None:
    assert served_type("image/png") == "image/png"
    assert served_type("application/json") == "application/json"
    # A document carries its target's own type: served as bytes to download, never as a page or an image.
    for sent in ("text/html; charset=utf-8", "image/svg+xml", "application/javascript", "text/plain", ""):
        assert served_type(sent) == "application/octet-stream"
