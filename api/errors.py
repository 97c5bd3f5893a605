"""Every error is JSON: {"error": {"code", "message", "fields": [{"field", "rule", "message"}]}}."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException

from scanfleet.db.errors import UNAVAILABLE

# What a client should wait before trying again while a server is away (they restart in seconds).
RETRY_AFTER_SECONDS = 5


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        fields: Sequence[Mapping[str, object]] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
        self.fields = fields
        self.details = details


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def invalid(field: str, rule: str, message: str, code: str = "validation_error") -> ApiError:
    """A 422 about one field, shaped like the validation errors FastAPI's models raise."""
    return ApiError(422, code, f"{field}: {message}", fields=[{"field": field, "rule": rule, "message": message}])


def error_body(
    code: str, message: str, fields: Sequence[Mapping[str, object]] | None = None, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    if details:
        error.update(details)
    return {"error": error}


def _field_name(loc: tuple[Any, ...]) -> str:
    # ("body", "url") → "url"; ("query", "limit") → "limit"; a whole-body error → "body".
    parts = [str(part) for part in loc[1:]] if len(loc) > 1 else [str(part) for part in loc]
    return ".".join(parts) or "body"


async def _on_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = [
        {"field": _field_name(tuple(err["loc"])), "rule": err["type"], "message": err["msg"]} for err in exc.errors()
    ]
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return JSONResponse(error_body("validation_error", summary, fields), status_code=422)


async def _on_api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(
        error_body(exc.code, exc.message, exc.fields, exc.details), status_code=exc.status, headers=exc.headers
    )


async def _on_http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers)


def _unavailable(code: str, what: str) -> JSONResponse:
    # Nothing was accepted (a submission's row and its admission stand or fall together): retrying is safe.
    return JSONResponse(
        error_body(code, f"{what} cannot be reached; nothing was accepted, try again shortly"),
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _on_database_unavailable(_: Request, exc: Exception) -> JSONResponse:
    return _unavailable("unavailable", "the database")


async def _on_queue_unavailable(_: Request, exc: Exception) -> JSONResponse:
    # Redis holds the rate limits and the capacity gate: without it no request can be checked.
    return _unavailable("queue_unavailable", "the job queue")


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(HTTPException, _on_http_error)
    for kind in UNAVAILABLE:
        app.add_exception_handler(kind, _on_database_unavailable)
    app.add_exception_handler(RedisError, _on_queue_unavailable)
