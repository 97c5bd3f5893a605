"""`{{name}}` placeholders: listed at validation (every name must be defined before its step runs) and
filled in from the run's variables just before a request is built."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from pydantic import AfterValidator

from scanfleet.checks.errors import rule_error

VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]{0,63})\s*\}\}")

# Called with (dotted field path, text); returns the text to keep.
TextMapper = Callable[[str, str], str]


class MissingVariable(KeyError):
    """A placeholder whose variable has no value in this run (its extraction never happened)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _variable_name(name: str) -> str:
    if not VARIABLE_NAME.fullmatch(name):
        raise rule_error("variable_name_invalid", "letters, digits and _, not starting with a digit, at most 64")
    return name


VariableName = Annotated[str, AfterValidator(_variable_name)]


def placeholders(text: str) -> list[str]:
    return PLACEHOLDER.findall(text)


def malformed(text: str) -> bool:
    """A `{{` that opens no valid placeholder: a typo such as `{{ tok en }}` or `{{token}` would otherwise
    go out literally. A lone `}}` is fine: raw JSON bodies close nested objects with it."""
    return "{{" in PLACEHOLDER.sub("", text)


def render(text: str, variables: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            raise MissingVariable(name)
        return variables[name]

    return PLACEHOLDER.sub(value, text) if "{{" in text else text


def map_json_strings(value: Any, field: str, mapper: TextMapper) -> Any:
    """`value` with `mapper` applied to every string inside it (not to object keys), each string's field
    being its dotted path below `field`."""
    if isinstance(value, str):
        return mapper(field, value)
    if isinstance(value, dict):
        return {key: map_json_strings(item, f"{field}.{key}", mapper) for key, item in value.items()}
    if isinstance(value, list):
        return [map_json_strings(item, f"{field}.{index}", mapper) for index, item in enumerate(value)]
    return value
