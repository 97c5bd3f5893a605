"""The two expression languages a suite may contain: JSONPath as RFC 9535 defines it (python-jsonpath in
strict mode) and regular expressions in RE2 syntax. Both are checked at validation and compiled once.

Patterns come from users and run against bodies targets send: RE2 matches in time linear in the text
whatever the pattern (no backtracking, so `(a+)+$` cannot hang a worker), at the price of backreferences
and lookaround, which it refuses to compile.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, cast

import jsonpath
import re2
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


def _re2_options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is the user's 422, not a line on the worker's stderr
    return options


_RE2_OPTIONS = _re2_options()


@lru_cache(maxsize=1024)
def compile_regex(pattern: str) -> re2._Regexp[str]:
    """Raises re2.error."""
    return re2.compile(pattern, _RE2_OPTIONS)


def valid_regex(pattern: str, field: str | None = None) -> str:
    """`pattern` if it compiles; else the validation error, at `field` when a model-level validator checks it."""
    try:
        compile_regex(pattern)
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        message = f"not a valid regular expression in RE2 syntax (no backreferences or lookaround): {reason}"
        raise rule_error("regex_invalid", message, field) from None
    return pattern


JsonPathText = Annotated[str, Field(min_length=1, max_length=MAX_EXPRESSION_LENGTH), AfterValidator(_valid_path)]
RegexText = Annotated[str, Field(min_length=1, max_length=MAX_EXPRESSION_LENGTH), AfterValidator(valid_regex)]
