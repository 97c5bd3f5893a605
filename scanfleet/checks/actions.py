"""What a browser step does, in order: declarative actions, waits, assertions, screenshots and extractions.

Selectors are Playwright selectors (CSS, `text=`, `role=`, …) handed to its locators; nothing in a suite is
evaluated as JavaScript, and every URL is an http(s) one (no `javascript:`, `data:` or `file:`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, Field, model_validator

from scanfleet.checks.assertions_model import Comparison, Model, RegexValue, TextOperator
from scanfleet.checks.errors import rule_error
from scanfleet.checks.expressions import MAX_EXPRESSION_LENGTH
from scanfleet.checks.targets import CheckedUrl
from scanfleet.checks.template import TextMapper, VariableName

MAX_ACTIONS = 50
MAX_SELECTOR = 1000
MAX_VALUE = 4096

# Keys as Playwright names them ("Enter", "Control+A", "ArrowDown", "a").
_KEY = re.compile(r"[A-Za-z0-9]+(\+[A-Za-z0-9]+)*")
# Playwright's engines that are its own machinery, not a way to find an element on the page.
_INTERNAL_ENGINES = ("internal:", "_react=", "_vue=")


def _selector(selector: str) -> str:
    # Each part of a chain (`a >> b`) is a selector of its own: an internal engine can hide in any.
    if any(part.strip().startswith(_INTERNAL_ENGINES) for part in selector.split(">>")):
        raise rule_error("selector_invalid", "use CSS, text=, role=, xpath=, id= or data-testid= selectors")
    if any(ord(char) < 32 for char in selector):
        raise rule_error("selector_invalid", "a selector cannot contain control characters")
    return selector


Selector = Annotated[str, Field(min_length=1, max_length=MAX_SELECTOR), AfterValidator(_selector)]
Value = Annotated[str, Field(max_length=MAX_VALUE)]
Expression = Annotated[str, Field(max_length=MAX_EXPRESSION_LENGTH)]
LoadState = Literal["load", "domcontentloaded", "networkidle"]


class _Action(Model):
    action: str  # each kind's tag

    def text_fields(self) -> dict[str, str]:
        """The fields that may hold `{{placeholders}}`, by name."""
        return {
            name: value for name in ("url", "selector", "value") if isinstance(value := getattr(self, name, None), str)
        }

    def map_templates(self, mapper: TextMapper, prefix: str) -> Self:
        fields = self.text_fields()
        if not fields:
            return self
        return self.model_copy(update={name: mapper(f"{prefix}.{name}", text) for name, text in fields.items()})


class Goto(_Action):
    action: Literal["goto"] = "goto"
    url: CheckedUrl
    wait_until: LoadState | Literal["commit"] = "load"


class Click(_Action):
    action: Literal["click"] = "click"
    selector: Selector


class Fill(_Action):
    action: Literal["fill"] = "fill"
    selector: Selector
    value: Value
    # Redacted from every stored value (results, messages, URLs, console, snapshots) and masked in screenshots.
    secret: bool = False


class Press(_Action):
    action: Literal["press"] = "press"
    selector: Selector
    key: Annotated[str, Field(min_length=1, max_length=100)]

    @model_validator(mode="after")
    def _key(self) -> Self:
        if not _KEY.fullmatch(self.key):
            raise rule_error("key_invalid", "a key as Playwright names it: Enter, Tab, Control+A, a", "key")
        return self


class Select(_Action):
    """Selects the option whose value (or, failing that, label) is `value`."""

    action: Literal["select"] = "select"
    selector: Selector
    value: Value


class Check(_Action):
    action: Literal["check"] = "check"
    selector: Selector
    checked: bool = True  # false unchecks


class Hover(_Action):
    action: Literal["hover"] = "hover"
    selector: Selector


class WaitFor(_Action):
    """Exactly one of: an element reaching `state`, the page's URL matching `url` (a glob, as Playwright
    reads it: `**/dashboard`), or a load state (`networkidle`: no request for 500 ms)."""

    action: Literal["wait_for"] = "wait_for"
    selector: Selector | None = None
    state: Literal["attached", "detached", "visible", "hidden"] = "visible"
    url: Annotated[str, Field(min_length=1, max_length=2048)] | None = None
    load_state: LoadState | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        given = [name for name in ("selector", "url", "load_state") if getattr(self, name) is not None]
        if len(given) != 1:
            raise rule_error("one_of_required", "give exactly one of selector, url, load_state", "selector")
        return self


class Screenshot(_Action):
    action: Literal["screenshot"] = "screenshot"
    full_page: bool = False


class Extract(_Action):
    """An element's text (or an attribute of it) into `{{name}}` for the steps after this one."""

    action: Literal["extract"] = "extract"
    name: VariableName
    selector: Selector
    attribute: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    secret: bool = False

    @property
    def source(self) -> str:
        return "attribute" if self.attribute else "text"


