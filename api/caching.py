"""Conditional GETs for finished jobs, which never change again."""

from __future__ import annotations

import hashlib

from fastapi import Request, Response
from pydantic import BaseModel

from scanfleet.api.responses import ModelResponse

NOT_MODIFIED: dict[int | str, dict[str, object]] = {
    304: {"description": "a finished one the client has already: its ETag matched If-None-Match"}
}


def variant(etag: str | None, name: str) -> str | None:
    """The tag of another representation of the same finished job (a page of its results, its report)."""
    return None if etag is None else f'{etag[:-1]}.{name}"'


def not_modified(request: Request, etag: str | None) -> Response | None:
    """304 if the client already has this representation; None when it must be sent."""
    if etag is not None and etag in _tags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers={"ETag": etag})
    return None


def respond(request: Request, etag: str | None, body: BaseModel, vary_on_query: bool = False) -> Response:
    """The body with its ETag, or 304 if the client already has it. No ETag while the scan may still change."""
    if vary_on_query and request.url.query:
        # A page of results: the same scan, another page or filter, is another representation.
        etag = variant(etag, hashlib.sha256(request.url.query.encode()).hexdigest()[:16])
    unchanged = not_modified(request, etag)
    if unchanged is not None:
        return unchanged
    headers = {"ETag": etag} if etag else {}
    return ModelResponse(body, headers=headers)


def _tags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}
