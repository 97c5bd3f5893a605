"""README's configuration table names every setting, by the environment variable that sets it."""

from __future__ import annotations

import re
from pathlib import Path

from scanfleet.config import Settings

README = Path(__file__).parents[2] / "README.md"


def environment_names() -> set[str]:
    prefix = Settings.model_config.get("env_prefix", "")
    names = set()
    for field, info in Settings.model_fields.items():
        alias = info.validation_alias
        choices = getattr(alias, "choices", None)
        names.add(str(choices[0]) if choices else f"{prefix}{field}".upper())
    return names


def documented_names() -> set[str]:
    """Names in the table's first column; `SCANFLEET_A_MIN` / `_MAX` stands for both A_MIN and A_MAX."""
    text = README.read_text()
    table = text[text.index("## Configuration") : text.index("## How it works")]
    names = set()
    for row in table.splitlines():
        if not row.startswith("| `"):
            continue
        first, *shorthand = re.findall(r"`([A-Z0-9_]+)`", row.split("|")[1])
        names.add(first)
        for tail in shorthand:  # replaces as many trailing parts of the first name as it has
            parts = first.split("_")
            names.add("_".join(parts[: len(parts) - tail.strip("_").count("_") - 1]) + tail)
    return names


def test_every_setting_is_in_the_configuration_table() -> None:
    assert sorted(environment_names() - documented_names()) == []


def test_the_table_names_no_setting_that_does_not_exist() -> None:
    assert sorted(documented_names() - environment_names()) == []
