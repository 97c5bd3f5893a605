"""Browser steps validated: every action and assertion kind in, bad ones out with the step, actions.N, the
field and the rule; nothing in a suite is JavaScript."""

from __future__ import annotations

from typing import Any

import pytest

from scanfleet.checks import BrowserStep, SuiteError, parse_suite, suite_engine
from scanfleet.checks.actions import Extract, Fill

GOTO = {"action": "goto", "url": "https://app.example/login"}
EVERY_ACTION: list[dict[str, Any]] = [
    GOTO,
    {"action": "fill", "selector": "#user", "value": "{{user}}"},
    {"action": "fill", "selector": "#password", "value": "pw", "secret": True},
    {"action": "select", "selector": "#lang", "value": "fr"},
    {"action": "check", "selector": "#remember", "checked": False},
    {"action": "hover", "selector": "role=button[name='Sign in']"},
    {"action": "press", "selector": "#password", "key": "Control+Enter"},
    {"action": "click", "selector": "text=Sign in"},
    {"action": "wait_for", "url": "**/dashboard"},
    {"action": "wait_for", "selector": ".spinner", "state": "hidden"},
    {"action": "wait_for", "load_state": "networkidle"},
    {"action": "assert_text", "selector": "h1", "operator": "regex", "value": "^Welcome"},
    {"action": "assert_visible", "selector": "#menu"},
    {"action": "assert_hidden", "selector": "#error", "invert": True},
    {"action": "assert_count", "selector": "li", "operator": ">=", "value": 2},
    {"action": "assert_url", "value": "/dashboard"},
    {"action": "assert_title", "operator": "equals", "value": "Dashboard"},
    {"action": "assert_attribute", "selector": "#order", "name": "href", "operator": "exists"},
    {"action": "screenshot", "full_page": True},
    {"action": "extract", "name": "order", "selector": "#order", "attribute": "data-id", "secret": True},
]


def browser(*actions: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"kind": "browser", "actions": list(actions), **fields}


def problems(*steps: dict[str, Any]) -> list[tuple[int | None, str, str]]:
    with pytest.raises(SuiteError) as caught:
        parse_suite({"variables": {"user": "ada"}, "steps": list(steps)})
    return [(item["step"], item["field"], item["rule"]) for item in caught.value.errors]


def test_every_action_and_assertion_is_accepted_and_extractions_define_variables() -> None:
    suite = parse_suite(
        {"variables": {"user": "ada"}, "steps": [
            browser(*EVERY_ACTION, thresholds=[{"metric": "lcp", "degraded": 2500, "failed": 4000}]),
            browser({"action": "goto", "url": "https://app.example/orders/{{order}}"}),
        ]}
    )  # fmt: skip
    step = suite.steps[0]
    assert isinstance(step, BrowserStep)
    assert [action.action for action in step.actions] == [action["action"] for action in EVERY_ACTION]
    assert step.defines() == ["order"] and step.label == "browser https://app.example/login"
    assert isinstance(step.actions[-1], Extract) and step.actions[-1].source == "attribute"
    rendered = step.map_templates(lambda _field, text: text.replace("{{user}}", "ada"))
    assert isinstance(rendered.actions[1], Fill) and rendered.actions[1].value == "ada"


@pytest.mark.parametrize(
    ("action", "field", "rule"),
    [
        ({"action": "goto", "url": "javascript:alert(1)"}, "url", "url_scheme"),
        ({"action": "goto", "url": "file:///etc/passwd"}, "url", "url_scheme"),
        ({"action": "evaluate", "expression": "document.cookie"}, "action", "unknown_action"),
        ({"selector": "#a"}, "action", "required"),
        ({"action": "click"}, "selector", "required"),
        ({"action": "click", "selector": "#a", "script": "x()"}, "script", "field_unknown"),
        ({"action": "click", "selector": "internal:control=enter-frame"}, "selector", "selector_invalid"),
        # An internal engine later in a chain is as much one as at its start.
        ({"action": "click", "selector": "div >> internal:control=enter-frame"}, "selector", "selector_invalid"),
        ({"action": "click", "selector": "#app >>_react=App"}, "selector", "selector_invalid"),
        ({"action": "assert_text", "selector": "main >> p >> _vue=x", "value": "a"}, "selector", "selector_invalid"),
        ({"action": "fill", "selector": "#a", "value": "x" * 5000}, "value", "too_long"),
        ({"action": "press", "selector": "#a", "key": "Enter; alert(1)"}, "key", "key_invalid"),
        ({"action": "wait_for", "selector": "#a", "load_state": "load"}, "selector", "one_of_required"),
        ({"action": "wait_for"}, "selector", "one_of_required"),
        ({"action": "wait_for", "load_state": "idle"}, "load_state", "choice_invalid"),
        ({"action": "assert_text", "selector": "h1", "operator": "regex", "value": "(a"}, "value", "regex_invalid"),
        ({"action": "assert_count", "selector": "li", "operator": "~", "value": 1}, "operator", "operator_invalid"),
        ({"action": "assert_count", "selector": "li", "value": -1}, "value", "out_of_range"),
        ({"action": "assert_attribute", "selector": "a", "name": "href"}, "value", "required"),
        ({"action": "assert_visible", "selector": "a", "invert": "yes"}, "invert", "type_invalid"),
        ({"action": "extract", "name": "1st", "selector": "a"}, "name", "variable_name_invalid"),
        ({"action": "fill", "selector": "#a", "value": "{{nobody}}"}, "value", "variable_undefined"),
    ],
)
def test_a_bad_action_names_its_step_its_index_its_field_and_the_rule(
    action: dict[str, Any], field: str, rule: str
) -> None:
    assert problems({"kind": "tcp", "host": "db.example", "port": 5432}, browser(GOTO, action)) == [
        (1, f"actions.1.{field}", rule)
    ]


def test_bad_steps_as_a_whole() -> None:
    assert problems(browser()) == [(0, "actions", "too_short")]
    assert problems(browser(*[GOTO] * 51)) == [(0, "actions", "too_long")]
    assert problems(browser(GOTO, timeout_seconds=600)) == [(0, "timeout_seconds", "out_of_range")]
    assert problems(browser(GOTO, thresholds=[{"metric": "fcp", "failed": 1}])) == [
        (0, "thresholds.0.metric", "choice_invalid")
    ]
    assert problems(browser(GOTO, thresholds=[{"metric": "lcp", "degraded": 3, "failed": 2}])) == [
        (0, "thresholds.0.degraded", "value_invalid")
    ]
    # A variable extracted by a browser step is there for the steps after it, not before.
    used_before = {"kind": "http", "url": "https://app.example/{{order}}"}
    assert problems(used_before, browser(EVERY_ACTION[-1] | {"secret": False})) == [(0, "url", "variable_undefined")]


def test_a_suite_with_a_browser_step_takes_the_browser_line() -> None:
    tcp = {"kind": "tcp", "host": "db.example", "port": 5432}
    assert suite_engine({"steps": [tcp]}) == "http"
    assert suite_engine({"steps": [tcp, browser(GOTO)]}) == "browser"
