"""The README's metrics catalogue lists exactly the metrics scanfleet/metrics.py defines, as they are defined."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.metrics import MetricWrapperBase

from scanfleet import metrics

README = Path(__file__).resolve().parents[2] / "README.md"
PROCESSES = {"api", "worker", "scheduler", "supervisor"}
# A label whose values are ids grows a series per job, scan or organisation.
ID_LIKE = re.compile(r"(^|_)(id|ids|uuid|key)$")


@dataclass(frozen=True)
class Entry:
    type: str
    labels: tuple[str, ...]
    unit: str
    exporters: frozenset[str]


def _defined() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Exposed name -> (type, label names), for every metric object in scanfleet/metrics.py."""
    found = {}
    for metric in vars(metrics).values():
        if isinstance(metric, MetricWrapperBase):
            family = next(iter(metric.describe()))
            name = family.name + "_total" if family.type == "counter" else family.name
            found[name] = (family.type, tuple(metric._labelnames))
    return found


def _catalogue() -> dict[str, Entry]:
    text = README.read_text()
    section = text[text.index("\n## Metrics\n") :]
    section = section[: section.index("\n## ", 1)]
    entries = {}
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        name, type_, labels, unit, exporters = (cell.strip() for cell in line.strip("|").split("|")[:5])
        entries[name.strip("`")] = Entry(
            type_,
            tuple(label.strip() for label in labels.split(",") if label.strip()),
            unit,
            frozenset(process.strip() for process in exporters.split(",")),
        )
    return entries


def test_every_defined_metric_is_in_the_readme_and_nothing_else() -> None:
    defined, listed = set(_defined()), set(_catalogue())
    assert sorted(defined - listed) == [], "metrics missing from the README's table"
    assert sorted(listed - defined) == [], "the README lists metrics that do not exist"


@pytest.mark.parametrize("name", sorted(_defined()))
def test_the_readme_states_each_metric_as_defined(name: str) -> None:
    type_, labels = _defined()[name]
    entry = _catalogue().get(name)
    if entry is None:
        pytest.fail(f"{name} is not in the README's table")
    assert (entry.type, entry.labels) == (type_, labels)
    assert entry.unit, "every metric names its unit"
    for suffix in ("seconds", "days"):
        if name.endswith(f"_{suffix}"):
            assert entry.unit == suffix
    assert entry.exporters and entry.exporters <= PROCESSES


@pytest.mark.parametrize("name", sorted(_defined()))
def test_no_label_is_an_id(name: str) -> None:
    _, labels = _defined()[name]
    assert [label for label in labels if ID_LIKE.search(label)] == []
