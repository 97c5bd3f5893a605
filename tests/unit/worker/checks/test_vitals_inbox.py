"""The vitals a page reports are the page's to forge: only the top frame's well-formed reports of its newest
document count, and their values are bounded."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from scanfleet.worker.checks.browser_session import Vitals, VitalsInbox


@dataclass
class Frame:
    parent_frame: Frame | None = None


TOP, CHILD = Frame(), Frame(Frame())


def report(origin: float, lcp: Any, cls: Any) -> str:
    return json.dumps({"origin": origin, "lcp": lcp, "cls": cls})


def test_the_top_frame_newest_document_counts() -> None:
    inbox = VitalsInbox()
    inbox({"frame": TOP}, report(1000.0, 812.34, 0.05))
    assert inbox.latest == Vitals(1000.0, 812.3, 0.05)
    inbox({"frame": TOP}, report(2000.0, None, 0.0))  # a new document, no paint yet
    assert inbox.latest == Vitals(2000.0, None, 0.0)
    inbox({"frame": TOP}, report(1000.0, 9.0, 0.9))  # late, from the document the page left
    assert inbox.latest == Vitals(2000.0, None, 0.0)


def test_forged_or_malformed_reports_are_ignored_or_bounded() -> None:
    inbox = VitalsInbox()
    for source, payload in [
        ({"frame": CHILD}, report(1.0, 5.0, 0.1)),  # a frame's
        ({"frame": TOP}, "not json"),
        ({"frame": TOP}, json.dumps({"origin": 1.0})),
        ({"frame": TOP}, report(1.0, "soon", 0.1)),
        ({"frame": TOP}, {"origin": 1.0}),  # not a string at all
        ({"frame": TOP}, report(1.0, 5.0, 0.1) + " " * 1000),  # longer than any report the platform sends
        ({}, report(1.0, 5.0, 0.1)),
    ]:
        inbox(source, payload)
    assert inbox.latest == Vitals()
    inbox({"frame": TOP}, report(1.0, 1e12, 1e9))
    assert inbox.latest == Vitals(1.0, None, 1000.0)  # no timing beyond an hour; a shift bounded
