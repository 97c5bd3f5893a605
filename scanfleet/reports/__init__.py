"""Reports people can read: a job's results as one self-contained HTML page (or its PDF), and share links to it."""

from scanfleet.reports.pdf import PdfPrinter, PdfUnavailable
from scanfleet.reports.render import POLICY, run_report, scan_report

__all__ = ["POLICY", "PdfPrinter", "PdfUnavailable", "run_report", "scan_report"]
