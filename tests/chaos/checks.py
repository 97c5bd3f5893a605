"""After the faults: wait until the system settles, then hold every 202 to its promise.

Each accepted scan must be final (succeeded, failed or cancelled), written once (its evidence and issues
exactly what its summary says, its day counted once in the rollups), with a sane number of attempts;
every capacity slot, place in line, deferral and lease must be released once nothing is left to run.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import asyncpg
from redis.asyncio import Redis

from scanfleet.broker.decode import reply, text
from tests.chaos.load import Ledger

GATE = "sf:gate:"
FINAL = ("succeeded", "failed", "cancelled")
# Per target, the outcomes a working platform gives (a cancelled scan is fine anywhere).
EXPECTED = {
    "fast": {"succeeded"},
    "slow": {"succeeded"},
    "flaky": {"succeeded", "failed:http_error"},
    "timeout": {"failed:timeout", "failed:target_unavailable"},
}


async def held_in_gate(redis: Redis) -> dict[str, int]:
    """Everything the gate and arq still hold, by key (only the non-empty ones)."""
    held: dict[str, int] = {}
    for pattern, size in (
        (GATE + "active:*", redis.scard),
        (GATE + "waiting:*", redis.llen),
        (GATE + "deferred*", redis.zcard),
    ):
        async for key in redis.scan_iter(match=pattern):
            held[key.decode()] = int(await reply(size(key)))
    for key in (GATE + "leases", GATE + "jobs", "arq:queue"):
        held[key] = int(await redis.zcard(key))
    for pattern in (GATE + "job:*", "arq:in-progress:*"):
        held[pattern] = len([key async for key in redis.scan_iter(match=pattern)])
    return {key: count for key, count in held.items() if count}


async def unfinished_count(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM scans WHERE status IN ('queued', 'running')"))


async def settle(pool: asyncpg.Pool, redis: Redis, deadline: float) -> tuple[float, bool]:
    """Poll until no scan is unfinished and the gate holds nothing, or the deadline passes.
    Returns (seconds waited, settled)."""
    started = time.monotonic()
    while True:
        try:
            if not await unfinished_count(pool) and not await held_in_gate(redis):
                return time.monotonic() - started, True
        except (OSError, asyncpg.PostgresError):
            pass  # a server still coming back: look again
        if time.monotonic() - started > deadline:
            return time.monotonic() - started, False
        await asyncio.sleep(0.2)


@dataclass
class Problem:
    kind: str  # lost, unfinished, duplicate, attempts, unexpected
    scan_id: uuid.UUID | None
    detail: str


@dataclass
class Verdict:
    completed: Counter[str] = field(default_factory=Counter)  # final status of accepted scans
    failed_by_code: Counter[str] = field(default_factory=Counter)
    lost: list[Problem] = field(default_factory=list)  # no row, or not final and held nowhere: dropped
    unfinished: list[Problem] = field(default_factory=list)  # not final, still held by the gate: late
    duplicates: list[Problem] = field(default_factory=list)
    attempts: list[Problem] = field(default_factory=list)
    unexpected: list[Problem] = field(default_factory=list)  # outcomes a target should not produce
    attempt_counts: dict[str, Counter[int]] = field(default_factory=dict)  # by target
    unacknowledged: Counter[str] = field(default_factory=Counter)  # scans with no 202, by status
    held: dict[str, int] = field(default_factory=dict)
    interrupted: int = 0  # jobs in hand on killed or rolled workers
    interrupted_unfinished: int = 0

    @property
    def problems(self) -> list[Problem]:
        return [*self.lost, *self.unfinished, *self.duplicates, *self.attempts, *self.unexpected]


def _outcome(row: asyncpg.Record) -> str:
    return f"failed:{row['error_code']}" if row["status"] == "failed" else str(row["status"])


async def verify(pool: asyncpg.Pool, redis: Redis, ledger: Ledger, max_attempts: int,
                 interrupted: set[str]) -> Verdict:  # fmt: skip
    verdict = Verdict()
    rows = {row["id"]: row for row in await pool.fetch("SELECT * FROM scans")}
    evidence = {row["scan_id"]: row for row in await pool.fetch(
        "SELECT scan_id, count(*) AS n, count(DISTINCT seq) AS seqs, max(seq) AS top FROM evidence GROUP BY scan_id"
    )}  # fmt: skip
    issues = {row["scan_id"]: row["n"] for row in await pool.fetch(
        "SELECT scan_id, count(*) AS n FROM issues GROUP BY scan_id"
    )}  # fmt: skip
    accepted = {s.scan_id: s for s in ledger.accepted}
    for scan_id, submission in accepted.items():
        row = rows.get(scan_id)
        if row is None:
            verdict.lost.append(Problem("lost", scan_id, f"{submission.target}: no row at all"))
            continue
        if row["status"] not in FINAL:
            gate_state = await reply(redis.hget(f"{GATE}job:job:{scan_id}", "state"))
            held = f"gate: {text(gate_state)}" if gate_state else "held nowhere"
            detail = (f"{submission.target}: still {row['status']}, attempts {row['attempts']}, "
                      f"lease until {row['lease_until']}, {held}")  # fmt: skip
            if gate_state:
                verdict.unfinished.append(Problem("unfinished", scan_id, detail))
            else:
                verdict.lost.append(Problem("lost", scan_id, detail))
            continue
        verdict.completed[row["status"]] += 1
        if row["status"] == "failed":
            verdict.failed_by_code[row["error_code"]] += 1
        verdict.attempt_counts.setdefault(submission.target, Counter())[row["attempts"]] += 1
        _check_once(verdict, row, evidence.get(scan_id), issues.get(scan_id, 0), max_attempts)
        if row["status"] != "cancelled" and _outcome(row) not in EXPECTED[submission.target]:
            verdict.unexpected.append(Problem("unexpected", scan_id, f"{submission.target} target ended "
                                              f"{_outcome(row)}: {row['error_message']}"))  # fmt: skip
    for scan_id, row in rows.items():
        if scan_id not in accepted:
            verdict.unacknowledged[str(row["status"])] += 1
    await _check_rollups(pool, verdict)
    verdict.held = await held_in_gate(redis)
    verdict.interrupted = len(interrupted)
    verdict.interrupted_unfinished = sum(
        1 for job in interrupted if (row := rows.get(uuid.UUID(job.removeprefix("job:")))) is None
        or row["status"] not in FINAL
    )  # fmt: skip
    return verdict


def _check_once(verdict: Verdict, row: asyncpg.Record, evidence: asyncpg.Record | None, issue_rows: int,
                max_attempts: int) -> None:  # fmt: skip
    scan_id, summary = row["id"], row["summary"] or {}
    rows, seqs, top = (evidence["n"], evidence["seqs"], evidence["top"]) if evidence else (0, 0, -1)
    if row["status"] == "cancelled":
        # A cancel writes no results; a result written after it would be a second end.
        if rows or issue_rows:
            verdict.duplicates.append(Problem("duplicate", scan_id, f"cancelled, yet {rows} evidence rows"))
        return
    if rows != summary.get("evidence", 0) or seqs != rows or top != rows - 1:
        verdict.duplicates.append(Problem("duplicate", scan_id, f"{rows} evidence rows ({seqs} distinct seqs, "
                                          f"last {top}) for a summary of {summary.get('evidence')}"))  # fmt: skip
    expected_issues = sum((summary.get("issues") or {}).values())
    if issue_rows != expected_issues:
        verdict.duplicates.append(Problem("duplicate", scan_id, f"{issue_rows} issue rows, summary {expected_issues}"))
    if not 1 <= row["attempts"] <= max_attempts or row["started_at"] is None or row["finished_at"] is None:
        verdict.attempts.append(Problem("attempts", scan_id, f"{row['status']} after {row['attempts']} attempts, "
                                        f"started {row['started_at']}, finished {row['finished_at']}"))  # fmt: skip


async def _check_rollups(pool: asyncpg.Pool, verdict: Verdict) -> None:
    """The daily counts are written in each result's transaction: a result written twice counts twice."""
    counted = await pool.fetch(
        "SELECT org_id, status, sum(scans) AS n FROM (SELECT org_id, status, scans FROM daily_scan_counts"
        " UNION ALL SELECT org_id, status, scans FROM daily_scan_count_shards) AS c GROUP BY 1, 2"
    )
    actual = {
        (row["org_id"], row["status"]): row["n"]
        for row in await pool.fetch(
            "SELECT org_id, status, count(*) AS n FROM scans WHERE status IN ('succeeded', 'failed') GROUP BY 1, 2"
        )
    }
    for row in counted:
        have = actual.get((row["org_id"], row["status"]), 0)
        if row["n"] != have:
            verdict.duplicates.append(Problem("duplicate", None, f"org {row['org_id']}: daily counts say {row['n']} "
                                              f"{row['status']} scans, the table has {have}"))  # fmt: skip
