"""The Grafana dashboards: generated from deploy/grafana/generate.py and up to date with it, provisionable as files
(the data source a template variable, never an import-time `${DS_...}` input), readable (units, legends, headline
numbers), and querying only metrics the platform exports. Their queries run against a real Prometheus in
test_live_metrics.py."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.deploy.promql import DASHBOARDS, ROOT, dashboards, exported_names, panels, selectors, variables

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
BY_FILE = dashboards()


def test_the_json_is_what_the_generator_writes() -> None:
    checked = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "grafana" / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_five_dashboards_exist_with_distinct_uids() -> None:
    assert set(BY_FILE) == {"overview.json", "queues.json", "failures.json", "storage.json", "api.json"}
    uids = [dashboard["uid"] for dashboard in BY_FILE.values()]
    assert len(set(uids)) == len(uids)


@pytest.mark.parametrize("name", BY_FILE)
def test_the_data_source_is_a_template_variable(name: str) -> None:
    dashboard = BY_FILE[name]
    text = (DASHBOARDS / name).read_text()
    assert "__inputs" not in dashboard and "${DS_" not in text
    datasource = [v for v in variables(dashboard) if v["type"] == "datasource"]
    assert [(v["name"], v["query"]) for v in datasource] == [("datasource", "prometheus")]
    for panel in panels(dashboard):
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert all(target["datasource"] == DATASOURCE for target in panel["targets"]), panel["title"]
    for variable in variables(dashboard):
        if variable["type"] == "query":
            assert variable["datasource"] == DATASOURCE, variable["name"]


@pytest.mark.parametrize("name", BY_FILE)
def test_panels_read_at_a_glance(name: str) -> None:
    dashboard = BY_FILE[name]
    shown = panels(dashboard)
    assert any(panel["type"] == "stat" for panel in shown), "headline numbers"
    assert dashboard["panels"][0]["type"] == "row", "panels sit in titled rows"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(set(ids)) == len(ids)
    for panel in shown:
        assert panel["title"] and panel["description"], panel
        assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        refs = [target["refId"] for target in panel["targets"]]
        assert panel["targets"] and len(set(refs)) == len(refs), panel["title"]
        if panel["type"] == "timeseries" and len(panel["targets"]) > 1:
            legends = [target["legendFormat"] for target in panel["targets"]]
            assert all(legends) and len(set(legends)) == len(legends), panel["title"]


def _overlaps(a: dict[str, int], b: dict[str, int]) -> bool:
    across = a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
    return across and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]


@pytest.mark.parametrize("name", BY_FILE)
def test_no_panel_covers_another(name: str) -> None:
    grids = [panel["gridPos"] for panel in BY_FILE[name]["panels"]]
    assert not [(a, b) for n, a in enumerate(grids) for b in grids[n + 1 :] if _overlaps(a, b)]


@pytest.mark.parametrize("name", BY_FILE)
def test_queries_read_only_metrics_the_platform_exports(name: str) -> None:
    dashboard = BY_FILE[name]
    exprs = [target["expr"] for panel in panels(dashboard) for target in panel["targets"]]
    exprs += [v["definition"] for v in variables(dashboard) if v["type"] == "query"]
    used = {selector.metric for expr in exprs for selector in selectors(expr)}
    assert used <= exported_names(), used - exported_names()
