"""Every metric a Grafana dashboard queries is one the services emit, and every one they emit is shown.

The emitted metrics are the table in animas_core.instruments (tests/e2e/test_metrics.py shows each
one arriving at an OTLP collector from a real system); their Prometheus names follow the
collector's translation (dots to underscores, the unit as a word, ``_total`` on counters,
``_bucket``/``_sum``/``_count`` for histograms). The dashboards are provisioned in compose and in
Kubernetes from the same folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped, unused-ignore]

from animas_core.instruments import INSTRUMENTS
from animas_tools.dashboards import DASHBOARDS, dashboard_metrics, queried_metrics, queries

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / DASHBOARDS
EMITTED = {series for spec in INSTRUMENTS for series in spec.prometheus_series()}


def _load(name: str) -> dict[str, Any]:
    return dict(json.loads((FOLDER / name).read_text(encoding="utf-8")))


def _unknown(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, metric) for every queried metric the services do not emit."""
    return [
        (where, name)
        for where, query in queries(dashboard)
        for name in sorted(queried_metrics(query))
        if name not in EMITTED
    ]


@pytest.mark.parametrize(
    ("expr", "metrics"),
    [
        ("sum by (outcome) (rate(animaworks_cycles_total[5m])) * 60", {"animaworks_cycles_total"}),
        (
            "histogram_quantile(0.99, sum by (le, kind) "
            '(rate(a_seconds_bucket{kind="cron"}[$__rate_interval])))',
            {"a_seconds_bucket"},
        ),
        ("sum(rate(x_sum[5m])) / sum(rate(x_count[5m] offset 1h)) > 1e3", {"x_sum", "x_count"}),
        ('topk(10, max by (durable) (lag)) or on (durable) vector(0) and b{a=~"c|d"}', {"lag", "b"}),
        ("label_values(animaworks_cycles_total, anima)", {"animaworks_cycles_total"}),
        ('count_over_time(m{anima="$anima"}[${__range}])', {"m"}),
    ],
)
def test_metric_names_are_read_out_of_promql(expr: str, metrics: set[str]) -> None:
    assert queried_metrics(expr) == metrics


def test_the_three_dashboards_are_there() -> None:
    titles = {name: _load(name)["title"] for name in dashboard_metrics(FOLDER)}
    assert set(titles) == {"organization-overview.json", "anima.json", "bus.json"}
    assert len({_load(name)["uid"] for name in titles}) == 3


@pytest.mark.parametrize("name", sorted(p.name for p in FOLDER.glob("*.json")))
def test_every_metric_a_dashboard_queries_is_emitted(name: str) -> None:
    dashboard = _load(name)
    assert list(queries(dashboard)), f"{name} queries nothing"
    assert _unknown(dashboard) == []


def test_a_dashboard_querying_a_metric_nobody_emits_is_caught() -> None:
    dashboard = _load("bus.json")
    dashboard["panels"][0]["targets"][0]["expr"] = "max by (durable) (animaworks_consumer_lags)"
    assert _unknown(dashboard) == [("panel 'Lag by durable' target A", "animaworks_consumer_lags")]


def test_every_emitted_metric_is_on_some_dashboard() -> None:
    shown = set().union(*dashboard_metrics(FOLDER).values())
    assert [spec.name for spec in INSTRUMENTS if not shown & set(spec.prometheus_series())] == []


def test_the_anima_dashboard_is_templated_by_anima() -> None:
    dashboard = _load("anima.json")
    (variable,) = dashboard["templating"]["list"]
    assert (variable["name"], variable["type"]) == ("anima", "query")
    for where, query in queries(dashboard):
        if where.startswith("panel"):
            assert 'anima="$anima"' in query, where


def test_panels_read_the_provisioned_prometheus_datasource() -> None:
    datasources = yaml.safe_load((ROOT / "infra/observability/grafana/datasources.yaml").read_text())
    uids = {d["uid"]: d["type"] for d in datasources["datasources"]}
    for name in dashboard_metrics(FOLDER):
        dashboard = _load(name)
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                assert target["datasource"] == {"type": "prometheus", "uid": "prometheus"}
        for variable in dashboard["templating"]["list"]:
            assert variable["datasource"]["uid"] in uids
    assert uids["prometheus"] == "prometheus"


def test_compose_and_kubernetes_provision_every_dashboard() -> None:
    kustomization = yaml.safe_load((ROOT / "infra/observability/kustomization.yaml").read_text())
    generated = {g["name"]: g["files"] for g in kustomization["configMapGenerator"]}
    files = {entry.split("=", 1)[1] for entry in generated["grafana-dashboards"]}
    assert files == {f"grafana/dashboards/{p.name}" for p in FOLDER.glob("*.json")}
    providers = yaml.safe_load((ROOT / "infra/observability/grafana/dashboards.yaml").read_text())
    (provider,) = providers["providers"]
    mounted_at = provider["options"]["path"]

    grafana = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["grafana"]
    assert f"./{DASHBOARDS}:{mounted_at}:ro" in grafana["volumes"]
    assert any(
        v.endswith(":/etc/grafana/provisioning/dashboards/dashboards.yaml:ro") for v in grafana["volumes"]
    )

    k8s = list(yaml.safe_load_all((ROOT / "infra/k8s/observability.yaml").read_text()))
    (deployment,) = [o for o in k8s if o and o["kind"] == "Deployment" and o["metadata"]["name"] == "grafana"]
    spec = deployment["spec"]["template"]["spec"]
    volumes = {v["name"]: v.get("configMap", {}).get("name") for v in spec["volumes"]}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in spec["containers"][0]["volumeMounts"]}
    assert mounts[mounted_at] == "grafana-dashboards"
    assert mounts["/etc/grafana/provisioning/dashboards"] == "grafana-dashboard-providers"


def test_the_collector_serves_metrics_where_prometheus_scrapes() -> None:
    collector = yaml.safe_load((ROOT / "infra/observability/otel-collector.yaml").read_text())
    assert collector["service"]["pipelines"]["metrics"]["exporters"] == ["prometheus"]
    port = collector["exporters"]["prometheus"]["endpoint"].rsplit(":", 1)[1]
    prometheus = yaml.safe_load((ROOT / "infra/observability/prometheus.yaml").read_text())
    targets = [t for job in prometheus["scrape_configs"] for c in job["static_configs"] for t in c["targets"]]
    assert targets == [f"otel-collector:{port}"]
