"""The two expression languages a suite may contain: JSONPath as RFC 9535 defines it (python-jsonpath in
strict mode) and Python regular expressions. Both are checked at validation and compiled once."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated, cast

import jsonpath
from pydantic import AfterValidator, Field

from scanfleet.checks.errors import rule_error

MAX_EXPRESSION_LENGTH = 1000

_ENVIRONMENT = jsonpath.JSONPathEnvironment(strict=True)


@lru_cache(maxsize=1024)
def compile_path(query: str) -> jsonpath.JSONPath:
    """Raises jsonpath.JSONPathError."""
    # Strict mode refuses the `|` and `&` extensions, so the compiled query is never a compound one.
    return cast(jsonpath.JSONPath, _ENVIRONMENT.compile(query))


def path_error(query: str) -> str | None:
    """Why `query` is not valid JSONPath, or None."""
    try:
        compile_path(query)
    except jsonpath.JSONPathError as exc:
        return str(exc).splitlines()[0]  # the rest is a caret diagram
    return None


def _valid_path(query: str) -> str:
    error = path_error(query)
    if error:
        raise rule_error("jsonpath_invalid", f"not a valid JSONPath (RFC 9535): {error}")
    return query


def valid_regex(pattern: str, field: str | None = None) -> str:
    """`pattern` if it compiles; else the validation error, at `field` when a model-level validator checks it."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise rule_error("regex_invalid", f"not a valid regular expression: {exc}", field) from None
    return pattern


JsonPathText = Annotated[str, Field(min_length=1, max_length=MAX_EXPRESSION_LENGTH), AfterValidator(_valid_path)]
RegexText = Annotated[str, Field(min_length=1, max_length=MAX_EXPRESSION_LENGTH), AfterValidator(valid_regex)]
