"""A small API client for the terminal: submit a scan, follow it with a progress line, print a summary."""

from __future__ import annotations

import itertools
import sys
import time
from datetime import datetime
from typing import Any

import httpx

_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_POLL_SECONDS = (0.25, 0.5, 1.0, 2.0)  # quick at first, then gentle on the key's rate limit
_SEVERITIES = ("critical", "high", "medium", "low", "info")

# Exit codes of `scanfleet scan` (README: The command line).
SUCCEEDED, FAILED, REFUSED, STILL_RUNNING, UNREACHABLE = 0, 1, 2, 3, 4


class Refused(Exception):
    """The API answered, but not with what was asked for."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"refused ({response.status_code}): {_error_text(response)}")


def unreachable(what: str, where: str, exc: BaseException) -> str:
    return f"cannot reach {what} at {where}: is `scanfleet up` running? ({_text(exc)})"


def submit_and_follow(
    api_url: str, key: str, url: str, *, wait: bool, timeout: float, fresh: bool = False, engine: str = "http"
) -> int:
    try:
        with httpx.Client(base_url=api_url, headers={"authorization": f"Bearer {key}"}, timeout=10) as client:
            return _submit_and_follow(client, url, wait=wait, timeout=timeout, fresh=fresh, engine=engine)
    except Refused as refused:
        print(refused, file=sys.stderr)
        return REFUSED
    except httpx.TransportError as exc:
        print(unreachable("the scanfleet API", api_url, exc), file=sys.stderr)
        return UNREACHABLE


def _submit_and_follow(client: httpx.Client, url: str, *, wait: bool, timeout: float, fresh: bool, engine: str) -> int:
    response = client.post("/v1/scans", json={"url": url, "fresh": fresh, "engine": engine})
    scan = response.json() if response.status_code in (200, 202) else None
    if scan is None or (response.status_code == 200 and not scan.get("reused")):
        raise Refused(response)
    print(reuse_line(scan) if scan.get("reused") else f"scan {scan['id']} accepted — {scan['status_url']}")
    if not wait:
        return SUCCEEDED
    scan = _follow(client, scan, timeout)
    if scan is None:
        print(f"still not finished after {timeout:g}s", file=sys.stderr)
        return STILL_RUNNING
    issues = _get(client, f"/v1/scans/{scan['id']}/issues", limit=500)["items"]
    print(summary(scan, issues))
    return SUCCEEDED if scan["status"] == "succeeded" else FAILED


def reuse_line(scan: dict[str, Any]) -> str:
    """A scan the API handed back instead of a new one (a 200 with `reused`): which one, and from when."""
    if scan["reused"] == "in_flight":
        since, state = scan["created_at"], f"still {scan['status']}"
    else:
        since, state = scan.get("finished_at") or scan["created_at"], "it finished moments ago"
    return f"reusing scan {scan['id']} from {_local(since)} ({state}; --fresh scans anew) — {scan['status_url']}"


def _follow(client: httpx.Client, scan: dict[str, Any], timeout: float) -> dict[str, Any] | None:
    started = time.monotonic()
    interactive = sys.stderr.isatty()
    for polls, frame in enumerate(itertools.cycle(_SPINNER)):
        if scan["status"] in ("succeeded", "failed", "cancelled"):
            if interactive:
                sys.stderr.write("\r\033[K")
            return scan
        elapsed = time.monotonic() - started
        if elapsed > timeout:
            return None
        if interactive:
            sys.stderr.write(f"\r{frame} {scan['status']:<9} {elapsed:5.1f}s")
            sys.stderr.flush()
        time.sleep(_POLL_SECONDS[min(polls // 8, len(_POLL_SECONDS) - 1)])
        scan = _get(client, f"/v1/scans/{scan['id']}")
    return None


def _get(client: httpx.Client, path: str, **params: Any) -> dict[str, Any]:
    """A GET's JSON body; over the key's rate limit, the same GET again after the wait the API names."""
    while True:
        response = client.get(path, params=params)
        if response.status_code != 429:
            break
        time.sleep(float(response.headers.get("retry-after", "1")))
    if response.status_code != 200:
        raise Refused(response)
    body: dict[str, Any] = response.json()
    return body


def summary(scan: dict[str, Any], issues: list[dict[str, Any]]) -> str:
    lines = [f"status      {scan['status']}"]
    if scan.get("duration_seconds") is not None:
        lines.append(f"duration    {scan['duration_seconds']:.2f}s")
    if scan.get("final_url"):
        lines.append(f"final URL   {scan['final_url']} ({scan.get('http_status')})")
    if scan.get("error"):
        lines.append(f"error       {scan['error']['code']}: {scan['error']['message']}")
    if scan.get("summary"):
        counts = scan["summary"]["issues"]
        lines.append(f"evidence    {scan['summary']['evidence']} rows")
        lines.append("issues      " + ", ".join(f"{counts.get(severity, 0)} {severity}" for severity in _SEVERITIES))
    lines += [f"  [{issue['severity']}] {issue['code']}: {issue['title']}" for issue in issues]
    return "\n".join(lines)


def _local(timestamp: str) -> str:
    return datetime.fromisoformat(timestamp).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _error_text(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:200]


def _text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
