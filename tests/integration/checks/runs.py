"""Running a suite given as plain steps, and reading its evidence rows back."""

from __future__ import annotations

from typing import Any

from scanfleet.checks import parse_suite
from scanfleet.model import Evidence
from scanfleet.worker.checks import CheckEnv, SuiteResult, run_suite


async def run(env: CheckEnv, *steps: dict[str, Any], **suite: Any) -> SuiteResult:
    return await run_suite(parse_suite({"steps": list(steps), **suite}), env)


def steps(result: SuiteResult) -> list[dict[str, Any]]:
    return [row.details for row in result.evidence if row.kind == "check_step"]


def assertions(result: SuiteResult, step: int = 0) -> list[dict[str, Any]]:
    return [row.details for row in result.evidence if row.kind == "check_assertion" and row.details["step"] == step]


def rows(result: SuiteResult, kind: str) -> list[Evidence]:
    return [row for row in result.evidence if row.kind == kind]
