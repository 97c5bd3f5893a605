"""What a step may assert. Every assertion has a `type`, an `operator` and `invert`; each step kind takes
the types that make sense for what it observes (see steps.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from scanfleet.checks.errors import rule_error
from scanfleet.checks.expressions import MAX_EXPRESSION_LENGTH, JsonPathText, valid_regex

Comparison = Literal["==", "!=", "<", "<=", ">", ">="]
TextOperator = Literal["equals", "contains", "regex"]
JsonOperator = Literal[
    "==", "!=", "<", "<=", ">", ">=", "contains", "exists", "is_null", "is_empty", "length"
]  # fmt: skip
# JSON operators that look at the matched value alone and take no `value`.
UNARY_JSON_OPERATORS = frozenset({"exists", "is_null", "is_empty"})
ORDERING = frozenset({"<", "<=", ">", ">="})
Expression = Annotated[str, Field(min_length=1, max_length=MAX_EXPRESSION_LENGTH)]


class Model(BaseModel):
    """Base of every suite model: unknown fields are errors (a typo must not silently do nothing), and values have
    their JSON types (validated as JSON: no `0` for a boolean, no `true` or "2" for an integer)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class _Assertion(Model):
    invert: bool = False  # pass exactly when the assertion, as written, would fail


class RegexValue(Model):
    """Mixed into the assertions (of steps, and of browser actions) whose `value` is a regular expression when
    the operator is "regex": it must compile, else a 422 at `value`."""

    @model_validator(mode="after")
    def _valid_regex(self) -> Self:
        value = getattr(self, "value", None)
        if getattr(self, "operator", None) == "regex" and isinstance(value, str):
            valid_regex(value, "value")
        return self


class StatusAssertion(_Assertion):
    type: Literal["status"] = "status"
    operator: Literal["equals", "one_of", "range"] = "equals"
    value: int | list[int]  # equals: 200; one_of: [200, 204]; range: [200, 299], both ends included

    @model_validator(mode="after")
    def _value_fits_operator(self) -> Self:
        if self.operator == "equals" and not isinstance(self.value, int):
            raise rule_error("value_invalid", "equals takes one status code", "value")
        if self.operator == "one_of" and not (isinstance(self.value, list) and self.value):
            raise rule_error("value_invalid", "one_of takes a non-empty list of status codes", "value")
        if self.operator == "range" and not (
            isinstance(self.value, list) and len(self.value) == 2 and self.value[0] <= self.value[1]
        ):
            raise rule_error("value_invalid", "range takes [lowest, highest]", "value")
        return self


class ResponseTimeAssertion(_Assertion):
    """Above `degraded_ms` the step passes but the run is degraded; above `failed_ms` the assertion fails.
    Inverted, it passes only above `failed_ms` (a target that must be slow, e.g. a tarpit)."""

    type: Literal["response_time"] = "response_time"
    operator: Literal["<="] = "<="
    degraded_ms: float | None = Field(None, gt=0)
    failed_ms: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _thresholds(self) -> Self:
        if self.degraded_ms is None and self.failed_ms is None:
            raise rule_error("value_invalid", "give degraded_ms, failed_ms or both", "failed_ms")
        if self.degraded_ms is not None and self.failed_ms is not None and self.degraded_ms >= self.failed_ms:
            raise rule_error("value_invalid", "degraded_ms must be below failed_ms", "degraded_ms")
        if self.invert and self.failed_ms is None:
            raise rule_error("value_invalid", "an inverted response_time needs failed_ms", "failed_ms")
        return self


class BodyAssertion(_Assertion, RegexValue):
    type: Literal["body"] = "body"
    operator: Literal["contains", "not_contains", "regex"]
    value: Expression


