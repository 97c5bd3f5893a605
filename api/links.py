"""Absolute URLs of the API's own routes (status_url, Location, ping_url), on the configured public address.

Never from the request: its Host header is the client's to set, and a link built on it would send the next
request (with its API key) wherever that client, or a poisoned cache, said."""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.routing import Route


def link(request: Request, name: str, **params: str) -> str:
    base: str = request.app.state.resources.settings.api_base_url
    route = _named_routes(request.app).get(name)
    if route is None:  # not a plain route of this app (a mounted one): Starlette's own search
        return base + str(request.app.url_path_for(name, **params))
    # What url_path_for does once it has found the route, without its walk through every route of the app first
    # (a response with two links walked them twice).
    converted = {key: route.param_convertors[key].to_string(value) for key, value in params.items()}
    return base + route.path_format.format(**converted)


def _named_routes(app: FastAPI) -> dict[str, Route]:
    """The app's plain routes by name, found once per app (its routes are fixed once it serves)."""
    found: dict[str, Route] | None = getattr(app.state, "named_routes", None)
    if found is None:
        found = {}
        for route in app.routes:
            if isinstance(route, Route):
                found.setdefault(route.name, route)  # the first of a name, as url_path_for finds it
        app.state.named_routes = found
    return found
