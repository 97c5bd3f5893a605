"""Which methods a path takes: OPTIONS answers 204 with them in `Allow`, any other method is 405 naming them.

The router alone would answer OPTIONS with 405, and a 405's `Allow` would name the methods of only the first
route that matched the path (GET and DELETE of one resource are two routes)."""

from __future__ import annotations

import functools

from fastapi.responses import JSONResponse, Response
from fastapi.routing import RouteContext, iter_route_contexts
from starlette._utils import get_route_path  # what starlette's router itself matches on
from starlette.routing import BaseRoute
from starlette.types import Scope

from scanfleet.api.errors import error_body

_KEPT_PATH_LENGTH = 200


def _prefix(path: str) -> str:
    """A path's first two segments ("/v1/scans" of "/v1/scans/{scan_id}"): the routes a path may match are those
    filed under its own prefix and those whose prefix holds a parameter."""
    return "/".join(path.split("/", 3)[:3])


class AllowedMethods:
    """The request context's check of each request (`context`): a path's OPTIONS, and a method it does not take,
    answered before the app runs."""

    def __init__(self, routes: list[BaseRoute]) -> None:
        self.routes = routes  # the app's, filled in after this is made
        self._by_prefix: dict[str, list[RouteContext]] | None = None
        self._anywhere: list[RouteContext] = []
        # Most requests are of few paths (health checks, a scan polled until it ends): matching one path against
        # its candidate routes costs more than the rest of this check. Paths up to _KEPT_PATH_LENGTH are kept;
        # longer ones are matched every time, so that a stranger's long paths cost time, not memory.
        self._known = functools.lru_cache(maxsize=4096)(self._methods_of)

    def refusal(self, scope: Scope) -> Response | None:
        """The answer to a method the path does not take (204 to OPTIONS), or None to let the app answer."""
        allowed = self._allowed(get_route_path(scope))
        method = scope["method"]
        if not allowed or method in allowed:
            return None
        allow = ", ".join(sorted(allowed | {"OPTIONS"}))
        if method == "OPTIONS":
            return Response(status_code=204, headers={"Allow": allow})
        message = f"{method} is not allowed here; this path takes {allow}"
        return JSONResponse(error_body("method_not_allowed", message), status_code=405, headers={"Allow": allow})

    def _candidates(self, path: str) -> list[RouteContext]:
        if self._by_prefix is None:  # included routers, flattened once the app is complete
            self._by_prefix = {}
            for route in iter_route_contexts(self.routes):
                if not route.methods:
                    continue
                prefix = _prefix(route.path or "")
                if "{" in prefix:
                    self._anywhere.append(route)
                else:
                    self._by_prefix.setdefault(prefix, []).append(route)
        return self._by_prefix.get(_prefix(path), []) + self._anywhere

    def _allowed(self, path: str) -> frozenset[str]:
        return self._known(path) if len(path) <= _KEPT_PATH_LENGTH else self._methods_of(path)

    def _methods_of(self, path: str) -> frozenset[str]:
        matching = [route for route in self._candidates(path) if route.path_regex.match(path)]
        # A literal path is its own resource: /v1/scans/batch is not the scan "batch" of /v1/scans/{scan_id}.
        literal = [route for route in matching if not route.param_convertors]
        methods: set[str] = set()
        for route in literal or matching:
            methods |= route.methods or set()
        return frozenset(methods)
