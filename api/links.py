"""Absolute URLs of the API's own routes (status_url, Location, ping_url), on the configured public address.

Never from the request: its Host header is the client's to set, and a link built on it would send the next
request (with its API key) wherever that client, or a poisoned cache, said."""

from __future__ import annotations

from fastapi import FastAPI, Request


def link(request: Request, name: str, **params: str) -> str:
    base: str = request.app.state.resources.settings.api_base_url
    # Every parameter is a path segment of its own (Starlette's str convertor, which refuses a slash).
    assert all(value and "/" not in value for value in params.values()), params
    return base + _path_format(request.app, name, tuple(sorted(params))).format(**params)


def _path_format(app: FastAPI, name: str, params: tuple[str, ...]) -> str:
    """The route's path with `{param}` placeholders, found once per app: url_path_for walks every route (and each
    included router's), which a response with two links did twice."""
    formats: dict[tuple[str, tuple[str, ...]], str] | None = getattr(app.state, "link_formats", None)
    if formats is None:
        formats = app.state.link_formats = {}
    found = formats.get((name, params))
    if found is None:
        found = formats[name, params] = str(app.url_path_for(name, **{param: f"{{{param}}}" for param in params}))
    return found
