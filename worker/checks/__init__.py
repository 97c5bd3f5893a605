"""Test runs executed: each step through the SSRF guard, judged by its assertions, recorded as evidence."""

from scanfleet.worker.checks.env import CheckEnv
from scanfleet.worker.checks.runner import SuiteResult, run_suite
from scanfleet.worker.checks.tls_step import check_context

__all__ = ["CheckEnv", "SuiteResult", "check_context", "run_suite"]
