"""`{{name}}` placeholders: found, checked, filled in, in every templated field of an HTTP step."""

from __future__ import annotations

import pytest

from scanfleet.checks import HttpStep, parse_suite
from scanfleet.checks.template import MissingVariable, malformed, map_json_strings, placeholders, render


def test_placeholders_allow_spaces_inside_the_braces() -> None:
    assert placeholders("{{a}}/{{ b_2 }}/{{a}}") == ["a", "b_2", "a"]


@pytest.mark.parametrize("text", ["{{a", "{{ a b }}", "{{1a}}", "{{}}", "{{a}}{{"])
def test_malformed(text: str) -> None:
    assert malformed(text)


@pytest.mark.parametrize("text", ["plain", "{a}", "{{a}}", "{{a}}}", "{ {a} }", '{"json": {"nested": 1}}'])
def test_well_formed(text: str) -> None:
    assert not malformed(text)


def test_render_fills_in_every_occurrence() -> None:
    assert render("/users/{{id}}?again={{ id }}&t={{token}}", {"id": "7", "token": "x y"}) == "/users/7?again=7&t=x y"


def test_render_leaves_text_without_placeholders_alone() -> None:
    assert render("{not one}", {}) == "{not one}"


def test_render_names_the_missing_variable() -> None:
    with pytest.raises(MissingVariable) as caught:
        render("{{here}} {{gone}}", {"here": "1"})
    assert caught.value.name == "gone"


def test_a_value_that_looks_like_a_placeholder_is_not_rendered_again() -> None:
    assert render("{{a}}", {"a": "{{b}}", "b": "no"}) == "{{b}}"


def test_map_json_strings_reaches_nested_strings_with_their_paths() -> None:
    seen: list[str] = []

    def upper(field: str, text: str) -> str:
        seen.append(field)
        return text.upper()

    value = {"a": ["x", 1, {"b": "y"}], "c": None, "d": True}
    assert map_json_strings(value, "body.value", upper) == {"a": ["X", 1, {"b": "Y"}], "c": None, "d": True}
    assert seen == ["body.value.a.0", "body.value.a.2.b"]


def test_an_http_step_renders_url_headers_body_and_auth() -> None:
    suite = parse_suite(
        {
            "variables": {"base": "https://example.com", "id": "42", "token": "t0k"},
            "steps": [
                {
                    "kind": "http",
                    "url": "{{base}}/items/{{id}}",
                    "headers": {"X-Id": "{{id}}"},
                    "body": {"type": "json", "value": {"id": "{{id}}", "n": 1}},
                    "auth": {"type": "bearer", "token": "{{token}}"},
                }
            ],
        }
    )
    step = suite.steps[0]
    assert isinstance(step, HttpStep)
    rendered = step.map_templates(lambda _field, text: render(text, suite.variables))
    assert rendered.url == "https://example.com/items/42"
    assert rendered.headers == {"X-Id": "42"}
    assert rendered.body is not None and rendered.body.value == {"id": "42", "n": 1}
    assert rendered.auth is not None and rendered.auth.model_dump() == {"type": "bearer", "token": "t0k"}
    assert step.url == "{{base}}/items/{{id}}"  # the parsed suite is left as it was
