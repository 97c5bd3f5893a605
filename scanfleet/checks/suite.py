"""A suite: named steps run in order, sharing variables. `parse_suite` is the one way in, for the API
(before anything is queued) and for the worker (reloading what the API stored)."""

from __future__ import annotations

import functools
import json
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator

from scanfleet.checks.assertions_model import Model
from scanfleet.checks.errors import SuiteError, SuiteIssue, issue, rule_error
from scanfleet.checks.steps import BrowserStep, HeartbeatStep, HttpStep, TcpStep, Text, TlsStep
from scanfleet.checks.template import VariableName, malformed, placeholders
from scanfleet.checks.translate import issues_from
from scanfleet.model import Engine
from scanfleet.storable import json_problems

MAX_STEPS = 20
MAX_VARIABLES = 50

Step = Annotated[HttpStep | TlsStep | TcpStep | HeartbeatStep | BrowserStep, Field(discriminator="kind")]


class Suite(Model):
    name: Annotated[str, Field(min_length=1, max_length=200)] = "run"
    variables: dict[VariableName, Text] = Field(default_factory=dict, max_length=MAX_VARIABLES)  # initial values
    steps: list[Step]

    @field_validator("steps", mode="before")
    @classmethod
    def _step_count(cls, steps: Any) -> Any:
        # Before the items are validated: 500 steps get one error, not 500 × theirs.
        if isinstance(steps, list) and len(steps) > MAX_STEPS:
            raise rule_error("too_many_steps", f"a suite has at most {MAX_STEPS} steps, this one {len(steps)}")
        if isinstance(steps, list) and not steps:
            raise rule_error("no_steps", "a suite needs at least one step")
        return steps


def suite_engine(suite: dict[str, Any]) -> Engine:
    """Which line a run of `suite` (validated) takes: one with a browser step needs a browser worker."""
    steps = suite.get("steps") or []
    return "browser" if any(isinstance(step, dict) and step.get("kind") == "browser" for step in steps) else "http"


def parse_suite(data: object) -> Suite:
    """The validated suite, or SuiteError listing every problem found."""
    unstorable = _unstorable(data)
    if unstorable:
        raise SuiteError(unstorable)
    try:
        # As JSON, so strict types read as JSON Schema reads them (an id is a string, 5 is a float too).
        suite = Suite.model_validate_json(json.dumps(data))
    except ValidationError as exc:
        raise SuiteError(issues_from(exc)) from None
    problems = _template_issues(suite)
    if problems:
        raise SuiteError(problems)
    return suite


def _unstorable(data: object) -> list[SuiteIssue]:
    """Text and numbers the database could not keep, wherever they are (keys, variables, bodies, values)."""
    problems: list[SuiteIssue] = []
    for path, rule, message in json_problems(data):
        parts = [str(part).replace("\x00", "\\u0000") for part in path]
        step: int | None = None
        if len(path) >= 2 and path[0] == "steps" and isinstance(path[1], int):
            step, parts = path[1], parts[2:]
        problems.append(issue(step, ".".join(parts), rule, message))
    return problems


def _template_issues(suite: Suite) -> list[SuiteIssue]:
    """Placeholders must be well-formed and name a variable defined by the suite or an earlier step."""
    defined = set(suite.variables)
    problems: list[SuiteIssue] = []
    for index, step in enumerate(suite.steps):
        step.map_templates(functools.partial(_check_text, index, defined=defined, problems=problems))
        defined.update(step.defines())
    return problems


def _check_text(index: int, field: str, text: str, defined: set[str], problems: list[SuiteIssue]) -> str:
    if malformed(text):
        problems.append(issue(index, field, "template_invalid", "placeholders are written {{name}}"))
    for name in placeholders(text):
        if name not in defined:
            message = f"{{{{{name}}}}} is not set by the suite's variables or an earlier step's extract"
            problems.append(issue(index, field, "variable_undefined", message))
    return text
