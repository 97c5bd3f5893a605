"""Every error is JSON: {"error": {"code", "message", "fields": [{"field", "rule", "message"}]}}."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException

from scanfleet.db.errors import UNAVAILABLE

# What a client should wait before trying again while a server is away (they restart in seconds).
RETRY_AFTER_SECONDS = 5


class FieldError(BaseModel):
    field: str = Field(description="where: a body field's dotted path, or a parameter's or header's name")
    rule: str = Field(description="the rule it breaks, a stable code")
    message: str
    step: int | None = Field(None, description="for a test run's suite: the index of the step")


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")  # a refusal may add its figures: limit, tier, running, queued, ...
    code: str = Field(description="a stable code, e.g. validation_error, not_found, queue_full, rate_limited")
    message: str
    fields: list[FieldError] = Field(default_factory=list, description="the fields at fault, when any")


class ErrorBody(BaseModel):
    """Every error the API answers."""

    error: ErrorDetail


def documented(status: int, description: str) -> dict[int | str, dict[str, Any]]:
    """A route's `responses` entry for an error it answers."""
    return {status: {"model": ErrorBody, "description": description}}


QUEUE_FULL = documented(
    429, "the organisation's queue is full (`queue_full`, naming the limit) or the key is over its rate limit"
    " (`rate_limited`); both with `Retry-After`",
)  # fmt: skip


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


def _field_error(error: dict[str, Any]) -> dict[str, str]:
    loc = tuple(error["loc"])
    if error["type"] == "json_invalid":  # its location is a character position in the document, not a field
        detail = (error.get("ctx") or {}).get("error", "")
        return {"field": "body", "rule": "json_invalid", "message": f"not valid JSON: {detail} at character {loc[-1]}"}
    # ("body", "url") → "url"; ("query", "limit") → "limit"; a whole-body error → "body".
    parts = [str(part) for part in loc[1:]] if len(loc) > 1 else [str(part) for part in loc]
    return {"field": ".".join(parts) or "body", "rule": error["type"], "message": error["msg"]}


async def _on_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = [_field_error(err) for err in exc.errors()]
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return JSONResponse(error_body("validation_error", summary, fields), status_code=422)


async def _on_api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(
        error_body(exc.code, exc.message, exc.fields, exc.details), status_code=exc.status, headers=exc.headers
    )


async def _on_http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        # FastAPI's answer to a body that is not even text: as much not JSON as any other.
        field = {"field": "body", "rule": "json_invalid", "message": "not valid JSON: not UTF-8 text"}
        return JSONResponse(error_body("validation_error", "body: not valid JSON", [field]), status_code=422)
    code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(exc.status_code, "http_error")
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
