"""Evidence write rows/s: the repository code (`scans.record_outcome`) against a raw asyncpg COPY.

    python -m bench.evidence_write [--scans 2000] [--rows 60] [--rounds 3] [--issues 0]

Starts an embedded PostgreSQL in a temporary directory, migrates a fresh database, then in each round
writes the same evidence three ways, over ONE connection (a pool of size 1), into the day-partitioned
`evidence` table:

  repository  `results.record_outcome(pool, scan, outcome)` for every scan: acquire, one statement in its
              own transaction (the status UPDATE, the evidence rows and, with --issues > 0, the issues as
              one array per column, domains, daily counts, webhook events), release; the rows made
              storable and built. The scans are inserted and claimed (`scans.claim`) beforehand, outside the
              timed section.
  raw COPY    `conn.copy_records_to_table("evidence", …)` of identical rows (fresh scan ids), one
              transaction per scan, records built beforehand, the connection acquired outside the timing:
              the floor cost of the same number of commits, nothing else.
  bulk COPY   every row of the round in one COPY and one transaction: a ceiling, no per-scan commits.

Within a round the repository's and the raw COPY's transactions alternate, one scan each, into the same
table (emptied after a CHECKPOINT first), so the machine's other load weighs on both alike; an untimed
small round warms up first. Read "repo/raw" as the share of the raw per-scan COPY rate that the
repository code keeps (goal ≥ 0.90); the "median" row gives the median of the rounds' ratios. The gap
is the repository's per-scan extras (pool acquire/release, the status statement, building the
records). "bulk" shows how much of the cost is per transaction (round trips, commit) rather than per row.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg

from bench._report import arguments
from bench._servers import cancel_on_sigterm, scratch_pool
from scanfleet import ids
from scanfleet.config import Settings
from scanfleet.db import orgs, results, scans
from scanfleet.db.results import EVIDENCE_COLUMNS
from scanfleet.model import Evidence, Issue, Job, Outcome, Severity, Status

PAGE = "https://shop.example.com/"
THIRD_PARTIES = ["www.googletagmanager.com", "connect.facebook.net", "px.ads.example.net", "cdn.segment.com"]


def make_evidence(count: int) -> list[Evidence]:
    """Rows shaped like the worker's: mostly cookies (12-key details), some third parties and headers."""
    rows: list[Evidence] = []
    for seq in range(count):
        if seq % 10 < 7:
            name = f"_ga_cookie_{seq}"
            rows.append(
                Evidence(
                    kind="cookie",
                    severity=Severity.LOW,
                    title=f"Cookie {name} for shop.example.com",
                    details={
                        "name": name,
                        "domain": "shop.example.com",
                        "host_only": True,
                        "path": "/",
                        "expires": "2026-01-01T00:00:00+00:00",
                        "max_age": 31536000,
                        "session": False,
                        "secure": True,
                        "http_only": False,
                        "same_site": "Lax",
                        "set_by": PAGE,
                        "third_party": False,
                    },
                    location=PAGE,
                )
            )
        elif seq % 10 < 9:
            host = THIRD_PARTIES[seq % len(THIRD_PARTIES)]
            rows.append(
                Evidence(
                    kind="third_party",
                    severity=Severity.MEDIUM,
                    title=f"Third party {host} (img, script)",
                    details={
                        "host": host,
                        "registrable_domain": host.split(".", 1)[1],
                        "tags": ["img", "script"],
                        "count": 3,
                        "urls": [f"https://{host}/t/{seq}.js", f"https://{host}/p/{seq}.gif?u=1"],
                    },
                    location=PAGE,
                )
            )
        else:
            rows.append(
                Evidence(
                    kind="security_header",
                    severity=Severity.MEDIUM,
                    title="Content-Security-Policy is missing",
                    details={"header": "Content-Security-Policy", "present": False, "value": None, "url": PAGE},
                    location=PAGE,
                )
            )
    return rows


def make_outcome(evidence_rows: int, issue_rows: int) -> Outcome:
    evidence = make_evidence(evidence_rows)
    issues = [
        Issue(f"issue_{n}", Severity.LOW, f"Issue {n}", "An explanation a person can act on. " * 4, (n, n + 1))
        for n in range(issue_rows)
    ]
    return Outcome(Status.SUCCEEDED, final_url=PAGE, http_status=200, evidence=evidence, issues=issues)


def raw_records(scan_id: uuid.UUID, org_id: uuid.UUID, evidence: list[Evidence]) -> list[tuple[object, ...]]:
    """Exactly the tuples record_outcome COPYs, for a scan that has no row in `scans`."""
    created = ids.created_at(scan_id)
    return [
        (created, scan_id, seq, org_id, e.kind, e.severity.value, e.title, e.details, e.location)
        for seq, e in enumerate(evidence)
    ]


