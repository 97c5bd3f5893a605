"""Values a step hands to the steps after it, taken from its response."""

from __future__ import annotations

import json

from scanfleet.checks.expressions import compile_path, compile_regex
from scanfleet.checks.steps import Extraction, HeaderExtraction, JsonExtraction
from scanfleet.worker.checks.attempt import Observation


def extract(extraction: Extraction, observation: Observation) -> str | None:
    """The value, or None if the response does not have it."""
    if isinstance(extraction, JsonExtraction):
        is_json, document = observation.json
        values = compile_path(extraction.path).findall(document) if is_json else []
        if not values:
            return None
        value = values[0]
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    if isinstance(extraction, HeaderExtraction):
        return observation.headers.get(extraction.header) if observation.headers is not None else None
    match = compile_regex(extraction.pattern).search(observation.text) if observation.text is not None else None
    return match.group(extraction.group_ref) if match else None
