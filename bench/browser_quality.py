"""Detection quality on the browser corpus: precision and recall per evidence kind and per issue code, for the
static view (the http engine) and the runtime view (the browser engine) of the same pages.

    python -m bench.browser_quality [--settle 0.5] [--pages 2]

Serves the browser corpus (tests/corpus/browser_pages.py) on its fake internet (one HTTP and one HTTPS server on
127.0.0.1 answering for every host, reached through SCANFLEET_FETCH_RESOLVE, a test CA trusted through
SCANFLEET_FETCH_CA_FILE) and scans every page twice, with each engine as a worker builds it from the same
settings: the http engine (fetch through the SSRF guard, analyse the served HTML) and the browser engine
(Chromium through the guarded proxy, --pages pages at once). No API, queue or database: this measures what the
engines find, not the platform.

Both are scored against the corpus truth, what each page really does (its rows and issue codes, known misses of
the browser included, its spurious rows left out). A reported row is paired one to one with a truth row of its
kind that has the same identifying details (tests/corpus/scoring.IDENTITY: a request by URL, a cookie by name
and domain, storage by origin and area, a tracker by vendor and host, …): a finding counts as found whatever
else an engine says of it. Precision = TP / (TP + FP), recall = TP / (TP + FN); "—" where an engine reported
nothing of a kind. Issue codes are compared as sets per page. Kinds only a browser records (request,
browser_cookie, storage, fingerprinting, key_logging, session_recording) have recall 0 in the static view by
construction: the table shows how much of what the pages do only a browser sees.

Fails (exit status 1, no table) if a page was not scanned by either engine: a scan that failed is not a result.
The misses and false alarms of the browser engine are listed by page at the end.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import trustme

from bench._report import arguments, table
from scanfleet.config import Settings
from scanfleet.model import Outcome, Status
from scanfleet.worker.app import fetcher_for
from scanfleet.worker.browser import browse, limits_for, runtime_for
from scanfleet.worker.browser.evidence import BROWSER_EVIDENCE_KINDS
from scanfleet.worker.privacy.rules import RULES
from scanfleet.worker.scan import scan_url
from tests.corpus.browser_internet import corpus_internet
from tests.corpus.browser_pages import PAGES
from tests.corpus.model import BrowserPage
from tests.corpus.scoring import IDENTITY, as_api_row, identity, match

ENGINES = ("static", "runtime")
KINDS = tuple(IDENTITY)  # the static kinds first, then those only a browser records


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, tp: int, fp: int, fn: int) -> None:
        self.tp, self.fp, self.fn = self.tp + tp, self.fp + fp, self.fn + fn

    def cells(self) -> list[str]:
        precision = f"{self.tp / (self.tp + self.fp):.2f}" if self.tp + self.fp else "—"
        recall = f"{self.tp / (self.tp + self.fn):.2f}" if self.tp + self.fn else "—"
        return [str(self.tp), str(self.fp), str(self.fn), precision, recall]


def score_evidence(page: BrowserPage, reported: Sequence[dict[str, Any]], kind: str) -> tuple[Score, list[str]]:
    truth = [identity(row) for row in page.all_rows if row.truth and row.kind == kind]
    result = match(truth, [row for row in reported if row["kind"] == kind])
    score = Score(result.matched, len(result.unmatched_reported), len(result.unmatched_expected))
    notes = [f"missed {kind} {dict(row.details)}" for row in result.unmatched_expected]
    notes += [f"false {kind} {row['title']!r}" for row in result.unmatched_reported]
    return score, notes


async def scan_pages(settings: Settings, pages: int) -> dict[str, dict[str, Outcome]]:
    """Every corpus page by both engines; the browser runs `pages` pages at once."""
    outcomes: dict[str, dict[str, Outcome]] = {engine: {} for engine in ENGINES}
    async with fetcher_for(settings) as fetcher:
        for page in PAGES:
            outcomes["static"][page.name] = await scan_url(fetcher, page.url)
    limits = limits_for(settings)
    waiting = iter(PAGES)
    async with runtime_for(settings) as runtime:

        async def loop() -> None:
            for page in waiting:
                outcomes["runtime"][page.name] = await browse(runtime, page.url, limits)

        await asyncio.gather(*(loop() for _ in range(pages)))
    return outcomes


def report(outcomes: dict[str, dict[str, Outcome]]) -> None:
    kinds = {engine: {kind: Score() for kind in KINDS} for engine in ENGINES}
    codes = {engine: {rule.code: Score() for rule in RULES} for engine in ENGINES}
    notes: list[str] = []
    for page in PAGES:
        for engine in ENGINES:
            outcome = outcomes[engine][page.name]
            reported = [as_api_row(row) for row in outcome.evidence]
            for kind in KINDS:
                score, found = score_evidence(page, reported, kind)
                kinds[engine][kind].add(score.tp, score.fp, score.fn)
                notes += [f"{page.name}: {note}" for note in found] if engine == "runtime" else []
            issued = {issue.code for issue in outcome.issues}
            for code, counts in codes[engine].items():
                true, said = code in page.true_issues, code in issued
                counts.add(int(true and said), int(said and not true), int(true and not said))
            if engine == "runtime":
                notes += [f"{page.name}: missed issue {code}" for code in sorted(page.true_issues - issued)]
                notes += [f"{page.name}: false issue {code}" for code in sorted(issued - page.true_issues)]

    header = ["", "truth", *(f"{engine} {cell}" for engine in ENGINES for cell in ("TP", "FP", "FN", "P", "R"))]

    def rows(scores: dict[str, dict[str, Score]], names: Sequence[str]) -> list[list[object]]:
        lines: list[list[object]] = []
        for name in names:
            runtime = scores["runtime"][name]
            truth = runtime.tp + runtime.fn
            if truth or any(scores[engine][name].fp for engine in ENGINES):
                lines.append([name, truth, *(cell for engine in ENGINES for cell in scores[engine][name].cells())])
        totals = {engine: Score() for engine in ENGINES}
        for engine in ENGINES:
            for name in names:
                score = scores[engine][name]
                totals[engine].add(score.tp, score.fp, score.fn)
        truth = totals["runtime"].tp + totals["runtime"].fn
        return [*lines, ["all", truth, *(cell for engine in ENGINES for cell in totals[engine].cells())]]

    static_kinds = [kind for kind in KINDS if kind not in BROWSER_EVIDENCE_KINDS]
    print(f"browser detection quality: {len(PAGES)} corpus pages, each scanned by the http engine (static) and the")
    print("browser engine (runtime); rows paired by their identifying details (bench docstring)\n")
    print("evidence kinds the http engine records too")
    print(table(["kind", *header[1:]], rows(kinds, static_kinds)))
    print("\nevidence kinds only a browser records")
    print(table(["kind", *header[1:]], rows(kinds, list(BROWSER_EVIDENCE_KINDS))))
    print("\nissue codes (codes neither engine reports nor any page has are left out)")
    print(table(["code", *header[1:]], rows(codes, [rule.code for rule in RULES])))
    print("\nthe browser engine's misses and false alarms:" if notes else "\nno misses, no false alarms")
    for note in notes:
        print(f"  {note}")


async def main(settle: float, pages: int) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-browser-quality-") as directory:
        ca = trustme.CA()
        ca_file = Path(directory) / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        with corpus_internet(ca) as internet:
            settings = Settings(
                _env_file=None,
                fetch_resolve=internet.resolve_map,
                fetch_allow_networks=[ip_network("127.0.0.1/32")],
                fetch_ca_file=ca_file,
                browser_settle_seconds=settle,
            )
            outcomes = await scan_pages(settings, pages)
    unscanned = [
        f"{page.name} ({engine}: {outcome.error_code if outcome else 'no outcome'})"
        for engine in ENGINES
        for page in PAGES
        if (outcome := outcomes[engine].get(page.name)) is None or outcome.status is not Status.SUCCEEDED
    ]
    if unscanned:
        print(f"bench.browser_quality: pages not scanned, nothing reported: {', '.join(unscanned)}", file=sys.stderr)
        return 1
    report(outcomes)
    return 0


if __name__ == "__main__":
    parser = arguments(__doc__)
    parser.add_argument("--settle", type=float, default=0.5, help="seconds a page is watched after load (default 0.5)")
    parser.add_argument("--pages", type=int, default=2, help="pages the browser runs at once (default 2)")
    options = parser.parse_args()
    sys.exit(asyncio.run(main(options.settle, options.pages)))
