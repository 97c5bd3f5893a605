"""Recovery time after each chaos fault, on the real processes under a steady stream of submissions.

    python -m bench.chaos_recovery [--short] [--workers N] [--workdir DIR]

Runs the chaos suite's harness (tests/chaos): its own embedded PostgreSQL and Valkey in a temporary
directory, fixture targets on loopback (fast, slow, a 500-half-the-time and a never-answering one),
`python -m scanfleet.api`, N × `python -m scanfleet.worker` and `python -m scanfleet.scheduler`, and several
organisations of different tiers submitting through the HTTP API. The faults run in order — workers SIGKILLed
mid-job, Valkey restarted with its data kept and then lost, PostgreSQL stopped (30 s in the full run), all
workers rolled twice.

Recovery after a fault = from the fault's end until a probe scan of the fast target, submitted right after
it, is final (it includes the probe's own run, tens of milliseconds). The first table is the suite's: what
was submitted, accepted, completed, failed by error code, duplicates and lost (both must be 0); the second
lists the recovery per fault. Everything shares one machine, so figures are upper bounds of the platform's
own reaction times (lease 1.5 s, reaper every 0.2 s, reconciliation after 3 s in the harness's settings).
"""

from __future__ import annotations

import sys

from tests.chaos.__main__ import parse, run


def main() -> int:
    report = run(parse())
    print(report.table())
    print("\nrecovery per fault")
    width = max(len(fault.name) for fault in report.faults)
    for fault in report.faults:
        seconds = "not recovered" if fault.recovered_in is None else f"{fault.recovered_in:7.2f} s"
        print(f"  {fault.name:<{width}}  {seconds}  ({fault.probe})")
    return 0 if report.clean else 1


if __name__ == "__main__":
    sys.exit(main())
