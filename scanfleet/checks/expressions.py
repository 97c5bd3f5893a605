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


def regex_error(pattern: str) -> str | None:
    """Why `pattern` is not a valid regular expression, or None."""
    try:
        re.compile(pattern)
    except re.error as exc:
        return str(exc)
    return None


def _valid_path(query: str) -> str:
    error = path_error(query)
    if error:
        raise rule_error("jsonpath_invalid", f"not a valid JSONPath (RFC 9535): {error}")
    return query


def _valid_regex(pattern: str) -> str:
    error = regex_error(pattern)
    if error:
        raise rule_error("regex_invalid", f"not a valid regular expression: {error}")
    return pattern


JsonPathText = Annotated[str, Field(min_length=1, max_length=MAX_EXPRESSION_LENGTH), AfterValidator(_valid_path)]
RegexText = Annotated[str, Field(min_length=1, max_length=MAX_EXPRESSION_LENGTH), AfterValidator(_valid_regex)]
