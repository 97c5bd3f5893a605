"""Browser steps in test runs, against web apps on 127.0.0.1 (through the guarded proxy, as in production):
a login flow, a single-page app, a slow page, a flickering selector, a failed assertion and its screenshot, and
a secret typed into a page that echoes it everywhere it can."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import signal
import ssl
import struct
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
import trustme

from scanfleet.checks.steps import MAX_TEXT
from scanfleet.http import GuardedBackend, guarded_client
from scanfleet.worker.browser import BrowserRuntime
from scanfleet.worker.browser.screenshot import MAX_FULL_PAGE_HEIGHT
from scanfleet.worker.checks import CheckEnv, SuiteResult, check_context
from scanfleet.worker.checks.browser_session import MAX_CONSOLE_EVENTS, MAX_LISTED
from tests.integration.browser.apps import APP, LOGIN, PASSWORD, SLOW_SECONDS, SPA_ROUTES, USER, build_apps
from tests.integration.browser.conftest import LIMITS, ONLY_127_0_0_1
from tests.integration.checks.runs import assertions, run, steps
from tests.support.internet import Internet
from tests.support.site import Page, eventually


@pytest.fixture(scope="module")
def apps(internet: Internet) -> Internet:
    build_apps(internet)
    return internet


@pytest.fixture(scope="module")
async def client(ca: trustme.CA, apps: Internet) -> AsyncIterator[httpx.AsyncClient]:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    async with guarded_client(ONLY_127_0_0_1, context, httpx.Timeout(5.0), resolve_map=apps.resolve_map) as client:
        yield client


@pytest.fixture
def env(client: httpx.AsyncClient, apps: Internet, runtime: BrowserRuntime) -> CheckEnv:
    backend = GuardedBackend(ONLY_127_0_0_1, apps.resolve_map)
    return CheckEnv(client, backend, check_context(), _no_heartbeats, browser=runtime, browse_limits=LIMITS)


async def _no_heartbeats(_heartbeat: object) -> None:
    return None


def _text(result: SuiteResult) -> str:
    return json.dumps([(row.title, row.details, row.location) for row in result.evidence], ensure_ascii=False)


async def test_a_login_flow_signs_in_and_hands_what_it_extracts_to_the_next_steps(env: CheckEnv) -> None:
    result = await run(
        env,
        {"kind": "browser", "name": "sign in", "actions": LOGIN},
        # The browser steps of a run share their context: still signed in.
        {"kind": "browser", "name": "again", "actions": [
            {"action": "goto", "url": f"{APP}/dashboard"},
            {"action": "assert_url", "operator": "contains", "value": "/dashboard"},
            {"action": "assert_visible", "selector": "text=Order #{{order}}"},
        ]},
        {"kind": "http", "url": f"{APP}/dashboard?order={{{{order}}}}",
         "assertions": [{"type": "status", "operator": "equals", "value": 303}], "follow_redirects": False},
        variables={"user": USER, "password": PASSWORD},
    )  # fmt: skip
    first, second, third = steps(result)
    assert result.verdict == "passed", first
    assert [action["ok"] for action in first["actions"]] == [True] * len(LOGIN)
    assert first["final_url"] == f"{APP}/dashboard?lang=fr&remember=yes"
    assert all(row["passed"] for row in assertions(result, 0)) and len(assertions(result, 0)) == 6
    timings = first["page_timings"]
    assert set(timings) == {"ttfb_ms", "dom_content_loaded_ms", "load_ms", "lcp_ms", "cls", "total_ms"}
    assert 0 < timings["ttfb_ms"] <= timings["dom_content_loaded_ms"] <= timings["load_ms"] <= timings["total_ms"]
    assert timings["lcp_ms"] is not None and timings["lcp_ms"] > 0
    assert second["passed"] and second["final_url"] == f"{APP}/dashboard"
    assert third["request"]["url"] == f"{APP}/dashboard?order=4521"
    assert PASSWORD not in _text(result)


async def test_a_single_page_app_is_followed_through_its_client_side_routes(env: CheckEnv) -> None:
    result = await run(
        env,
        {"kind": "browser", "name": "open", "actions": [
            {"action": "goto", "url": f"{APP}/spa/inbox", "wait_until": "domcontentloaded"},
            {"action": "wait_for", "load_state": "networkidle"},
            {"action": "assert_title", "value": "Inbox"},
        ]},
        {"kind": "browser", "name": "settings", "actions": [
            *SPA_ROUTES, {"action": "assert_hidden", "selector": "text=Inbox >> xpath=ancestor::main"},
        ]},
    )  # fmt: skip
    opened, settings = steps(result)
    assert result.verdict == "passed", settings
    console = {entry["text"] for entry in opened["console_errors"]}
    assert "spa: telemetry endpoint missing" in console, opened["console_errors"]
    assert opened["console_error_count"] == len(opened["console_errors"])
    failed = [(entry["url"], entry.get("status")) for entry in opened["failed_requests"]]
    assert (f"{APP}/api/missing", 404) in failed
    assert opened["page_timings"]["ttfb_ms"] is not None
    # No document was loaded in the second step: no navigation timings, no LCP, only its own total.
    assert settings["page_timings"]["ttfb_ms"] is None and settings["page_timings"]["lcp_ms"] is None
    assert settings["page_timings"]["total_ms"] > 0
    assert settings["final_url"] == f"{APP}/spa/settings"
    assert settings["console_error_count"] == 0


async def test_a_slow_page_degrades_the_run_or_fails_it_by_the_step_thresholds(env: CheckEnv) -> None:
    visit = [{"action": "goto", "url": f"{APP}/slow"}, {"action": "assert_text", "selector": "h1", "value": "Finally"}]
    degraded = await run(
        env, {"kind": "browser", "actions": visit, "thresholds": [
            {"metric": "ttfb", "degraded": 300, "failed": 30_000}, {"metric": "cls", "failed": 0.5}]},
    )  # fmt: skip
    assert degraded.verdict == "degraded"
    step = steps(degraded)[0]
    assert step["page_timings"]["ttfb_ms"] >= SLOW_SECONDS * 1000
    ttfb, cls = assertions(degraded)[1:]
    assert (ttfb["type"], ttfb["target"], ttfb["degraded"], ttfb["passed"]) == ("timing", "ttfb", True, True)
    assert (cls["target"], cls["passed"], cls["degraded"]) == ("cls", True, False)
    failed = await run(env, {"kind": "browser", "actions": visit, "thresholds": [{"metric": "load", "failed": 300}]})
    assert failed.verdict == "failed"
    assert assertions(failed)[-1]["passed"] is False and assertions(failed)[-1]["actual"] >= SLOW_SECONDS * 1000


async def test_a_selector_that_turns_up_late_and_flickers_is_waited_for(env: CheckEnv) -> None:
    result = await run(
        env,
        {"kind": "browser", "actions": [
            {"action": "goto", "url": f"{APP}/late"},
            {"action": "click", "selector": "button:text-is('go')"},
            {"action": "assert_text", "selector": "#result", "operator": "equals", "value": "clicked go"},
        ]},
    )  # fmt: skip
    assert result.verdict == "passed", steps(result)
    never = await run(
        env,
        {"kind": "browser", "action_timeout_seconds": 3, "actions": [
            {"action": "goto", "url": f"{APP}/late"}, {"action": "click", "selector": "#never"}]},
    )  # fmt: skip
    step = steps(never)[0]
    assert never.verdict == "failed"
    assert step["error"]["code"] == "timeout" and step["error"]["message"].startswith("actions[1] click '#never'")
    assert step["failed_action"] == 1 and [action.get("ok") for action in step["actions"]] == [True, False]


async def test_a_failed_assertion_fails_the_step_with_its_screenshot_and_dom_snapshot(env: CheckEnv) -> None:
    result = await run(
        env,
        {"kind": "browser", "name": "inbox", "action_timeout_seconds": 3, "actions": [
            {"action": "goto", "url": f"{APP}/spa/inbox"},
            {"action": "assert_visible", "selector": "#nope", "invert": True},
            {"action": "screenshot", "full_page": True},
            {"action": "assert_text", "selector": "h1", "operator": "equals", "value": "Outbox"},
            {"action": "click", "selector": "#to-settings"},
        ]},
    )  # fmt: skip
    step = steps(result)[0]
    assert result.verdict == "failed" and step["failed_action"] == 3, step
    assert [action.get("ok") for action in step["actions"]] == [True, True, True, False]  # the click never ran
    inverted, failed = assertions(result)
    assert inverted["passed"] and inverted["inverted"]
    assert (failed["passed"], failed["actual"], failed["expected"]) == (False, "Inbox", "Outbox")
    assert failed["message"].startswith('actions[3] text h1 equals "Outbox": failed, actual "Inbox"')
    assert [(a.kind, a.step) for a in result.attachments] == [
        ("screenshot", "inbox"),
        ("screenshot", "inbox"),
        ("dom_snapshot", "inbox"),
    ]
    assert all(a.data.startswith(b"\x89PNG") for a in result.attachments[:2])
    assert b"<h1>Inbox</h1>" in result.attachments[2].data
    assert [(ref["index"], ref["kind"], ref["sha256"]) for ref in step["attachments"]] == [
        (index, a.kind, hashlib.sha256(a.data).hexdigest()) for index, a in enumerate(result.attachments)
    ]
    assert step["actions"][2]["attachment"] == 0


async def test_a_secret_filled_into_a_field_is_redacted_from_every_result(
    env: CheckEnv, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "s3cr3t/+ &token"
    caplog.set_level(logging.DEBUG)
    result = await run(
        env,
        {"kind": "browser", "action_timeout_seconds": 2, "actions": [
            {"action": "goto", "url": f"{APP}/leaky"},
            {"action": "fill", "selector": "#token", "value": "{{token}}", "secret": True},
            {"action": "wait_for", "load_state": "networkidle"},
            {"action": "assert_text", "selector": "#echo", "operator": "equals", "value": "nothing"},
        ]},
        variables={"token": secret},
    )  # fmt: skip
    step = steps(result)[0]
    assert result.verdict == "failed" and step["failed_action"] == 3
    text = _text(result)
    encoded = httpx.QueryParams({"t": secret}).get("t")
    for form in (secret, httpx.URL(f"{APP}/?t={secret}").query.decode().removeprefix("t="), encoded, "s3cr3t"):
        assert form not in text, form
    assert step["final_url"] == f"{APP}/leaky?typed=[redacted]"
    assert step["console_errors"][0]["text"] == "typed [redacted]"
    assert any(entry["url"] == f"{APP}/api/nowhere?t=[redacted]" for entry in step["failed_requests"])
    assert assertions(result)[0]["actual"] == "you typed [redacted]"
    snapshot = next(a for a in result.attachments if a.kind == "dom_snapshot").data.decode()
    assert "s3cr3t" not in snapshot and "you typed [redacted]" in snapshot
    assert not any("s3cr3t" in record.getMessage() for record in caplog.records)


async def test_a_step_without_a_browser_fails_as_browser_unavailable(env: CheckEnv) -> None:
    env.browser = None  # an http worker's environment
    result = await run(env, {"kind": "browser", "actions": [{"action": "goto", "url": f"{APP}/login"}]})
    assert result.verdict == "failed"
    assert steps(result)[0]["error"]["code"] == "browser_unavailable"


async def test_a_browser_step_goes_through_the_guard(env: CheckEnv, apps: Internet) -> None:
    result = await run(
        env,
        {"kind": "browser", "actions": [{"action": "goto", "url": f"http://127.0.0.2:{apps.http_port}/"}],
         "continue_on_failure": True},
        {"kind": "browser", "actions": [{"action": "goto", "url": "{{target}}"}]},
        variables={"target": "file:///etc/passwd"},
    )  # fmt: skip
    blocked, local = steps(result)
    assert blocked["error"]["code"] == "blocked_address" and blocked["error"]["message"].startswith("actions[0] goto")
    assert local["error"]["code"] == "invalid_url"  # a URL from a variable is checked once it is filled in


async def test_a_browser_that_crashes_mid_step_fails_that_step_and_the_next_gets_a_new_one(
    env: CheckEnv, runtime: BrowserRuntime, apps: Internet
) -> None:
    hang = f"/hang-{uuid.uuid4().hex[:8]}"
    apps.add(f"{APP}{hang}", Page(200, [("Content-Type", "text/html")], b"<p>late</p>", delay=5))

    async def crash_when_asked() -> None:
        async def asked() -> bool:
            return any(hit.path == hang for hit in apps.hits)

        await eventually(asked)
        assert runtime._current is not None
        for pid in runtime._current.pids():  # the browser now loading the page
            os.kill(pid, signal.SIGKILL)

    crashing = asyncio.create_task(crash_when_asked())
    result = await run(
        env,
        {"kind": "browser", "continue_on_failure": True, "actions": [{"action": "goto", "url": f"{APP}{hang}"}]},
        {"kind": "browser", "actions": [
            {"action": "goto", "url": f"{APP}/login"}, {"action": "assert_title", "value": "Sign in"}]},
    )  # fmt: skip
    await crashing
    crashed, after = steps(result)
    assert crashed["error"]["code"] == "browser_crashed", crashed
    assert after["passed"], after


# Echoes what is typed as a React app does: into text, into the field's own value attribute and another's, and
# into a form-encoded (`+` for a space) URL and request.
MIRROR = """<!doctype html><html><head><title>Mirror</title></head><body>
<input id="password" type="password"><p id="echo"></p><input id="copy" readonly>
<p id="key">  k3y &amp; "v"
   &lt;end&gt; </p>
