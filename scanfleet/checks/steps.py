"""The step kinds of a suite: an HTTP request, a TLS handshake, a TCP connect, a heartbeat's state, a browser's
actions on a page."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import AfterValidator, Field, JsonValue, field_validator, model_validator

from scanfleet.checks.actions import MAX_ACTIONS, Action, Extract, TimingThreshold, first_url
from scanfleet.checks.assertions_model import (
    Assertion,
    HeartbeatOnTimeAssertion,
    HttpAssertion,
    Model,
    TcpAssertion,
    TcpConnectedAssertion,
    TlsAssertion,
)
from scanfleet.checks.errors import rule_error
from scanfleet.checks.expressions import JsonPathText, RegexText, compile_regex
from scanfleet.checks.targets import CheckedUrl, valid_host, without_userinfo
from scanfleet.checks.template import TextMapper, VariableName, map_json_strings

MAX_ASSERTIONS = 50
MAX_EXTRACTIONS = 20
MAX_HEADERS = 50
MAX_BODY_CHARS = 100_000
MAX_TEXT = 4096  # a header value, a credential, a form field

# RFC 9110 5.1: a header name is a token.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _host(host: str) -> str:
    if not valid_host(host):
        raise rule_error("host_invalid", "not a host name or an IP address")
    return host


Text = Annotated[str, Field(max_length=MAX_TEXT)]
Host = Annotated[str, Field(min_length=1, max_length=253), AfterValidator(_host)]
Port = Annotated[int, Field(ge=1, le=65535)]


class JsonBody(Model):
    type: Literal["json"] = "json"
    value: JsonValue


class FormBody(Model):
    type: Literal["form"] = "form"
    value: dict[str, Text]  # sent as application/x-www-form-urlencoded


class RawBody(Model):
    type: Literal["raw"] = "raw"
    value: Annotated[str, Field(max_length=MAX_BODY_CHARS)]
    content_type: Text = "text/plain; charset=utf-8"


class BasicAuth(Model):
    type: Literal["basic"] = "basic"
    username: Text
    password: Text


class BearerAuth(Model):
    type: Literal["bearer"] = "bearer"
    token: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]


class _Extraction(Model):
    name: VariableName
    secret: bool = False  # the value never appears in evidence: not here, not where it is substituted


class JsonExtraction(_Extraction):
    source: Literal["json"] = "json"
    path: JsonPathText  # the first match; a string as is, anything else as compact JSON


class HeaderExtraction(_Extraction):
    source: Literal["header"] = "header"
    header: Annotated[str, Field(min_length=1, max_length=200)]


class RegexExtraction(_Extraction):
    """The group (default: the first, or the whole match if the pattern has none) of the first match in
    the body."""

    source: Literal["regex"] = "regex"
    pattern: RegexText
    group: int | str | None = None

    @model_validator(mode="after")
    def _group_exists(self) -> Self:
        compiled = compile_regex(self.pattern)
        group = self.group
        if (isinstance(group, int) and not 0 <= group <= compiled.groups) or (
            isinstance(group, str) and group not in compiled.groupindex
        ):
            raise rule_error("regex_group_invalid", f"the pattern has no group {group!r}", "group")
        return self

    @property
    def group_ref(self) -> int | str:
        if self.group is not None:
            return self.group
        return 1 if compile_regex(self.pattern).groups else 0


Extraction = Annotated[JsonExtraction | HeaderExtraction | RegexExtraction, Field(discriminator="source")]


class _Step(Model):
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    timeout_seconds: float = Field(10.0, gt=0, le=60)  # each attempt, connect to last byte
    retries: int = Field(0, ge=0, le=5)  # further attempts before a failure counts
    retry_backoff_seconds: float = Field(0.5, ge=0, le=30)  # before retry n: backoff * 2**(n-1)
    continue_on_failure: bool = False  # run the next steps even if this one fails

    @property
    def label(self) -> str:
        return self.name or self.describe()

    def describe(self) -> str:
        raise NotImplementedError

    def map_templates(self, mapper: TextMapper) -> Self:
        """A copy with `mapper` applied to every text that may hold `{{placeholders}}`."""
        return self

    def defines(self) -> list[str]:
        """The variables this step sets for the steps after it."""
        return []


class HttpStep(_Step):
    kind: Literal["http"] = "http"
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] = "GET"
    url: CheckedUrl
    headers: dict[str, Text] = Field(default_factory=dict, max_length=MAX_HEADERS)
    body: Annotated[JsonBody | FormBody | RawBody, Field(discriminator="type")] | None = None
    auth: Annotated[BasicAuth | BearerAuth, Field(discriminator="type")] | None = None
    follow_redirects: bool = True
    assertions: list[HttpAssertion] = Field(default_factory=list, max_length=MAX_ASSERTIONS)
    extract: list[Extraction] = Field(default_factory=list, max_length=MAX_EXTRACTIONS)

    @field_validator("headers")
    @classmethod
    def _headers(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            if not _HEADER_NAME.fullmatch(name):
                raise rule_error("header_invalid", f"{name!r} is not a valid header name", name)
            if "\r" in value or "\n" in value:
                raise rule_error("header_invalid", "a header value cannot contain line breaks", name)
        return headers

    @field_validator("body")
    @classmethod
    def _body_size(cls, body: JsonBody | FormBody | RawBody | None) -> JsonBody | FormBody | RawBody | None:
        if body is not None and len(body.model_dump_json()) > MAX_BODY_CHARS:
            raise rule_error("too_long", f"a request body is at most {MAX_BODY_CHARS} characters")
        return body

    def describe(self) -> str:
        return f"{self.method} {without_userinfo(self.url)}"

    def map_templates(self, mapper: TextMapper) -> Self:
        update: dict[str, Any] = {
            "url": mapper("url", self.url),
            "headers": {name: mapper(f"headers.{name}", value) for name, value in self.headers.items()},
        }
        if self.body is not None:
            value = map_json_strings(self.body.value, "body.value", mapper)
            update["body"] = self.body.model_copy(update={"value": value})
        if self.auth is not None:
            fields = self.auth.model_dump(exclude={"type"})
            update["auth"] = self.auth.model_copy(
                update={key: mapper(f"auth.{key}", value) for key, value in fields.items()}
            )
        return self.model_copy(update=update)

    def defines(self) -> list[str]:
        return [extraction.name for extraction in self.extract]


class TlsStep(_Step):
    """A handshake with host:port (SNI = host); the chain must verify, the rest is up to the assertions."""

    kind: Literal["tls"] = "tls"
    host: Host
    port: Port = 443
    assertions: list[TlsAssertion] = Field(default_factory=list, max_length=MAX_ASSERTIONS)

    def describe(self) -> str:
        return f"TLS {self.host}:{self.port}"


class BrowserStep(_Step):
    """Actions in a real browser, in order; the first failing one (an assertion that does not hold within its
    time, an element that never appears) fails the step. The browser steps of a run share one browser context:
    a later step goes on from the page, cookies and storage an earlier one left."""

    kind: Literal["browser"] = "browser"
    timeout_seconds: float = Field(30.0, gt=0, le=120)  # each attempt, all its actions
    action_timeout_seconds: float = Field(5.0, gt=0, le=60)  # each action, waits and assertions included
    actions: list[Action] = Field(min_length=1, max_length=MAX_ACTIONS)
    thresholds: list[TimingThreshold] = Field(default_factory=list, max_length=10)

    assertions: ClassVar[Sequence[Assertion]] = ()  # page assertions are actions, judged in their turn

    def describe(self) -> str:
        url = first_url(self.actions)
        return f"browser {without_userinfo(url)}" if url else "browser"

    def map_templates(self, mapper: TextMapper) -> Self:
        actions = [action.map_templates(mapper, f"actions.{index}") for index, action in enumerate(self.actions)]
        return self.model_copy(update={"actions": actions})

    def defines(self) -> list[str]:
        return [action.name for action in self.actions if isinstance(action, Extract)]


def _connects() -> list[TcpAssertion]:
    return [TcpConnectedAssertion()]


class TcpStep(_Step):
    """A TCP connect; without assertions it must succeed. `{"type": "tcp_connected", "invert": true}`
    expects the port closed."""

    kind: Literal["tcp"] = "tcp"
    host: Host
    port: Port
    assertions: list[TcpAssertion] = Field(default_factory=_connects, min_length=1, max_length=MAX_ASSERTIONS)

    def describe(self) -> str:
        return f"TCP {self.host}:{self.port}"


class HeartbeatStep(_Step):
    """Passes if the heartbeat was pinged within its period plus grace."""

    kind: Literal["heartbeat"] = "heartbeat"
    heartbeat_id: uuid.UUID

    assertions: ClassVar[Sequence[Assertion]] = (HeartbeatOnTimeAssertion(),)

    def describe(self) -> str:
        return f"heartbeat {self.heartbeat_id}"
