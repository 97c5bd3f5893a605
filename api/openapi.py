"""The OpenAPI document: FastAPI's, plus every error an operation can answer, with the one error body.

Errors follow from what an operation is, so they are stated here once rather than on each route: an API key
(401, 429 over its rate limit), a database behind it (503), a resource in its path (404), parameters or a body
(422), a body (413), an admin scope (403). Routes add what is theirs alone (409s)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from scanfleet.api.errors import ErrorBody
from scanfleet.checks import Suite

_REF = "#/components/schemas/{model}"
_ERROR = {"application/json": {"schema": {"$ref": _REF.format(model="ErrorBody")}}}
_DESCRIPTIONS = {
    "401": "no API key, or one unknown or revoked (`unauthenticated`, `invalid_api_key`)",
    "403": "the key lacks the admin scope (`forbidden`)",
    "404": "not found, or another organisation's (`not_found`)",
    "413": "the request body is over the size limit (`body_too_large`)",
    "422": "a parameter or the body breaks a rule: `fields` names each field and rule",
    "429": "over the key's rate limit (`rate_limited`, with `Retry-After`)",
    "503": "PostgreSQL or Redis cannot be reached (`unavailable`, `queue_unavailable`, with `Retry-After`)",
}
# Bodies documented from their own model, where the route reads the body itself to answer with its own errors.
_BODIES: dict[tuple[str, str], type[Suite]] = {("/v1/runs", "post"): Suite}


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def build(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes, tags=app.openapi_tags
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    _add_model(schemas, ErrorBody)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            body = _BODIES.get((path, method))
            if body is not None:
                _add_model(schemas, body)
                operation["requestBody"]["content"]["application/json"]["schema"] = {
                    "$ref": _REF.format(model=body.__name__)
                }
            for status in _errors(path, operation):
                answer = operation["responses"].setdefault(status, {"description": _DESCRIPTIONS[status]})
                answer["content"] = _ERROR
    return document


def _errors(path: str, operation: dict[str, Any]) -> list[str]:
    parameters = operation.get("parameters", [])
    statuses = []
    if operation.get("security"):
        statuses += ["401", "429"]
    if "admin" in operation.get("tags", []):
        statuses.append("403")
    if any(parameter["in"] == "path" for parameter in parameters):
        statuses.append("404")
    if "requestBody" in operation:
        statuses.append("413")
    if parameters or "requestBody" in operation:
        statuses.append("422")
    if path.startswith("/v1/"):
        statuses.append("503")
    return [status for status in statuses if status not in operation["responses"] or status == "422"]


def _add_model(schemas: dict[str, Any], model: type[Any]) -> None:
    generated = model.model_json_schema(ref_template=_REF)
    schemas.update(generated.pop("$defs", {}))
    schemas[model.__name__] = generated