<script>
  document.getElementById("password").addEventListener("input", (event) => {
    const value = event.target.value;
    event.target.setAttribute("value", value);
    document.getElementById("copy").setAttribute("value", value);
    document.getElementById("echo").textContent = "you typed " + value;
    const query = new URLSearchParams({typed: value});
    history.replaceState({}, "", "/mirror?" + query);
    fetch("/api/nowhere?" + query);
  });
</script></body></html>"""


async def test_a_secret_is_redacted_in_every_form_the_dom_serialiser_and_urls_give_it(
    env: CheckEnv, apps: Internet
) -> None:
    secret = "p&ss'w0rd \"<x>"
    path = f"/mirror-{uuid.uuid4().hex[:8]}"
    apps.add(f"{APP}{path}", Page(200, [("Content-Type", "text/html")], MIRROR.encode()))
    result = await run(
        env,
        {"kind": "browser", "action_timeout_seconds": 2, "actions": [
            {"action": "goto", "url": f"{APP}{path}"},
            {"action": "fill", "selector": "#password", "value": "{{password}}", "secret": True},
            {"action": "extract", "name": "key", "selector": "#key", "secret": True},
            {"action": "wait_for", "load_state": "networkidle"},
            {"action": "assert_text", "selector": "#echo", "operator": "equals", "value": "nothing"},
        ]},
        variables={"password": secret},
    )  # fmt: skip
    step = steps(result)[0]
    assert result.verdict == "failed" and step["failed_action"] == 4, step
    assert assertions(result)[0]["actual"] == "you typed [redacted]"
    assert step["final_url"] == f"{APP}/mirror?typed=[redacted]"
    assert any(entry["url"] == f"{APP}/api/nowhere?typed=[redacted]" for entry in step["failed_requests"])
    # The screenshot was taken with the secrets' masks (one holds quotes and markup).
    assert [a.kind for a in result.attachments] == ["screenshot", "dom_snapshot"]
    assert result.attachments[0].data.startswith(b"\x89PNG")
    snapshot = result.attachments[1].data.decode()
    for leaked in ("w0rd", "k3y", "&lt;end&gt;"):
        assert leaked not in snapshot and leaked not in _text(result), leaked
    assert 'id="copy" readonly="" value="[redacted]"' in snapshot  # the serialiser's attribute form
    assert "you typed [redacted]" in snapshot  # and its text form
    field = snapshot[snapshot.index('<input id="password"') :].partition(">")[0]
    assert "value" not in field, field  # the field's mirrored value blanked


async def test_a_secret_across_the_snapshots_cut_is_redacted_before_it_is_cut(env: CheckEnv, apps: Internet) -> None:
    secret = "cut&across'the edge"
    path = f"/cut-{uuid.uuid4().hex[:8]}"
    body = f"<!doctype html><html><body><p>{secret.replace('&', '&amp;')}</p><p id='no'>x</p></body></html>"
    apps.add(f"{APP}{path}", Page(200, [("Content-Type", "text/html")], body.encode()))
    visit = {"kind": "browser", "action_timeout_seconds": 1, "actions": [
        {"action": "goto", "url": f"{APP}{path}"},
        {"action": "extract", "name": "edge", "selector": "p", "secret": True},
        {"action": "assert_text", "selector": "#no", "value": "nothing"},
    ]}  # fmt: skip
    whole = (await run(env, visit)).attachments[-1].data
    at = whole.index(b"[redacted]")
    env.browse_limits = replace(env.browse_limits, max_document_bytes=at + 6)
    cut = (await run(env, visit)).attachments[-1]
    assert cut.kind == "dom_snapshot" and cut.data == whole[: at + 6] and cut.data.endswith(b"[redac")


# A page that pushes all it can at the worker: a 50 MB text node, an overridden String.prototype.slice and
# outerHTML getter, a 1 MB title, 2 MB of text, a flood of console errors, and a page 200,000 pixels tall.
HOSTILE = """<!doctype html><html><head><title>t</title></head><body>
<div id="big" hidden></div><p id="long" hidden></p><div id="tall" style="height: 200000px">tall</div>
<script>
  document.getElementById("big").textContent = "x".repeat(50 * 1024 * 1024);
  // Smaller, for an assertion's looks of a second each (Playwright takes seconds to find a 50 MB element).
  document.getElementById("long").textContent = "w".repeat(2 * 1024 * 1024);
  document.title = "T".repeat(1024 * 1024);
  String.prototype.slice = function () { return this + ""; };
  Object.defineProperty(Element.prototype, "outerHTML", { get() { return "y".repeat(20 * 1024 * 1024); } });
  for (let i = 0; i < 20000; i++) console.error("flood " + i + " " + "z".repeat(1000));
