"""storable(): U+0000 and lone surrogates out of every string of a value, and nothing else touched."""

from __future__ import annotations

import json
import math

from hypothesis import given
from hypothesis import strategies as st

from scanfleet.model import Evidence, Issue, Outcome, Severity, Status
from scanfleet.storable import storable, storable_json
from tests.support.bombs import nested, unnested

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
)


def test_nul_and_lone_surrogates_are_replaced_in_keys_values_and_items() -> None:
    value = {"a\x00b": ["x\ud800", ("\udfff", 1)], "ok": {"deep": "\x00"}, "n": None}
    assert storable(value) == {"a\ufffdb": ["x\ufffd", ("\ufffd", 1)], "ok": {"deep": "\ufffd"}, "n": None}


def test_what_needs_no_change_is_the_same_object() -> None:
    clean = {"title": "café 😀", "items": [1, 2.5, True, None], "pair": ("a", "b")}
    assert storable(clean) is clean
    looks_suspect = {"path": "C:\\x00\\udead"}  # backslashes, as a Windows path or a regex would have them
    assert storable(looks_suspect) is looks_suspect
    outcome = Outcome(Status.SUCCEEDED, evidence=[Evidence("kind", Severity.INFO, "t", clean)])
    assert storable(outcome) is outcome


def test_dataclasses_are_copied_with_their_fields_made_storable() -> None:
    evidence = Evidence("check_step", Severity.HIGH, "GET /\x00", {"body": "\x00\x01"}, "http://h/\x00")
    issue = Issue("code", Severity.LOW, "t", "explained \ud83d", (0,))
    outcome = Outcome(Status.FAILED, error_message="a\x00", evidence=[evidence], issues=[issue])
    cleaned = storable(outcome)
    assert cleaned is not outcome and outcome.evidence[0] is evidence  # the caller's outcome is left as it was
    assert cleaned.error_message == "a\ufffd" and cleaned.status is Status.FAILED
    assert cleaned.evidence[0] == Evidence(
        "check_step", Severity.HIGH, "GET /\ufffd", {"body": "\ufffd\x01"}, "http://h/\ufffd"
    )
    assert cleaned.evidence[0].severity is Severity.HIGH and cleaned.issues[0].explanation == "explained \ufffd"


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in [key, *_strings(item)]]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


@given(JSON)
def test_anything_json_can_hold_becomes_storable_text(value: object) -> None:
    cleaned = storable(value)
    for text in _strings(cleaned):
        text.encode("utf-8")  # no lone surrogate left
        assert "\x00" not in text


def test_json_text_is_that_of_the_storable_value() -> None:
    value = {"a\x00b": ["x\ud800", "😀"], "path": "C:\\u0000", "n": 1.5}
    assert json.loads(storable_json(value)) == {"a\ufffdb": ["x\ufffd", "😀"], "path": "C:\\u0000", "n": 1.5}
    clean = {"title": "café 😀"}  # needs no change: its text as json writes it, non-ASCII as it is
    assert storable_json(clean) == json.dumps(clean, separators=(",", ":"), ensure_ascii=False).encode()


def test_json_text_replaces_in_the_text_what_storable_replaces_and_nothing_else() -> None:
    value = ["\\\ud800", "\\u0000", "\\\\\x00", "\udc00\ud800", "\ud83d\ude00", "😀", "\x00\x00", "C:\\x00"]
    stored = json.loads(storable_json(value))
    assert (
        stored
        == storable(value)
        == ["\\\ufffd", "\\u0000", "\\\\\ufffd", "\ufffd\ufffd", "\ufffd\ufffd", "😀", "\ufffd\ufffd", "C:\\x00"]
    )


def test_hostile_text_is_made_storable_in_linear_time() -> None:
    # A target's body, whole, in an assertion's `actual`: backslashes, quotes and emoji, with what must be replaced.
    body = "\\" * 2_000_000 + '"' * 1_000_000 + "😀" * 500_000 + "\x00\ud800"
    # About 0.5 s here; a pattern that backtracks takes minutes, past the suite's per-test timeout.
    stored = json.loads(storable_json([{"actual": body, "n": math.nan}]))
    assert stored == [{"actual": body[:-2] + "\ufffd\ufffd", "n": "NaN"}]


def test_numbers_that_are_not_finite_become_their_names_and_strings_saying_so_stay() -> None:
    value = [math.nan, {"k": math.inf, "s": 'NaN "Infinity"'}, -math.inf, 1e400]
    assert json.loads(storable_json(value)) == [
        "NaN",
        {"k": "Infinity", "s": 'NaN "Infinity"'},
        "-Infinity",
        "Infinity",
    ]


def test_json_text_of_a_value_deeper_than_a_walk_could_go() -> None:
    stored = json.loads(storable_json([nested(900, "\x00😀"), "ok"]))
    assert stored[1] == "ok" and unnested(stored[0], 900) == "\ufffd😀"


def _named(value: object) -> object:
    """`value` with each number that is not finite as its name, as storable_json writes it."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: _named(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_named(item) for item in value]
    return value


@given(JSON)
def test_json_text_of_anything_json_can_hold_is_storable(value: object) -> None:
    text = storable_json(value).decode()
    assert json.loads(text) == _named(storable(value))
    assert "\\u0000" not in text.replace("\\\\", "")


@given(st.lists(JSON, max_size=4))
def test_json_text_of_a_list_is_that_of_its_items(values: list[object]) -> None:
    assert json.loads(storable_json(values)) == [json.loads(storable_json(value)) for value in values]
