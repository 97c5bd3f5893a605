"""Suite validation errors: each names the step, the field inside it and a stable rule code.

Models raise `rule_error(...)` from their validators; translate.py turns pydantic's errors into this shape.
"""

from __future__ import annotations

from typing import TypedDict

from pydantic_core import PydanticCustomError


class SuiteIssue(TypedDict):
    step: int | None  # index into the suite's steps, None for suite-level fields
    field: str  # dotted path inside the step (or the suite), e.g. "assertions.2.path"
    rule: str
    message: str


class SuiteError(ValueError):
    def __init__(self, errors: list[SuiteIssue]) -> None:
        super().__init__("; ".join(_describe(issue) for issue in errors))
        self.errors = errors


def issue(step: int | None, field: str, rule: str, message: str) -> SuiteIssue:
    return {"step": step, "field": field, "rule": rule, "message": message}


def rule_error(rule: str, message: str, field: str | None = None) -> PydanticCustomError:
    """For validators: `rule` becomes the error's code; `field`, if given, is appended to the error's location
    (a model-level validator can still point at the one field that is wrong)."""
    # The message goes in through the context: a literal template would eat the braces of "{{token}}".
    return PydanticCustomError(rule, "{message}", {"message": message, "field": field})


def issue_path(item: SuiteIssue) -> str:
    """Where the issue is in the suite: "steps.2.assertions.0.path", "steps.4" for a whole step, "" for the suite."""
    step = f"steps.{item['step']}" if item["step"] is not None else ""
    return ".".join(part for part in (step, item["field"]) if part)


def _describe(item: SuiteIssue) -> str:
    return f"{issue_path(item) or 'suite'}: {item['message']} ({item['rule']})"
