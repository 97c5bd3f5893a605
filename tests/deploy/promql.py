"""What the deploy tests need to read from PromQL, the alert rules file and the dashboards, without a YAML or
PromQL library: the expressions there are written by us, in a regular shape these patterns rely on."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client.metrics import MetricWrapperBase

from scanfleet import metrics

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS / "rules" / "scanfleet.rules.yml"
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"

# Our metrics and Prometheus' own `up`; never inside a quoted label value.
_SELECTOR = re.compile(r'(?<![\w"-])(scanfleet_[a-z0-9_]+|up)\b(\{[^}]*\})?')
_MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
_VARIABLE = re.compile(r"\$\{?(\w+)\}?")


@dataclass(frozen=True)
class Selector:
    metric: str
    matchers: tuple[tuple[str, str, str], ...]  # (label, operator, value)

    def named_series(self) -> str:
        """The selector with only its equality matchers: the series it names, which must exist. Negative and
        regex matchers filter a class that may rightly be empty (no 5xx yet); they are left out."""
        equal = [f'{label}="{value}"' for label, op, value in self.matchers if op == "="]
        return f"{self.metric}{{{', '.join(equal)}}}" if equal else self.metric


def selectors(expr: str) -> list[Selector]:
    return [Selector(match[1], tuple(_MATCHER.findall(match[2] or ""))) for match in _SELECTOR.finditer(expr)]


def exported_names() -> set[str]:
    """Every sample name the platform can export (scanfleet.metrics), and `up`."""
    names = {"up"}
    suffixes = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            assert value._type is not None  # every concrete metric class has one
            names.update(value._name + suffix for suffix in suffixes[value._type])
    return names


def substitute(expr: str, values: dict[str, str]) -> str:
    """Grafana's template variables replaced by `values`; every variable in `expr` must have one."""

    def value(match: re.Match[str]) -> str:
        assert match[1] in values, f"no value for ${match[1]} in {expr}"
        return values[match[1]]

    return _VARIABLE.sub(value, expr)


@dataclass(frozen=True)
class Alert:
    name: str
    body: str  # the rule's YAML text

    @property
    def expr(self) -> str:
        found = re.search(r"expr:\s*\|?\s*\n?(.*?)\n\s*for:", self.body, re.S)
        assert found, f"{self.name}: no expr followed by for"
        return found[1]


def alerts() -> list[Alert]:
    """The alerting rules of the rules file, in order."""
    parts = re.split(r"\n\s*- alert:\s*", RULES.read_text())[1:]
    return [Alert(part.split("\n", 1)[0].strip(), part) for part in parts]


def dashboards() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel that queries (rows excluded), including panels folded into collapsed rows."""
    found: list[dict[str, Any]] = []
    for panel in dashboard["panels"]:
        found.extend(panel.get("panels", []) if panel["type"] == "row" else [panel])
    return found


def variables(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return list(dashboard["templating"]["list"])