class JsonAssertion(_Assertion):
    """`path` selects nodes in the JSON body. A singular query (`$.a.b`, `$.items[0]`) yields one value;
    any other (`$.items[*].id`, `$..id`) yields the list of every match, so `length` counts matches."""

    type: Literal["json"] = "json"
    path: JsonPathText
    operator: JsonOperator
    value: JsonValue = None

    @model_validator(mode="after")
    def _value_fits_operator(self) -> Self:
        given = "value" in self.model_fields_set
        if self.operator in UNARY_JSON_OPERATORS and self.value is not None:
            raise rule_error("value_invalid", f"{self.operator} takes no value", "value")
        if self.operator not in UNARY_JSON_OPERATORS and not given:
            raise rule_error("required", f"{self.operator} needs a value", "value")
        if self.operator in ORDERING and not orderable(self.value):
            raise rule_error("value_invalid", f"{self.operator} compares with a number or a string", "value")
        if self.operator == "length" and not (
            is_number(self.value) and isinstance(self.value, int) and self.value >= 0
        ):
            raise rule_error("value_invalid", "length takes a whole number", "value")
        return self


class HeaderAssertion(_Assertion, RegexValue):
    type: Literal["header"] = "header"
    name: Annotated[str, Field(min_length=1, max_length=200)]
    operator: Literal["exists", "equals", "contains", "regex"]
    value: Annotated[str, Field(max_length=MAX_EXPRESSION_LENGTH)] | None = None

    @model_validator(mode="after")
    def _value_given(self) -> Self:
        if self.operator != "exists" and self.value is None:
            raise rule_error("required", f"{self.operator} needs a value", "value")
        if self.operator == "exists" and self.value is not None:
            raise rule_error("value_invalid", "exists takes no value", "value")
        return self


class CertDaysLeftAssertion(_Assertion):
    type: Literal["cert_days_left"] = "cert_days_left"
    operator: Comparison = ">="
    value: int


class CertIssuerAssertion(_Assertion, RegexValue):
    """Against the issuer's organisation name, or its common name when it has none."""

    type: Literal["cert_issuer"] = "cert_issuer"
    operator: TextOperator
    value: Expression


class CertHostnameAssertion(_Assertion):
    """The certificate's subject alternative names cover `hostname` (default: the step's host)."""

    type: Literal["cert_hostname"] = "cert_hostname"
    operator: Literal["matches"] = "matches"
    hostname: Annotated[str, Field(min_length=1, max_length=253)] | None = None


class TcpConnectedAssertion(_Assertion):
    """Inverted: the port is expected closed (refused or silent)."""

    type: Literal["tcp_connected"] = "tcp_connected"
    operator: Literal["is"] = "is"


class HeartbeatOnTimeAssertion(_Assertion):
    """Implied by every heartbeat step; never written in a suite."""

    type: Literal["heartbeat"] = "heartbeat"
    operator: Literal["on_time"] = "on_time"


HttpAssertion = Annotated[
    StatusAssertion | ResponseTimeAssertion | BodyAssertion | JsonAssertion | HeaderAssertion,
    Field(discriminator="type"),
]
TlsAssertion = Annotated[
    CertDaysLeftAssertion | CertIssuerAssertion | CertHostnameAssertion | ResponseTimeAssertion,
    Field(discriminator="type"),
]
TcpAssertion = Annotated[TcpConnectedAssertion | ResponseTimeAssertion, Field(discriminator="type")]
Assertion = (
    StatusAssertion | ResponseTimeAssertion | BodyAssertion | JsonAssertion | HeaderAssertion
    | CertDaysLeftAssertion | CertIssuerAssertion | CertHostnameAssertion | TcpConnectedAssertion
    | HeartbeatOnTimeAssertion
)  # fmt: skip
ASSERTION_TYPES = frozenset(member.model_fields["type"].default for member in get_args(Assertion))


def is_number(value: Any) -> bool:
    """A JSON number: Python's bool is an int, JSON's true is not a number."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def orderable(value: Any) -> bool:
    return is_number(value) or isinstance(value, str)