class _PageAssertion(_Action, RegexValue):
    """An assertion on the page, waited for: it passes as soon as it holds (up to the action's time), and
    fails with what was last seen."""

    invert: bool = False

    @property
    def type(self) -> str:
        return self.action

    @property
    def target(self) -> str | None:
        return getattr(self, "selector", None)


class AssertText(_PageAssertion):
    """The element's text content, whitespace collapsed."""

    action: Literal["assert_text"] = "assert_text"
    selector: Selector
    operator: TextOperator = "contains"
    value: Expression


class AssertVisible(_PageAssertion):
    action: Literal["assert_visible"] = "assert_visible"
    selector: Selector
    operator: Literal["is"] = "is"


class AssertHidden(_PageAssertion):
    """Not visible, or not there at all."""

    action: Literal["assert_hidden"] = "assert_hidden"
    selector: Selector
    operator: Literal["is"] = "is"


class AssertCount(_PageAssertion):
    action: Literal["assert_count"] = "assert_count"
    selector: Selector
    operator: Comparison = "=="
    value: Annotated[int, Field(ge=0)]


class AssertUrl(_PageAssertion):
    action: Literal["assert_url"] = "assert_url"
    operator: TextOperator = "contains"
    value: Expression


class AssertTitle(_PageAssertion):
    action: Literal["assert_title"] = "assert_title"
    operator: TextOperator = "contains"
    value: Expression


class AssertAttribute(_PageAssertion):
    action: Literal["assert_attribute"] = "assert_attribute"
    selector: Selector
    name: Annotated[str, Field(min_length=1, max_length=200)]
    operator: Literal["exists", "equals", "contains", "regex"] = "equals"
    value: Expression | None = None

    @property
    def target(self) -> str | None:
        return f"{self.selector} @{self.name}"

    @model_validator(mode="after")
    def _value_given(self) -> Self:
        if self.operator != "exists" and self.value is None:
            raise rule_error("required", f"{self.operator} needs a value", "value")
        if self.operator == "exists" and self.value is not None:
            raise rule_error("value_invalid", "exists takes no value", "value")
        return self


PageAssertion = (
    AssertText | AssertVisible | AssertHidden | AssertCount | AssertUrl | AssertTitle | AssertAttribute
)  # fmt: skip
Action = Annotated[
    Goto | Click | Fill | Press | Select | Check | Hover | WaitFor | Screenshot | Extract
    | AssertText | AssertVisible | AssertHidden | AssertCount | AssertUrl | AssertTitle | AssertAttribute,
    Field(discriminator="action"),
]  # fmt: skip

Metric = Literal["ttfb", "dom_content_loaded", "load", "lcp", "cls", "total"]


class TimingThreshold(Model):
    """A step's timing against limits: above `degraded` the step passes but the run is degraded; above `failed`
    the step fails. Milliseconds, except `cls` (Cumulative Layout Shift, unitless). A metric the step did not
    measure (no navigation in it: no TTFB) is not judged."""

    metric: Metric
    degraded: float | None = Field(None, gt=0)
    failed: float | None = Field(None, gt=0)

    @property
    def type(self) -> str:
        return "timing"

    @property
    def operator(self) -> str:
        return "<="

    @property
    def invert(self) -> bool:
        return False

    @property
    def target(self) -> str:
        return self.metric

    @model_validator(mode="after")
    def _thresholds(self) -> Self:
        if self.degraded is None and self.failed is None:
            raise rule_error("value_invalid", "give degraded, failed or both", "failed")
        if self.degraded is not None and self.failed is not None and self.degraded >= self.failed:
            raise rule_error("value_invalid", "degraded must be below failed", "degraded")
        return self


def first_url(actions: list[Any]) -> str | None:
    return next((action.url for action in actions if isinstance(action, Goto)), None)
