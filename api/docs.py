"""/redoc from the package's copy of ReDoc (fastapi-offline's), under a policy that keeps the page on this server.

ReDoc's bundle shows Redocly's logo from their CDN on every page; the policy refuses it (the page then hides the
image), so reading the docs tells no one else about it, and works the same offline.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import HTMLResponse

STATIC = "/static-offline-docs"  # where fastapi-offline serves its copies of the assets
POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline';"
    " worker-src blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def install(app: FastAPI) -> None:
    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{STATIC}/redoc.standalone.js", redoc_favicon_url=f"{root}{STATIC}/favicon.png",
            with_google_fonts=False,
        )  # fmt: skip
        page.headers["Content-Security-Policy"] = POLICY
        return page
