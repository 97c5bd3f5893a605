"""Absolute URLs of the API's own routes (status_url, Location, ping_url), on the configured public address.

Never from the request: its Host header is the client's to set, and a link built on it would send the next
request (with its API key) wherever that client, or a poisoned cache, said."""

from __future__ import annotations

from fastapi import Request


def link(request: Request, name: str, **params: str) -> str:
    base: str = request.app.state.resources.settings.api_base_url
    return base + str(request.app.url_path_for(name, **params))
