"""The suite README.md shows users is one the platform accepts."""

from __future__ import annotations

import json
from pathlib import Path

from scanfleet.checks import parse_suite

README = Path(__file__).resolve().parents[4] / "README.md"


def test_readme_example_suite_is_valid() -> None:
    body = README.read_text().split("http://127.0.0.1:8000/v1/runs -d '", 1)[1].split("'\n```", 1)[0]
    suite = parse_suite(json.loads(body))
    assert [step.kind for step in suite.steps] == ["http", "http", "tls", "tcp"]


def test_readme_example_browser_suite_is_valid() -> None:
    body = README.read_text().split("### Browser steps", 1)[1].split("/v1/runs -d '", 1)[1].split("'\n```", 1)[0]
    suite = parse_suite(json.loads(body))
    assert [step.kind for step in suite.steps] == ["browser", "http"]
