"""Request bodies up to a size: a larger one is refused with 413 before it is read whole, whether it declares
its length (refused before reading) or arrives chunked (refused once it passes the limit)."""

from __future__ import annotations

from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.types import Message, Receive, Scope

from scanfleet.api.errors import error_body

CODE = "body_too_large"
_LENGTH_DIGITS = 18  # 10**18 bytes: past any limit, within int()'s


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
    """The request context's check of each request (`context`): a refusal before the app runs, or the request's
    `receive` counting what a chunked body brings."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes

    def check(self, scope: Scope, receive: Receive) -> tuple[Response | None, Receive]:
        """A 413 for a declared length over the limit (the body is not read), or None and the `receive` the app
        is to read the body with."""
        declared, chunked = _framing(scope)
        length = None
        if declared is not None and declared.isascii() and declared.isdigit():
            # More digits than any body's length has would also pass int()'s limit on digits (a ValueError, a 500).
            length = int(declared) if len(declared) <= _LENGTH_DIGITS else self.max_bytes + 1
        if length is not None and length > self.max_bytes:
            # Not read, yet not a reason to close: uvicorn reads and drops the rest of the body after this answer
            # (closing now would reset the connection under a client still sending, and lose the answer).
            return JSONResponse(error_body(CODE, _message(self.max_bytes)), status_code=413), receive
        if length is not None and not chunked:
            # The body is the declared length, which the server holds it to (RFC 9112, 6.3): nothing to count.
            return None, receive
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

        return None, counted
