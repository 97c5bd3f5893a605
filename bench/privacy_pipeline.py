"""Scans per second of the privacy pipeline on one core, split into fetch, parse, match and write.

    python -m bench.privacy_pipeline [--scans 200] [--large-scans 20] [--large-mb 2]

Two pages: a typical one (≈50 KB: the shop front of bench.e2e_scans with a GTM and a GA4 snippet added)
and a large one (the same shop with --large-mb MB of product cards and a bundle-sized inline script).
For each page, each stage runs on its own, sequentially, in this one process, after an untimed warm-up:

  fetch  SafeFetcher.fetch() of the page from a FixtureSite on 127.0.0.1 (plain http). The site's
         server thread runs in this process too, so the time includes serving the page.
  parse  worker.privacy.document.parse_document(): the one HTML parse of a scan.
  match  collect_evidence() + evaluate(): every collector (blocklist checks, vendor signatures, forms,
         mixed content, links, headers, cookies, TLS, coverage) and the rule table. Registrable
         domains stay cached between scans, as they do in a worker.
  write  results.record_outcome() of the scan's outcome into an embedded PostgreSQL (a server process
         of its own, started in a temporary directory), over a pool of one connection.

"ms/scan" is the stage's mean; "scans/s" is what one core would do if that stage were all it did; the
"pipeline" column adds the four stages up, as one worker process doing one scan at a time would.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from ipaddress import ip_network

import asyncpg

from bench._report import arguments
from bench._servers import cancel_on_sigterm, scratch_pool
from bench.e2e_scans import shop_page
from bench.evidence_write import claimed_scans
from scanfleet.config import Settings
from scanfleet.db import orgs, results
from scanfleet.http import AddressPolicy, FetchLimits, FetchResult, SafeFetcher
from scanfleet.model import Outcome, Status
from scanfleet.worker.privacy.analyse import collect_evidence
from scanfleet.worker.privacy.document import parse_document
from scanfleet.worker.privacy.rules import evaluate
from tests.support.site import FixtureSite, html

STAGES = ("fetch", "parse", "match", "write")
HEADERS = (
    ("Set-Cookie", "session=abc123; Path=/; Secure; HttpOnly; SameSite=Lax"),
    ("Set-Cookie", "_ga=GA1.1.123.456; Max-Age=63072000; Path=/"),
    ("Strict-Transport-Security", "max-age=31536000"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
)
SNIPPETS = (
    "<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':new Date().getTime(),event:'gtm.js'});"
    "var f=d.getElementsByTagName(s)[0],j=d.createElement(s);j.async=true;"
    "j.src='https://www.googletagmanager.com/gtm.js?id='+i;f.parentNode.insertBefore(j,f);"
    "})(window,document,'script','dataLayer','GTM-K4X9PQ2');</script>"
    "<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}"
    "gtag('js',new Date());gtag('config','G-7XK2M9QW4R');</script>"
)
# A stand-in for an inlined JavaScript bundle: code the vendor signatures must scan and not match.
BUNDLE_LINE = "function f{n}(a,b){{var c=a.map(function(x){{return x*{n}+b}});return c.filter(Boolean).length}}\n"


def page_html(size: int, inline_share: float) -> str:
    """The shop front grown to about `size` bytes, `inline_share` of it one inline script."""
    base, grown = len(shop_page(0)), len(shop_page(100))
    bundle = "".join(BUNDLE_LINE.format(n=n) for n in range(int(size * inline_share / len(BUNDLE_LINE))))
    products = max(0, int((size - base - len(bundle) - len(SNIPPETS)) * 100 / (grown - base)))
    return shop_page(products).replace("</head>", f"{SNIPPETS}<script>{bundle}</script></head>", 1)


async def timed(count: int, step: Callable[[int], Awaitable[object]]) -> float:
    """Seconds for `count` sequential calls of `step(index)`."""
    started = time.perf_counter()
    for index in range(count):
        await step(index)
    return time.perf_counter() - started


async def measure(
    name: str, url: str, count: int, fetcher: SafeFetcher, pool: asyncpg.Pool, org_id: uuid.UUID
) -> dict[str, float]:
    """Mean seconds per scan of each stage for the page at `url`."""
    result: FetchResult = await fetcher.fetch(url)
    document = parse_document(result)
    now = datetime.now(UTC)
    evidence = collect_evidence(result, document, now)
    outcome = Outcome(Status.SUCCEEDED, result.final.url, 200, evidence=evidence, issues=evaluate(evidence))
    claimed = await claimed_scans(pool, org_id, count + 1)
    await results.record_outcome(pool, claimed[-1], outcome)  # warm-up: prepared statements, the pool's connection

    async def fetch(_: int) -> None:
        await fetcher.fetch(url)

    async def parse(_: int) -> None:
        parse_document(result)

    async def match(_: int) -> None:
        # A fresh Document each time: its cached third-party grouping is part of the match cost.
        evaluate(collect_evidence(result, replace(document) if document else None, now))

    async def write(index: int) -> None:
        if not await results.record_outcome(pool, claimed[index], outcome):
            raise RuntimeError(f"scan {claimed[index].id} was not written")

    steps = {"fetch": fetch, "parse": parse, "match": match, "write": write}
    seconds = {stage: await timed(count, steps[stage]) / count for stage in STAGES}
    kilobytes = len(result.body) / 1024
    print(
        f"{name:<9}{kilobytes:>9,.0f}{len(evidence):>6}{len(outcome.issues):>8}{count:>7}"
        + "".join(f"{seconds[stage] * 1000:>9.2f}" for stage in STAGES)
        + f"{sum(seconds.values()) * 1000:>10.2f}",
        flush=True,
    )
    return seconds


async def run(pool: asyncpg.Pool, args: argparse.Namespace) -> None:
    org = await orgs.create(pool, "bench")
    policy = AddressPolicy((ip_network("127.0.0.0/8"),))
    pages = {
        "typical": (page_html(50 * 1024, 0.0), args.scans),
        "large": (page_html(args.large_mb << 20, 0.1), args.large_scans),
    }
    with FixtureSite() as site:
        urls = {name: site.add(f"/{name}", html(body, *HEADERS)) for name, (body, _) in pages.items()}
        async with SafeFetcher(FetchLimits(max_bytes=(args.large_mb + 1) << 20), policy) as fetcher:
            header = f"{'page':<9}{'KB':>9}{'rows':>6}{'issues':>8}{'scans':>7}" + "".join(
                f"{stage:>9}" for stage in STAGES
            )
            print(f"ms per scan, one stage at a time, sequential\n{header}{'pipeline':>10}\n{'-' * (len(header) + 10)}")
            results = {
                name: await measure(name, urls[name], count, fetcher, pool, org.id)
                for name, (_, count) in pages.items()
            }
    header = f"{'page':<9}" + "".join(f"{stage:>9}" for stage in STAGES) + f"{'pipeline':>10}"
    print(f"\nscans/s on one core (1 / mean seconds per scan)\n{header}\n{'-' * len(header)}")
    for name, seconds in results.items():
        rates = "".join(f"{1 / seconds[stage]:>9,.0f}" for stage in STAGES)
        print(f"{name:<9}{rates}{1 / sum(seconds.values()):>10,.1f}")
    print("\nshare of the pipeline's time")
    for name, seconds in results.items():
        total = sum(seconds.values())
        print(f"{name:<9}" + "".join(f"{stage} {seconds[stage] / total:>4.0%}   " for stage in STAGES).rstrip())


async def main(args: argparse.Namespace) -> None:
    cancel_on_sigterm()
    async with scratch_pool("bench-privacy-", Settings(db_pool_min_size=1, db_pool_max_size=1)) as pool:
        await run(pool, args)


def parse_args() -> argparse.Namespace:
    parser = arguments(__doc__)
    parser.add_argument("--scans", type=int, default=200, help="scans of the typical page per stage (default 200)")
    parser.add_argument("--large-scans", type=int, default=20, help="scans of the large page per stage (default 20)")
    parser.add_argument("--large-mb", type=int, default=2, help="size of the large page in MiB (default 2)")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
