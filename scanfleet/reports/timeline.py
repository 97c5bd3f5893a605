"""A browser scan's requests as a tree of who loaded whom, from each request's initiator.

The page loaded its scripts, a tag manager among them loaded an analytics script, which sent a beacon: each
request sits under the earlier request whose URL caused it (the first request of that URL), in the order the page
made them. Requests whose initiator was never requested (the page itself, an inline script) are at the top.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from scanfleet.reports.content import Row, details_of, text

MAX_DEPTH_SHOWN = 8  # deeper requests are indented no further, and say their depth


@dataclass(frozen=True)
class Entry:
    order: int  # 1 for the page's first request, in the order it made them
    depth: int  # 0: caused by no earlier request
    url: str
    host: str
    resource_type: str
    party: str
    vendor: str
    category: str
    outcome: str  # the status, or why it failed or was blocked
    loaded_by: int | None  # the order of the request that caused it

    @property
    def indent(self) -> int:
        return min(self.depth, MAX_DEPTH_SHOWN)


def timeline(evidence: Iterable[Row]) -> list[Entry]:
    """The "request" rows, each after the request that caused it (depth first, siblings in the page's order)."""
    requests = [details_of(row) for row in evidence if row["kind"] == "request"]
    first_of: dict[str, int] = {}
    for index, request in enumerate(requests):
        first_of.setdefault(str(request.get("url")), index)
    parents: list[int | None] = []
    children: dict[int | None, list[int]] = {}
    for index, request in enumerate(requests):
        initiator = request.get("initiator")
        caused_by = first_of.get(str(initiator.get("url"))) if isinstance(initiator, dict) else None
        parent = caused_by if caused_by is not None and caused_by < index else None  # never itself or a later one
        parents.append(parent)
        children.setdefault(parent, []).append(index)
    entries: list[Entry] = []
    # Depth first without recursion: a chain as long as the page's requests must not exhaust the stack.
    stack = [(index, 0) for index in reversed(children.get(None, []))]
    while stack:
        index, depth = stack.pop()
        entries.append(_entry(requests[index], index, depth, parents[index]))
        stack.extend((child, depth + 1) for child in reversed(children.get(index, [])))
    return entries


def _entry(request: Row, index: int, depth: int, parent: int | None) -> Entry:
    return Entry(
        order=index + 1, depth=depth, url=text(request.get("url") or "", 300), host=str(request.get("host") or ""),
        resource_type=str(request.get("resource_type") or ""), party=str(request.get("party") or ""),
        vendor=str(request.get("vendor") or ""), category=str(request.get("category") or ""),
        outcome=_outcome(request), loaded_by=None if parent is None else parent + 1,
    )  # fmt: skip


def _outcome(request: Row) -> str:
    if request.get("blocked"):
        return f"blocked: {text(request['blocked'], 80)}"
    if request.get("failed"):
        return f"failed: {text(request['failed'], 80)}"
    if request.get("redirected_to"):
        return f"{request.get('status') or ''} redirected".strip()
    status = request.get("status")
    return "" if status is None else str(status)
