"""Field types the API's models and parameters share, each with its rules in the OpenAPI schema: NUL-free text,
target URLs, and the cursors lists hand out."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import Query
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from scanfleet import urls
from scanfleet.storable import NUL_FREE_PATTERN, text_problem

# Request bodies: unknown fields are errors, and each value has the JSON type the schema gives it (no `false` for
# an integer, no `1` or "yes" for a boolean), as the schema's own validators would judge it.
BODY = ConfigDict(extra="forbid", strict=True)

INT4_MAX = 2**31 - 1  # result sequence numbers are PostgreSQL integers
INT8_MAX = 2**63 - 1  # delivery ids are bigints


def _storable(value: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise PydanticCustomError(*problem)
    return value


class _NulFree:
    """A string PostgreSQL can store: the NUL character (rule `nul_character`) and lone surrogates (`text_not_unicode`)
    are refused, and the schema says so of NUL (a JSON Schema pattern cannot name a lone surrogate)."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(_storable, handler(source))

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
    NulFree,
    AfterValidator(_target_url),
]


def _whole(value: object) -> object:
    return int(value) if isinstance(value, float) and value.is_integer() else value


# An integer in a body as JSON Schema has it: 3600 or 3600.0, never true or "3600".
Int = Annotated[int, BeforeValidator(_whole)]


def _iso_date(value: object) -> object:
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise PydanticCustomError("date_format", "a day as YYYY-MM-DD")
    return value


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A day in a query: only as YYYY-MM-DD (pydantic alone would also read a number as a Unix time).
Day = Annotated[date, BeforeValidator(_iso_date)]

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
