"""A job's report as one self-contained HTML page: inline CSS, the screenshot as a data: URI, no script, and a
Content-Security-Policy that lets it fetch nothing, whatever the target put into its evidence."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from scanfleet import __version__
from scanfleet.model import NOUN, Job
from scanfleet.reports import content, runs, timeline
from scanfleet.reports.content import Row

# Also sent as the response's header; in the page too, for the copy saved to disk and for the PDF printer.
POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

# The largest screenshot a report carries inline (base64 makes it a third larger in the page); a larger one is named,
# not shown, so one report never holds a large blob in the API's memory (README: Reports).
SCREENSHOT_MAX_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class ScreenshotTooLarge:
    size: int


Screenshot = bytes | ScreenshotTooLarge | None

_IMAGE_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


@cache
def _environment() -> Environment:
    # Autoescaping everywhere: every value in a report is the target's text.
    return Environment(
        loader=PackageLoader("scanfleet.reports"), autoescape=True, undefined=StrictUndefined, trim_blocks=True,
        lstrip_blocks=True,
    )  # fmt: skip


def screenshot_uri(image: bytes | None) -> str | None:
    """The image as a data: URI, if it is a PNG or JPEG; None otherwise (no image is better than a wrong one)."""
    if not image:
        return None
    for magic, content_type in _IMAGE_TYPES.items():
        if image.startswith(magic):
            return f"data:{content_type};base64,{base64.b64encode(image).decode('ascii')}"
    return None


def scan_report(
    scan: Job, evidence: Sequence[Row], issues: Sequence[Row], screenshot: Screenshot, now: datetime
) -> str:
    by_seq = {int(row["seq"]): row for row in evidence}
    return _render(
        "scan.html", scan, now, screenshot,
        groups=content.issues_by_severity(issues, by_seq),
        counts={severity: sum(1 for i in issues if i["severity"] == severity) for severity in content.SEVERITIES},
        third_parties=content.third_parties(evidence), cookies=content.cookies(evidence),
        storage=content.storage(evidence), observed=content.observed(evidence),
        timeline=timeline.timeline(evidence), not_observed=content.not_observed(evidence),
    )  # fmt: skip


def run_report(run: Job, evidence: Sequence[Row], screenshot: Screenshot, now: datetime) -> str:
    spec = run.spec or {}
    return _render("run.html", run, now, screenshot, name=str(spec.get("name") or "run"), steps=runs.steps(evidence))


def _render(template: str, job: Job, now: datetime, screenshot: Screenshot, **values: object) -> str:
    duration = (job.finished_at - job.started_at).total_seconds() if job.started_at and job.finished_at else None
    too_large = screenshot if isinstance(screenshot, ScreenshotTooLarge) else None
    shown = None if isinstance(screenshot, ScreenshotTooLarge) else screenshot_uri(screenshot)
    return _environment().get_template(template).render(
        job=job, noun=NOUN[job.kind], now=now, duration=duration, policy=POLICY, version=__version__,
        screenshot=shown, screenshot_too_large=too_large, **values,
    )  # fmt: skip
