"""What a test run's report shows: each step with its outcome and timings, its assertions (expected against
actual) and the values it extracted, from the run's "check_step", "check_assertion" and "check_extract" rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from scanfleet.reports.content import Row, details_of, text

TIMING_PHASES = ("dns", "connect", "tls", "first_byte", "total")


@dataclass(frozen=True)
class Assertion:
    passed: bool
    degraded: bool
    message: str
    type: str
    target: str
    expected: str
    actual: str


@dataclass(frozen=True)
class Extracted:
    name: str
    source: str
    found: bool
    value: str  # "(secret)" for a secret one: its value is never stored


@dataclass
class StepView:
    index: int
    title: str  # "name: passed", as the row says
    kind: str
    severity: str
    state: str  # passed, degraded, failed or skipped
    attempts: int
    location: str
    status: str  # the response's status, when there was one
    error: str
    timings: list[tuple[str, str]]
    assertions: list[Assertion] = field(default_factory=list)
    extracted: list[Extracted] = field(default_factory=list)


def steps(evidence: Iterable[Row]) -> list[StepView]:
    rows = list(evidence)
    by_index: dict[int, StepView] = {}
    for row in rows:
        if row["kind"] == "check_step":
            details = details_of(row)
            by_index[_int(details.get("index"))] = _step(row, details)
    for row in rows:
        details = details_of(row)
        step = by_index.get(_int(details.get("step")))
        if step is None:
            continue
        if row["kind"] == "check_assertion":
            step.assertions.append(
                Assertion(
                    bool(details.get("passed")), bool(details.get("degraded")),
                    text(details.get("message") or row["title"]),
                    ("not " if details.get("inverted") else "") + str(details.get("type") or ""),
                    text(details.get("target") or "", 120), text(details.get("expected")), text(details.get("actual")),
                )
            )  # fmt: skip
        elif row["kind"] == "check_extract":
            value = "(secret)" if details.get("secret") else text(details.get("value"), 120)
            step.extracted.append(
                Extracted(str(details.get("name") or ""), str(details.get("source") or ""), bool(details.get("found")),
                          value)
            )  # fmt: skip
    return [by_index[index] for index in sorted(by_index)]


def _int(value: object) -> int:
    return value if isinstance(value, int) else -1


def _state(details: Row) -> str:
    if details.get("skipped"):
        return "skipped"
    if not details.get("passed"):
        return "failed"
    return "degraded" if details.get("degraded") else "passed"


def _mapping(value: object) -> Row:
    return value if isinstance(value, dict) else {}


def _step(row: Row, details: Row) -> StepView:
    timings, response = _mapping(details.get("timings")), _mapping(details.get("response"))
    error = _mapping(details.get("error"))
    return StepView(
        index=_int(details.get("index")), title=str(row["title"]), kind=str(details.get("kind") or ""),
        severity=str(row["severity"]), state=_state(details), attempts=_int(details.get("attempts")),
        location=text(row.get("location") or "", 300), status=str(response.get("status") or ""),
        error=text(f"{error.get('code')}: {error.get('message')}") if error else "",
        timings=[(phase, f"{timings[phase]:g} ms") for phase in TIMING_PHASES
                 if isinstance(timings.get(phase), int | float)],
    )  # fmt: skip
