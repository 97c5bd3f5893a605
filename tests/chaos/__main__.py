"""`python -m tests.chaos [--short] [--workdir DIR]`: a chaos run, its table, and a non-zero exit on
a duplicate, a lost job or a slot left held. The full run (default) keeps PostgreSQL down for 30 s,
kills workers five times and takes a few minutes; --short is the version CI runs."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from dataclasses import replace
from pathlib import Path

from tests.chaos.config import FULL, SHORT
from tests.chaos.harness import run_chaos, workdir_for
from tests.chaos.report import Report


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--short", action="store_true", help="the short version (well under two minutes)")
    parser.add_argument("--workers", type=int, help="worker processes (default: the version's)")
    parser.add_argument("--workdir", type=Path, help="where servers' data and logs go (kept); default: a temp dir")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> Report:
    config = SHORT if args.short else FULL
    if args.workers:
        config = replace(config, workers=args.workers)
    workdir = workdir_for(args.workdir)
    print(f"chaos run ({config.name}); servers' data and logs in {workdir}", flush=True)
    report = asyncio.run(run_chaos(config, workdir))
    if args.workdir is None and report.clean:
        shutil.rmtree(workdir, ignore_errors=True)
    return report


def main() -> int:
    report = run(parse())
    print(report.table())
    details = report.details()
    if details:
        print("\n" + details)
    return 0 if report.clean else 1


if __name__ == "__main__":
    sys.exit(main())
