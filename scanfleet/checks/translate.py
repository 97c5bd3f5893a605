"""Pydantic's validation errors in the platform's shape: the step index, the field inside the step with
union tags left out ("assertions.2.path", not "assertions.2.json.path"), and a stable rule code."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from scanfleet.checks.assertions_model import ASSERTION_TYPES
from scanfleet.checks.errors import SuiteIssue, issue

# Lists whose items are tagged unions: pydantic puts the tag in the location after the index.
_UNION_LISTS = ("steps", "assertions", "extract", "actions")
# Fields holding a tagged union: the tag follows the field name.
_UNION_FIELDS = ("body", "auth")
_UNKNOWN_TAG_RULES = {
    "steps": "unknown_step_kind",
    "assertions": "unknown_assertion_type",
    "extract": "unknown_extract_source",
    "actions": "unknown_action",
    "body": "unknown_body_type",
    "auth": "unknown_auth_type",
}
_RULES = {
    "missing": "required",
    "union_tag_not_found": "required",
    "extra_forbidden": "field_unknown",
    "too_long": "too_long",
    "string_too_long": "too_long",
    "too_short": "too_short",
    "string_too_short": "too_short",
    "greater_than": "out_of_range",
    "greater_than_equal": "out_of_range",
    "less_than": "out_of_range",
    "less_than_equal": "out_of_range",
}


def issues_from(exc: ValidationError) -> list[SuiteIssue]:
    return [_translate(error) for error in exc.errors(include_url=False)]


def _translate(error: ErrorDetails) -> SuiteIssue:
    loc = _without_tags(error["loc"])
    ctx: dict[str, Any] = error.get("ctx") or {}
    rule, message = _rule(error["type"], loc), str(ctx.get("message", error["msg"]))
    if ctx.get("field"):
        loc = [*loc, *str(ctx["field"]).split(".")]
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        discriminator = str(ctx.get("discriminator", "'type'")).strip("'")
        rule, message = _tag_problem(error, ctx, loc, discriminator)
        loc = [*loc, discriminator]
    step: int | None = None
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        step, loc = loc[1], loc[2:]
    return issue(step, ".".join(str(part) for part in loc), rule, message)


def _tag_problem(error: ErrorDetails, ctx: dict[str, Any], loc: list[int | str], discriminator: str) -> tuple[str, str]:
    if error["type"] == "union_tag_not_found":
        return "required", f"{discriminator} is required"
    container = next(str(part) for part in reversed(loc) if isinstance(part, str))
    tag = ctx.get("tag")
    if container == "assertions" and tag in ASSERTION_TYPES:
        step_kind = error["loc"][2]  # ("steps", index, kind, "assertions", index)
        return "assertion_not_allowed", f"{tag} assertions do not apply to {step_kind} steps"
    return _UNKNOWN_TAG_RULES.get(container, "unknown_type"), f"{tag!r} is not one of {ctx.get('expected_tags')}"


def _without_tags(loc: tuple[int | str, ...]) -> list[int | str]:
    kept: list[int | str] = []
    previous_was_tag = False
    for position, part in enumerate(loc):
        before = loc[position - 1] if position else None
        is_tag = not previous_was_tag and (
            (isinstance(before, int) and position >= 2 and loc[position - 2] in _UNION_LISTS) or before in _UNION_FIELDS
        )
        if not is_tag and part != "[key]":
            kept.append(part)
        previous_was_tag = is_tag
    return kept


def _rule(kind: str, loc: list[int | str]) -> str:
    if kind == "literal_error":
        return "operator_invalid" if loc and loc[-1] == "operator" else "choice_invalid"
    if kind in _RULES:
        return _RULES[kind]
    if kind.endswith(("_type", "_parsing")):
        return "type_invalid"
    return kind  # our own rule codes, raised through rule_error
