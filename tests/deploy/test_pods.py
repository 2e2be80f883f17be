"""How the rendered pods behave: the drain fits in the grace period, the probes, a locked-down
runtime, Services and the NetworkPolicy around the admin port, the ServiceMonitor, and what sets the
two overlays apart (one replica on a volume; replicas on shared state)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.config import load_settings
from tests.deploy.k8s import (
    DEPLOY,
    OVERLAYS,
    Obj,
    configmap,
    container,
    environment,
    gateway,
    matches,
    mount,
    needs_kubectl,
    of_kind,
    one,
    pod_spec,
    pods_selected,
    render,
    workloads,
)

# What the gateway needs beyond [server] shutdown_timeout to stop: closing the store and the engine.
CLOSE_MARGIN = 5


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_drain_fits_in_the_grace_period(overlay: str, tmp_path: Path) -> None:
    objs = render(overlay)
    deployment = gateway(objs)
    cont = container(deployment, "gateway")
    command = cont["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    (tmp_path / "gateway.toml").write_text(configmap(objs, "flow-gateway-config")["data"]["gateway.toml"])
    drain = load_settings(tmp_path / "gateway.toml", environ={}).server.shutdown_timeout
    grace = pod_spec(deployment)["terminationGracePeriodSeconds"]
    assert grace >= int(command[1]) + drain + CLOSE_MARGIN


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes(overlay: str) -> None:
    cont = container(gateway(render(overlay)), "gateway")
    kinds = ("startupProbe", "livenessProbe", "readinessProbe")
    probes = {kind: (cont[kind]["httpGet"]["path"], cont[kind]["httpGet"]["port"]) for kind in kinds}
    assert probes == {
        "startupProbe": ("/healthz", "http"),
        "livenessProbe": ("/healthz", "http"),
        "readinessProbe": ("/readyz", "http"),  # 503 while no account can serve or the store is down
    }


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_runs_locked_down(overlay: str) -> None:
    for workload in workloads(render(overlay)):
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["securityContext"]["runAsUser"] > 0
        assert spec["automountServiceAccountToken"] is False
        assert spec["enableServiceLinks"] is False  # else a Service named "gateway" sets GATEWAY_PORT
        for cont in spec["containers"]:
            context = cont["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}
            tmp, volume = mount(workload, cont, "tmp")
            assert (tmp, "emptyDir" in volume) == ("/tmp", True)
            assert "memory" in cont["resources"]["limits"]
            assert "cpu" in cont["resources"]["requests"]


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_reach_named_ports(overlay: str) -> None:
    objs = render(overlay)
    for service in of_kind(objs, "Service"):
        pods = pods_selected(objs, service["spec"]["selector"])
        assert len(pods) == 1, service["metadata"]["name"]
        names = {p["name"] for c in pod_spec(pods[0])["containers"] for p in c.get("ports", [])}
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= names
    admin = one(objs, "Service", "flow-gateway-admin")
    assert admin["spec"]["publishNotReadyAddresses"] is True  # the first account is added through it
    assert admin["spec"]["type"] == "ClusterIP"


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_admin_port_stays_in_the_namespace(overlay: str) -> None:
    objs = render(overlay)
    policy = one(objs, "NetworkPolicy", "flow-gateway")
    deployment = gateway(objs)
    assert matches(
        policy["spec"]["podSelector"]["matchLabels"], deployment["spec"]["template"]["metadata"]["labels"]
    )
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    rules = policy["spec"]["ingress"]
    admin_rules = [r for r in rules if any(p["port"] == "admin" for p in r["ports"])]
    assert admin_rules, "no rule names the admin port: it would be closed to all"
    for rule in admin_rules:
        assert rule["from"] and all(set(peer) == {"podSelector"} for peer in rule["from"])
    open_rules = [r for r in rules if "from" not in r]
    assert [p["port"] for r in open_rules for p in r["ports"]] == ["http"]


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_service_monitor_scrapes_the_api_service(overlay: str) -> None:
    objs = render(overlay)
    monitor = one(objs, "ServiceMonitor", "flow-gateway")
    selected = [
        s
        for s in of_kind(objs, "Service")
        if matches(monitor["spec"]["selector"]["matchLabels"], s["metadata"]["labels"])
    ]
    assert [s["metadata"]["name"] for s in selected] == ["flow-gateway"]
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == [
        p["name"] for p in selected[0]["spec"]["ports"]
    ]
    assert {e["path"] for e in monitor["spec"]["endpoints"]} == {"/metrics"}
    dashboard = one(objs, "ConfigMap", "flow-gateway-dashboard")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert dashboard["data"]["flow-gateway.json"] == (DEPLOY / "grafana" / "flow-gateway.json").read_text()


@needs_kubectl
def test_single_overlay_is_one_replica_on_a_volume(tmp_path: Path) -> None:
    objs = render("single")
    deployment = gateway(objs)
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert not of_kind(objs, "HorizontalPodAutoscaler")
    _, volume = mount(deployment, container(deployment, "gateway"), "data")
    claim = one(objs, "PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    (tmp_path / "gateway.toml").write_text(configmap(objs, "flow-gateway-config")["data"]["gateway.toml"])
    settings = load_settings(tmp_path / "gateway.toml", environ={})
    assert settings.store.backend == "sqlite"
    assert settings.media.max_total_mb * 1.2 <= gibibytes(claim) * 1024  # retention frees space first


@needs_kubectl
def test_ha_overlay_scales_on_shared_state() -> None:
    objs = render("ha")
    deployment = gateway(objs)
    assert "replicas" not in deployment["spec"]  # the HPA's to choose; an apply would reset it
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    hpa = one(objs, "HorizontalPodAutoscaler", "flow-gateway")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "flow-gateway",
    }
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    pdb = one(objs, "PodDisruptionBudget", "flow-gateway")
    assert pods_selected(objs, pdb["spec"]["selector"]["matchLabels"]) == [deployment]
    _, volume = mount(deployment, container(deployment, "gateway"), "data")
    claim = one(objs, "PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]  # media written by one, read through any
    env = [name for name, _ in environment(container(deployment, "gateway"))]
    assert env.index("REDIS_PASSWORD") < env.index("GATEWAY_STORE_URL")  # $(VAR) sees only earlier ones
    redis = one(objs, "NetworkPolicy", "flow-gateway-redis")
    peers = [peer for rule in redis["spec"]["ingress"] for peer in rule["from"]]
    assert [pods_selected(objs, peer["podSelector"]["matchLabels"]) for peer in peers] == [[deployment]]


def gibibytes(claim: Obj) -> float:
    match = re.fullmatch(r"(\d+)Gi", claim["spec"]["resources"]["requests"]["storage"])
    assert match, claim["spec"]["resources"]
    return float(match.group(1))
