"""The http engine's static analysis over what the browser loaded: the main document's response as it arrived,
merged with the DOM after scripts ran, so a browser scan's rows are a superset of an http scan's."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from scanfleet.http.fetch import FetchResult
from scanfleet.model import Evidence
from scanfleet.worker.privacy.analyse import collect_evidence
from scanfleet.worker.privacy.consent import ConsentSignals
from scanfleet.worker.privacy.document import Document, parse_document, parse_html


def static_evidence(
    result: FetchResult, rendered_html: str | None, now: datetime, consent: ConsentSignals | None = None
) -> tuple[list[Evidence], dict[str, Any]]:
    """Every static row but the http engine's coverage row, and that row's counts (for the browser's own);
    consent managers are judged on the documents and on what the browser saw of them (`consent`)."""
    document = parse_document(result)
    if document is not None and rendered_html:
        document = merge(document, parse_html(rendered_html, result.final.url))
    rows = collect_evidence(result, document, now, consent)
    coverage = next(row for row in rows if row.kind == "coverage")
    counts = {key: value for key, value in coverage.details.items() if key != "not_observed"}
    return [row for row in rows if row.kind != "coverage"], counts


def merge(served: Document, rendered: Document) -> Document:
    """The served page plus whatever scripts added to it, each reference, form, link and script once."""
    return replace(
        served,
        references=_union(served.references, rendered.references),
        forms=_union(served.forms, rendered.forms),
        anchors=_union(served.anchors, rendered.anchors),
        inline_scripts=_union(served.inline_scripts, rendered.inline_scripts),
    )


T = TypeVar("T")


def _union(first: list[T], second: list[T]) -> list[T]:
    return list(dict.fromkeys([*first, *second]))
