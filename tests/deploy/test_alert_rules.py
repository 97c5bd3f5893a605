"""The Prometheus configuration and alert rules, checked by Prometheus' own promtool: both parse, and the rules'
unit tests (deploy/prometheus/tests) pass. Each alert is complete and tested firing and staying quiet."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.deploy.promql import PROMETHEUS, RULES, Alert, alerts, exported_names, selectors
from tests.support.external import require_binary

RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_binary("promtool", "prometheus"), *args], capture_output=True, text=True, timeout=120
    )


def test_rules_parse() -> None:
    checked = _promtool("check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in checked.stdout


def test_config_parses_and_loads_the_rules() -> None:
    checked = _promtool("check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 1 rule files found" in checked.stdout


def test_rule_unit_tests_pass() -> None:
    assert RULE_TESTS
    tested = _promtool("test", "rules", *map(str, RULE_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr


@pytest.mark.parametrize("alert", alerts(), ids=lambda alert: alert.name)
def test_alert_waits_has_a_severity_and_explains_itself(alert: Alert) -> None:
    body = alert.body
    assert re.search(r"\n\s*for: [1-9]\d*[smh]\n", body), "a `for:` so one bad reading does not page"
    assert re.search(r"\n\s*severity: (warning|critical)\n", body)
    assert re.search(r"\n\s*summary: \S", body) and re.search(r"\n\s*description: \S", body)


@pytest.mark.parametrize("alert", alerts(), ids=lambda alert: alert.name)
def test_alert_reads_only_metrics_the_platform_exports(alert: Alert) -> None:
    used = {selector.metric for selector in selectors(alert.expr)}
    assert used and used <= exported_names(), used - exported_names()


@pytest.mark.parametrize("alert", alerts(), ids=lambda alert: alert.name)
def test_alert_is_tested_firing_and_quiet(alert: Alert) -> None:
    cases = "\n".join(path.read_text() for path in RULE_TESTS)
    name = re.escape(alert.name)
    assert re.search(rf"alertname: {name}\n\s*exp_alerts: \[\]\n", cases), "no case where it stays quiet"
    assert re.search(rf"alertname: {name}\n\s*exp_alerts:\n\s*- exp_labels:", cases), "no case where it fires"
