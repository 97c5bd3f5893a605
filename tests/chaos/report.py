"""What a chaos run found, as one table (and the details behind any line that is not clean)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tests.chaos.checks import Verdict
from tests.chaos.faults import FaultResult
from tests.chaos.fleet import Exit
from tests.chaos.load import Ledger


@dataclass
class Report:
    config_name: str
    workers: int
    ledger: Ledger
    faults: list[FaultResult]
    verdict: Verdict
    settled: bool
    settle_seconds: float
    exits: list[Exit]
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)  # seconds spent starting, under faults, settling
    diagnostics: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """What the suite asserts: nothing written twice, nothing lost, no slot left held (so nothing unfinished)."""
        return self.duplicates == 0 and self.lost == 0 and self.slots_held == 0

    @property
    def duplicates(self) -> int:
        return len(self.verdict.duplicates)

    @property
    def lost(self) -> int:
        return len(self.verdict.lost)

    @property
    def slots_held(self) -> int:
        return sum(self.verdict.held.values())

    def table(self) -> str:
        """Short values only; the probes' and faults' particulars are in details()."""
        v, submissions = self.verdict, self.ledger.submissions
        accepted = self.ledger.accepted
        refused = Counter(s.refusal for s in submissions if not s.accepted)
        cancels = Counter(str(s.cancel_status) for s in accepted if s.cancel_status is not None)
        rows = [
            ("submissions", f"{len(submissions)} ({sum(s.origin == 'probe' for s in submissions)} of them probes)"),
            ("accepted (202)", str(len(accepted))),
            ("not accepted", f"{sum(refused.values())}  {_counts(refused)}"),
            ("completed", f"{sum(v.completed.values())}  {_counts(v.completed)}"),
            ("cancel requests (answers)", _counts(cancels) or "none"),
            ("failed by error code", _counts(v.failed_by_code) or "none"),
            ("duplicates found", str(self.duplicates)),
            ("lost", str(self.lost)),
            ("unfinished (held by the gate)", str(len(v.unfinished))),
            ("slots held", f"{self.slots_held}  {_counts(Counter(v.held))}".rstrip()),
            (
                "attempts (attempts×scans)",
                "; ".join(
                    f"{target} " + " ".join(f"{k}×{n}" for k, n in sorted(counts.items()))
                    for target, counts in sorted(v.attempt_counts.items())
                ),
            ),
            ("insane attempt counts", str(len(v.attempts))),
            ("unexpected outcomes", str(len(v.unexpected))),
            ("jobs in hand at kills/rolls", f"{v.interrupted} ({v.interrupted_unfinished} not final)"),
            ("scans without a 202", _counts(v.unacknowledged) or "none"),
            ("unexpected process exits", _counts(Counter(e.name for e in self.exits)) or "none"),
            ("settled after the stream", f"{self.settle_seconds:.1f} s" + ("" if self.settled else " (NOT settled)")),
        ]
        rows += [(f"recovery: {f.name}", _recovery(f)) for f in self.faults]
        width = max(len(name) for name, _ in rows)
        phases = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in self.phases.items())
        title = f"chaos run ({self.config_name}): {self.workers} workers, {self.seconds:.0f} s ({phases})"
        lines = [title, "-" * len(title)] + [f"{name:<{width}}  {value}" for name, value in rows]
        return "\n".join(lines)

    def details(self) -> str:
        problems = self.verdict.problems
        lines = [f"{p.kind}: {p.scan_id or '-'}: {p.detail}" for p in problems[:40]]
        if len(problems) > 40:
            lines.append(f"… and {len(problems) - 40} more")
        for fault in self.faults:
            lines += [f"{fault.name}: {note}" for note in [*fault.notes, f"probe: {fault.probe}"]]
        for exit_ in {e.name: e for e in reversed(self.exits)}.values():  # the first exit of each process
            lines.append(f"{exit_.name} exited with {exit_.returncode}; its last lines:")
            lines += [f"    {line}" for line in exit_.tail]
        return "\n".join(lines + self.diagnostics)


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{key} {n}" for key, n in counter.most_common())


def _recovery(fault: FaultResult) -> str:
    return "not recovered" if fault.recovered_in is None else f"{fault.recovered_in:.2f} s"
