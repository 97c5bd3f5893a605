"""Request bodies up to a size: a larger one is refused with 413 before it is read whole, whether it declares
its length (refused before reading) or arrives chunked (refused once it passes the limit)."""

from __future__ import annotations

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scanfleet.api.errors import error_body

CODE = "body_too_large"


def _message(limit: int) -> str:
    return f"the request body is over {limit} bytes"


def _framing(scope: Scope) -> tuple[str | None, bool]:
    """The declared Content-Length, and whether Transfer-Encoding is sent: one pass over the raw headers."""
    declared, chunked = None, False
    for name, value in scope["headers"]:
        if name == b"content-length" and declared is None:
            declared = value.decode("latin-1")
        elif name == b"transfer-encoding":
            chunked = True
    return declared, chunked


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, chunked = _framing(scope)
        length = int(declared) if declared is not None and declared.isascii() and declared.isdigit() else None
        if length is not None and length > self.max_bytes:
            # Not read, yet not a reason to close: uvicorn reads and drops the rest of the body after this answer
            # (closing now would reset the connection under a client still sending, and lose the answer).
            await JSONResponse(error_body(CODE, _message(self.max_bytes)), status_code=413)(scope, receive, send)
            return
        if length is not None and not chunked:
            # The body is the declared length, which the server holds it to (RFC 9112, 6.3): nothing to count.
            await self.app(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # An HTTPException, which the route's body parsing passes through to the error handlers.
                    raise HTTPException(413, _message(self.max_bytes))
            return message

        await self.app(scope, counted, send)
