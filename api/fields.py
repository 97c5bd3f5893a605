"""Field types the API's models and parameters share, each with its rules in the OpenAPI schema: NUL-free text,
target URLs, and the cursors lists hand out."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Query
from pydantic import AfterValidator, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from scanfleet import urls
from scanfleet.storable import NUL_FREE_PATTERN, NUL_MESSAGE, NUL_RULE

INT4_MAX = 2**31 - 1  # result sequence numbers are PostgreSQL integers
INT8_MAX = 2**63 - 1  # delivery ids are bigints


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise PydanticCustomError(NUL_RULE, NUL_MESSAGE)
    return value


class _NulFree:
    """A string PostgreSQL can store: the NUL character is refused (rule `nul_character`), and the schema says so."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(_no_nul, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.setdefault("pattern", NUL_FREE_PATTERN)
        return json_schema


NulFree = _NulFree()
Text = Annotated[str, NulFree]
Name = Annotated[str, Field(min_length=1, max_length=200), NulFree]


def _target_url(value: str) -> str:
    try:
        return urls.normalise_target(value)
    except urls.InvalidUrl as exc:
        raise PydanticCustomError(exc.rule, exc.message) from None


TargetUrl = Annotated[
    str,
    # The schema states the rules; _target_url checks them, naming the one broken (url_too_long, url_scheme, ...).
    Field(min_length=1, json_schema_extra={"maxLength": urls.MAX_URL_LENGTH, "pattern": urls.TARGET_PATTERN}),
    AfterValidator(_target_url),
]

# Cursors: each list's next_cursor, passed back as ?cursor=. Their forms are in the schema, so a cursor the API
# could not have given out is refused as any other malformed parameter (422 naming `cursor` and the rule).
_CURSOR = "next_cursor of the previous page"
SeqCursor = Annotated[int | None, Query(ge=0, le=INT4_MAX, description=_CURSOR)]
IdCursor = Annotated[uuid.UUID | None, Query(description=_CURSOR)]
DeliveryCursor = Annotated[int | None, Query(ge=1, le=INT8_MAX, description=_CURSOR)]
# A domain's scans page by (created_at, scan id): microseconds since the epoch, "_", the id.
_DOMAIN_CURSOR = r"^[0-9]{1,16}_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


DomainCursor = Annotated[str | None, Query(pattern=_DOMAIN_CURSOR, description=_CURSOR)]


def domain_position(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """Where a DomainCursor points: (created_at, scan id); its pattern was checked with the request."""
    if cursor is None:
        return None
    micros, _, scan_id = cursor.partition("_")
    return _EPOCH + timedelta(microseconds=int(micros)), uuid.UUID(scan_id)


def domain_cursor(created_at: datetime, scan_id: uuid.UUID) -> str:
    return f"{(created_at - _EPOCH) // timedelta(microseconds=1)}_{scan_id}"
