"""Idempotency-Key support: a retried POST with the same key and body gets the first answer back."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.responses import JSONResponse

from scanfleet.api.deps import Resources
from scanfleet.api.errors import ApiError, documented, invalid
from scanfleet.db import idempotency
from scanfleet.db.api_keys import Principal
from scanfleet.storable import NUL_MESSAGE, NUL_RULE

HEADER = "Idempotency-Key"
IDEMPOTENCY = (
    f"With an `{HEADER}` header (1 to 200 characters), a retry with the same key and body gets the first answer"
    " back (`Idempotent-Replayed: true`); the same key with another body is 422 (`idempotency_key_reused`)."
)
IN_USE = documented(409, f"a request with the same {HEADER} is still being answered (`idempotency_key_in_use`)")


async def idempotent(
    request: Request, res: Resources, principal: Principal, answer: Callable[[], Awaitable[JSONResponse]]
) -> JSONResponse:
    key = request.headers.get(HEADER)
    if key is None:
        return await answer()
    if not 1 <= len(key) <= 200:
        raise invalid(HEADER, "string_length", "1 to 200 characters")
    if "\x00" in key:
        raise invalid(HEADER, NUL_RULE, NUL_MESSAGE)
    claim = await idempotency.claim(res.pool, principal.org_id, key, idempotency.request_hash(await request.body()))
    if claim.state == "replay":
        return JSONResponse(
            claim.response, status_code=claim.status_code or 200, headers={"Idempotent-Replayed": "true"}
        )
    if claim.state == "mismatch":
        raise invalid(
            HEADER, "idempotency_key_reused", "used before with a different request body", code="idempotency_key_reused"
        )
    if claim.state == "in_progress":
        raise ApiError(409, "idempotency_key_in_use", f"a request with this {HEADER} is still being answered",
                       {"Retry-After": "1"})  # fmt: skip
    try:
        response = await answer()
    except BaseException:
        # Refused (a full queue) or failed: the client may retry with the same key.
        await idempotency.release(res.pool, principal.org_id, key)
        raise
    await idempotency.complete(res.pool, principal.org_id, key, response.status_code, _json(response))
    return response


def _json(response: JSONResponse) -> object:
    return json.loads(bytes(response.body))
