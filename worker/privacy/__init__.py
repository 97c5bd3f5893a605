"""Privacy analysis of a fetched page: evidence collectors plus the rules that turn evidence into issues."""

from scanfleet.worker.privacy.analyse import EVIDENCE_KINDS, analyse

__all__ = ["EVIDENCE_KINDS", "analyse"]
