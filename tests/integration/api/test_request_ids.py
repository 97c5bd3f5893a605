"""X-Request-ID and traceparent at the API's edge."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from scanfleet import logs
from scanfleet.config import Settings

TRACE, SPAN = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"


class JsonLines:
    """Every record logged while installed, formatted as the processes format it (the ids are read at emit time)."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(logs.JsonFormatter())

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(text) for text in self.stream.getvalue().splitlines()]


@pytest.fixture
def json_lines() -> Iterator[JsonLines]:
    captured = JsonLines()
    root = logging.getLogger()
    level = root.level
    root.addHandler(captured.handler)
    root.setLevel(logging.INFO)
    yield captured
    root.removeHandler(captured.handler)
    root.setLevel(level)


@pytest.mark.parametrize(
    "sent", ["abc-123", str(uuid.uuid4()), "Root=1-5e1b4151-5ac6c58f5b5dbd6a09f4e9b4", "lb:8080/17", "a" * 128]
)
async def test_a_sane_request_id_is_kept(api: httpx.AsyncClient, sent: str) -> None:
    assert (await api.get("/healthz", headers={"X-Request-ID": sent})).headers["x-request-id"] == sent


@pytest.mark.parametrize("sent", [None, "", "has space", "a" * 129, 'quo"te', "semi;colon", "{json}", "tab\there"])
async def test_a_missing_or_odd_request_id_is_replaced_by_a_fresh_one(api: httpx.AsyncClient, sent: str | None) -> None:
    headers = {} if sent is None else {"X-Request-ID": sent}
    answered = {(await api.get("/healthz", headers=headers)).headers["x-request-id"] for _ in range(2)}
    assert len(answered) == 2 and all(re.fullmatch(r"[0-9a-f]{32}", made) for made in answered)


async def test_errors_carry_the_request_id_too(api: httpx.AsyncClient) -> None:
    unauthenticated = await api.post("/v1/scans", json={"url": "http://example.com/"}, headers={"X-Request-ID": "e-1"})
    assert (unauthenticated.status_code, unauthenticated.headers["x-request-id"]) == (401, "e-1")
    assert (await api.get("/nowhere", headers={"X-Request-ID": "e-2"})).headers["x-request-id"] == "e-2"


async def test_an_unexpected_failure_is_a_json_500_naming_its_request_id_and_logged_with_it(
    settings: Settings, json_lines: JsonLines
) -> None:
    from api.app import create_app

    app = create_app(settings)

    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken", broken)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://scanfleet.test") as client:
        response = await client.get(
            "/broken", headers={"X-Request-ID": "bug-7", "traceparent": f"00-{TRACE}-{SPAN}-01"}
        )
    assert (response.status_code, response.headers["x-request-id"]) == (500, "bug-7")
    assert response.json()["error"]["code"] == "internal_error" and "bug-7" in response.json()["error"]["message"]
    (failure,) = [line for line in json_lines.lines() if line.get("exc")]
    assert failure["request_id"] == "bug-7" and "RuntimeError: a bug" in failure["exc"]
    assert failure["trace_id"] == TRACE and failure["span_id"] != SPAN  # the request's span, in the client's trace