async def claimed_scans(pool: asyncpg.Pool, org_id: uuid.UUID, count: int) -> list[Job]:
    """`count` queued scans, inserted in one COPY and then claimed one by one as a worker would."""
    new = [ids.new_id() for _ in range(count)]
    async with pool.acquire() as conn:
        await conn.copy_records_to_table(
            "scans",
            records=[(scan_id, ids.created_at(scan_id), org_id, PAGE) for scan_id in new],
            columns=("id", "created_at", "org_id", "url"),
        )
    claimed = [await scans.claim(pool, scan_id, lease_seconds=60) for scan_id in new]
    return [scan for scan in claimed if scan is not None]


async def reset_tables(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await conn.execute("TRUNCATE evidence, issues")
        await conn.execute("CHECKPOINT")


async def timed(action: Callable[[], Awaitable[None]]) -> float:
    started = time.perf_counter()
    await action()
    return time.perf_counter() - started


async def one_round(pool: asyncpg.Pool, org_id: uuid.UUID, outcome: Outcome, count: int) -> dict[str, float]:
    """Seconds taken by each of the three writes of one round. The repository's and the raw COPY's
    transactions alternate, one scan each, so what else the machine does weighs on both alike."""
    claimed = await claimed_scans(pool, org_id, count)
    batches = [raw_records(ids.new_id(), org_id, outcome.evidence) for _ in range(count)]
    bulk = [row for _ in range(count) for row in raw_records(ids.new_id(), org_id, outcome.evidence)]
    seconds = {"repository": 0.0, "raw": 0.0}
    await reset_tables(pool)
    for scan, records in zip(claimed, batches, strict=True):
        started = time.perf_counter()
        if not await results.record_outcome(pool, scan, outcome):
            raise RuntimeError(f"scan {scan.id} was not written")
        seconds["repository"] += time.perf_counter() - started
        async with pool.acquire() as conn:  # held for the whole transaction on the raw side: not timed
            started = time.perf_counter()
            async with conn.transaction():
                await conn.copy_records_to_table("evidence", records=records, columns=EVIDENCE_COLUMNS)
            seconds["raw"] += time.perf_counter() - started

    async def bulk_copy() -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.copy_records_to_table("evidence", records=bulk, columns=EVIDENCE_COLUMNS)

    await reset_tables(pool)
    seconds["bulk"] = await timed(bulk_copy)
    return seconds


def rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}"


def table_row(label: str, rows: int, seconds: dict[str, float], ratio: float) -> str:
    return (
        f"{label:<26}{rate(rows, seconds['repository']):>13}{rate(rows, seconds['raw']):>13}"
        f"{ratio:>10.2f}{rate(rows, seconds['bulk']):>13}"
    )


async def run(pool: asyncpg.Pool, args: argparse.Namespace) -> None:
    rows = args.scans * args.rows
    org = await orgs.create(pool, "bench")
    outcome = make_outcome(args.rows, args.issues)
    print(
        f"evidence write: {args.scans:,} scans × {args.rows} rows = {rows:,} rows per run, "
        f"{args.issues} issues per scan, {args.rounds} rounds, one connection (pool of 1)\n"
    )
    header = f"{'round':<26}{'repository':>13}{'raw COPY':>13}{'repo/raw':>10}{'bulk COPY':>13}"
    print(f"{header}   (rows/s)\n{'-' * len(header)}")
    # Untimed warm-up: prepared statements, type introspection, the pool's connection.
    await one_round(pool, org.id, outcome, min(100, args.scans))
    results: list[dict[str, float]] = []
    ratios: list[float] = []  # per round: the two sides alternated scan by scan, so noise mostly cancels
    for number in range(1, args.rounds + 1):
        results.append(await one_round(pool, org.id, outcome, args.scans))
        ratios.append(results[-1]["raw"] / results[-1]["repository"])
        print(table_row(str(number), rows, results[-1], ratios[-1]), flush=True)
    median = {name: statistics.median(r[name] for r in results) for name in ("repository", "raw", "bulk")}
    ratio = statistics.median(ratios)
    print(f"{'-' * len(header)}\n{table_row('median', rows, median, ratio)}\n")
    repo_ms, raw_ms = (median[name] / args.scans * 1000 for name in ("repository", "raw"))
    print(f"per scan (median): repository {repo_ms:.2f} ms, raw COPY {raw_ms:.2f} ms, extras {repo_ms - raw_ms:.2f} ms")
    print(f"repository/raw = {ratio:.2f}, median of rounds ({'meets' if ratio >= 0.9 else 'MISSES'} the ≥ 0.90 goal)")


async def main(args: argparse.Namespace) -> None:
    cancel_on_sigterm()
    async with scratch_pool("bench-evidence-", Settings(db_pool_min_size=1, db_pool_max_size=1)) as pool:
        await run(pool, args)


def parse_args() -> argparse.Namespace:
    parser = arguments(__doc__)
    parser.add_argument("--scans", type=int, default=2000, help="scans (transactions) per run (default 2000)")
    parser.add_argument("--rows", type=int, default=60, help="evidence rows per scan (default 60)")
    parser.add_argument("--issues", type=int, default=0, help="issue rows per scan, repository side only (default 0)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, alternating which side goes first (default 3)")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
