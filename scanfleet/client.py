"""A small API client for the terminal: submit a scan, follow it with a progress line, print a summary."""

from __future__ import annotations

import itertools
import sys
import time
from typing import Any

import httpx

_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_POLL_SECONDS = (0.25, 0.5, 1.0, 2.0)  # quick at first, then gentle on the key's rate limit
_SEVERITIES = ("critical", "high", "medium", "low", "info")


def submit_and_follow(api_url: str, key: str, url: str, *, wait: bool, timeout: float) -> int:
    with httpx.Client(base_url=api_url, headers={"authorization": f"Bearer {key}"}, timeout=10) as client:
        response = client.post("/v1/scans", json={"url": url})
        if response.status_code != 202:
            print(f"refused ({response.status_code}): {_error_text(response)}", file=sys.stderr)
            return 2
        scan = response.json()
        print(f"scan {scan['id']} accepted — {scan['status_url']}")
        if not wait:
            return 0
        scan = _follow(client, scan, timeout)
        if scan is None:
            print(f"still not finished after {timeout:g}s", file=sys.stderr)
            return 3
        issues = client.get(f"/v1/scans/{scan['id']}/issues", params={"limit": 500}).json()["items"]
        print(summary(scan, issues))
        return 0 if scan["status"] == "succeeded" else 1


def _follow(client: httpx.Client, scan: dict[str, Any], timeout: float) -> dict[str, Any] | None:
    started = time.monotonic()
    interactive = sys.stderr.isatty()
    for polls, frame in enumerate(itertools.cycle(_SPINNER)):
        if scan["status"] in ("succeeded", "failed"):
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
        response = client.get(f"/v1/scans/{scan['id']}")
        if response.status_code == 429:
            time.sleep(float(response.headers.get("retry-after", "1")))
            continue
        scan = response.raise_for_status().json()
    return None


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


def _error_text(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:200]
