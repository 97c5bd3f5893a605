"""Test runs: a suite of HTTP, TLS, TCP, heartbeat and browser steps with assertions, validated here (no I/O) and
executed by worker.checks."""

from scanfleet.checks.assertions_model import Assertion
from scanfleet.checks.errors import SuiteError, SuiteIssue, issue_path
from scanfleet.checks.heartbeat import HeartbeatState
from scanfleet.checks.steps import BrowserStep, HeartbeatStep, HttpStep, TcpStep, TlsStep
from scanfleet.checks.suite import MAX_STEPS, Step, Suite, parse_suite, suite_engine

__all__ = [
    "MAX_STEPS",
    "Assertion",
    "BrowserStep",
    "HeartbeatState",
    "HeartbeatStep",
    "HttpStep",
    "Step",
    "Suite",
    "SuiteError",
    "SuiteIssue",
    "TcpStep",
    "TlsStep",
    "issue_path",
    "parse_suite",
    "suite_engine",
]