</script></body></html>"""


def _png_height(data: bytes) -> int:
    return int(struct.unpack(">I", data[20:24])[0])


async def test_a_hostile_page_gets_only_bounded_values_into_the_worker_and_the_run_finishes(
    env: CheckEnv, apps: Internet
) -> None:
    path = f"/hostile-{uuid.uuid4().hex[:8]}"
    apps.add(f"{APP}{path}", Page(200, [("Content-Type", "text/html")], HOSTILE.encode()))
    env.browse_limits = replace(env.browse_limits, max_document_bytes=100_000)
    result = await run(
        env,
        {"kind": "browser", "action_timeout_seconds": 5, "timeout_seconds": 60, "actions": [
            {"action": "goto", "url": f"{APP}{path}"},
            {"action": "extract", "name": "big", "selector": "#big"},
            {"action": "assert_title", "operator": "contains", "value": "TTT"},
            {"action": "assert_attribute", "selector": "#tall", "name": "id", "value": "tall"},
            {"action": "screenshot", "full_page": True},
            {"action": "assert_text", "selector": "#long", "operator": "equals", "value": "nothing"},
        ]},
    )  # fmt: skip
    step = steps(result)[0]
    assert result.verdict == "failed" and step["failed_action"] == 5, step["error"]
    extracted = next(row.details for row in result.evidence if row.kind == "check_extract")
    assert extracted["value"] == "x" * MAX_TEXT
    title, attribute, text = assertions(result)
    assert title["passed"] and len(title["actual"]) == MAX_TEXT
    assert attribute["passed"] and attribute["actual"] == "tall"
    assert text["actual"] == "w" * MAX_TEXT
    shot, _failure_shot, snapshot = result.attachments
    assert 0 < _png_height(shot.data) <= MAX_FULL_PAGE_HEIGHT
    # The real DOM, not the page's getter, and no more of it than the limit.
    assert snapshot.kind == "dom_snapshot" and len(snapshot.data) == 100_000
    assert snapshot.data.startswith(b"<html><head><title>TTT") and b"yyyy" not in snapshot.data
    assert len(step["console_errors"]) <= MAX_LISTED
    assert sum(len(entry["text"]) for entry in step["console_errors"]) <= 16_384
    assert step["console_error_count"] <= MAX_CONSOLE_EVENTS and step["console_flooded"] is True
