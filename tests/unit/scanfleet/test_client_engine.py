"""`scanfleet scan --engine` asks the API for that engine."""

from __future__ import annotations

import json

import httpx
import pytest

from scanfleet.cli import parser
from scanfleet.client import SUCCEEDED, _submit_and_follow


@pytest.mark.parametrize(("argv", "engine"), [([], "http"), (["--engine", "browser"], "browser")])
def test_the_scan_command_submits_the_engine_it_was_given(argv: list[str], engine: str) -> None:
    args = parser().parse_args(["scan", "https://shop.example/", *argv])
    sent: list[dict[str, object]] = []

    def api(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        scan = {"id": "1", "status": "queued", "status_url": "http://api/v1/scans/1"}
        return httpx.Response(202, json=scan)

    with httpx.Client(transport=httpx.MockTransport(api), base_url="http://api") as client:
        ended = _submit_and_follow(client, args.url, wait=False, timeout=1, fresh=args.fresh, engine=args.engine)
    assert ended == SUCCEEDED
    assert sent == [{"url": "https://shop.example/", "fresh": False, "engine": engine}]


def test_an_engine_the_platform_does_not_have_is_refused_by_the_parser() -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["scan", "https://shop.example/", "--engine", "lynx"])
