"""Privacy detection quality on the corpus: precision and recall per evidence kind and per issue code.

    python -m bench.privacy_quality

Runs analyse() over every page of tests/corpus offline (each page built as a FetchResult with the
headers, body and certificate its corpus server would give, no network) and compares with the truth the
corpus records, known misses included. Evidence rows are paired one to one with the truth rows they
match (kind, the listed details, severity); issue codes are compared as sets per page.

Precision = TP / (TP + FP), recall = TP / (TP + FN). Kinds the corpus lists only in part (redirect,
final_url, security_header) get recall only: an unlisted row there is not a false positive.
The misses and false alarms are listed by page at the end, so a number below 1 reads as a cause.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from scanfleet.worker.privacy import analyse
from scanfleet.worker.privacy.rules import RULES
from tests.corpus.model import EXHAUSTIVE_KINDS, PARTIAL_KINDS
from tests.corpus.offline import fetch_result
from tests.corpus.pages import PAGES
from tests.corpus.scoring import as_api_row, match


def ratio(numerator: int, denominator: int) -> str:
    return f"{numerator / denominator:.2f}" if denominator else "—"


def table(title: str, counts: dict[str, Counter[str]], names: list[str], with_precision: set[str]) -> None:
    header = f"{title:<32}{'truth':>7}{'TP':>6}{'FP':>6}{'FN':>6}{'precision':>11}{'recall':>8}"
    print(f"{header}\n{'-' * len(header)}")
    total: Counter[str] = Counter()
    for name in names:
        tp, fp, fn = (counts[name][key] for key in ("tp", "fp", "fn"))
        precision = ratio(tp, tp + fp) if name in with_precision else "—"
        fp_text = str(fp) if name in with_precision else "—"
        print(f"{name:<32}{tp + fn:>7}{tp:>6}{fp_text:>6}{fn:>6}{precision:>11}{ratio(tp, tp + fn):>8}")
        if name in with_precision:
            total.update(counts[name])
    tp, fp, fn = total["tp"], total["fp"], total["fn"]
    print(
        f"{'-' * len(header)}\n{'all (precision-scored rows)':<32}{tp + fn:>7}{tp:>6}{fp:>6}{fn:>6}"
        f"{ratio(tp, tp + fp):>11}{ratio(tp, tp + fn):>8}\n"
    )


def main() -> None:
    now = datetime.now(UTC)
    kinds: dict[str, Counter[str]] = {kind: Counter() for kind in (*EXHAUSTIVE_KINDS, *PARTIAL_KINDS)}
    codes: dict[str, Counter[str]] = {rule.code: Counter() for rule in RULES}
    notes: list[str] = []
    for page in PAGES:
        evidence, issues = analyse(fetch_result(page, now), now)
        reported = [as_api_row(row) for row in evidence]
        for kind, counts in kinds.items():
            truth = [row for row in page.all_rows if row.truth and row.kind == kind]
            result = match(truth, [row for row in reported if row["kind"] == kind])
            counts.update(tp=result.matched, fn=len(result.unmatched_expected))
            notes += [f"{page.name}: missed {row.kind} {dict(row.details)}" for row in result.unmatched_expected]
            if kind in EXHAUSTIVE_KINDS:
                counts.update(fp=len(result.unmatched_reported))
                notes += [f"{page.name}: false {row['kind']} {row['title']!r}" for row in result.unmatched_reported]
        found = {issue.code for issue in issues}
        for code, counts in codes.items():
            counts.update(
                tp=int(code in found and code in page.true_issues),
                fp=int(code in found and code not in page.true_issues),
                fn=int(code not in found and code in page.true_issues),
            )
        notes += [f"{page.name}: missed issue {code}" for code in sorted(page.true_issues - found)]
        notes += [f"{page.name}: false issue {code}" for code in sorted(found - page.true_issues)]

    print(f"privacy detection quality: {len(PAGES)} corpus pages, analysed offline\n")
    table("evidence kind", kinds, list(kinds), set(EXHAUSTIVE_KINDS))
    table("issue code", codes, list(codes), set(codes))
    print("misses and false alarms:" if notes else "no misses, no false alarms")
    for note in notes:
        print(f"  {note}")


if __name__ == "__main__":
    main()
