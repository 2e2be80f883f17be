"""The Kubernetes manifests: both overlays render, every object validates against the Kubernetes
schemas (kubernetes-validate, strict: unknown fields fail), kustomize reaches every file, and the
objects agree with the gateway (the settings it reads, the volumes it writes, the Secrets the
operator makes). How the pods behave is in ``test_pods.py``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from gateway.config import ConfigError, environment_names, load_settings, parse_listen
from tests.deploy.k8s import (
    DEPLOY,
    K8S,
    OVERLAYS,
    PENDING,
    ROOT,
    SECRET_EXAMPLE,
    Obj,
    configmap,
    container,
    documents,
    environment,
    gateway,
    kustomize_references,
    mount,
    needs_kubectl,
    pod_spec,
    port,
    render,
    secret_examples,
    workloads,
)

# The oldest Kubernetes the manifests claim, the kubectl this repository is tested with, and the
# newest schema kubernetes-validate carries.
KUBE_VERSIONS = ("1.29", "1.32", "1.37")
# Custom resources of the Prometheus Operator: kubernetes-validate has no schema for them, so their
# shape is checked by crd_problems() instead.
CRDS = frozenset({"ServiceMonitor", "PrometheusRule"})
SH = shutil.which("sh") or "/bin/sh"


def crd_problems(obj: Obj) -> list[str]:
    spec = obj.get("spec", {})
    if obj["kind"] == "ServiceMonitor":
        endpoints = spec.get("endpoints", [])
        ok = isinstance(spec.get("selector", {}).get("matchLabels"), dict) and endpoints
        ok = ok and all(
            isinstance(e.get("port"), str) and e.get("path", "/").startswith("/") for e in endpoints
        )
        return [] if ok else [f"ServiceMonitor/{obj['metadata']['name']}: selector or endpoints malformed"]
    groups = spec.get("groups", [])
    ok = groups and all(g.get("name") and g.get("rules") for g in groups)
    return [] if ok else [f"PrometheusRule/{obj['metadata']['name']}: groups malformed"]


def validation_problems(objs: list[Obj], version: str) -> list[str]:
    problems = []
    for obj in objs:
        if obj["kind"] in CRDS:
            problems += crd_problems(obj)
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message}")
    return problems


@needs_kubectl
@pytest.mark.parametrize("version", KUBE_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_validates(overlay: str, version: str) -> None:
    objs = render(overlay)
    assert {o["kind"] for o in objs} >= {"Deployment", "Service", "ConfigMap", "NetworkPolicy", *CRDS}
    assert validation_problems(list(objs), version) == []


def test_manifest_files_validate() -> None:
    """Every complete object in deploy/k8s, rendered or not (the Secret example is in no overlay)."""
    files = [p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml" and "patch" not in p.name]
    objs = [doc for path in files for doc in documents(path)]
    assert {o["kind"] for o in objs} >= {"Deployment", "StatefulSet", "Secret", "HorizontalPodAutoscaler"}
    assert validation_problems(objs, KUBE_VERSIONS[-1]) == []


def test_kustomize_can_reach_every_file() -> None:
    """Kustomize loads files only from inside a kustomization's directory (its default load
    restrictor): the catalogue is copied into base/ for that reason (make deploy-sync)."""
    kustomizations = list(DEPLOY.rglob("kustomization.yaml"))
    assert len(kustomizations) >= 6
    for kustomization in kustomizations:
        for kind, path in kustomize_references(kustomization):
            assert path.exists(), f"{kustomization}: {kind} {path} is missing"
            if kind in {"file", "patch"}:
                assert path.resolve().is_relative_to(kustomization.parent.resolve()), path


def test_the_catalogue_copy_is_current() -> None:
    copy, original = K8S / "base" / "models.toml", ROOT / "config" / "models.toml"
    assert copy.read_bytes() == original.read_bytes(), "config/models.toml changed: run `make deploy-sync`"


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_gateway_reads_its_configmap(overlay: str, tmp_path: Path) -> None:
    objs = render(overlay)
    deployment = gateway(objs)
    cont = container(deployment, "gateway")
    config_dir, volume = mount(deployment, cont, "config")
    data = configmap(objs, "flow-gateway-config")["data"]
    assert volume["configMap"]["name"] == configmap(objs, "flow-gateway-config")["metadata"]["name"]
    assert data["models.toml"] == (ROOT / "config" / "models.toml").read_text()
    env = {name: entry["value"] for name, entry in environment(cont) if "value" in entry}
    assert env.pop("GATEWAY_CONFIG") == f"{config_dir}/gateway.toml"
    (tmp_path / "gateway.toml").write_text(data["gateway.toml"])
    settings = load_settings(
        tmp_path / "gateway.toml", environ={k: v for k, v in env.items() if k not in PENDING}
    )
    assert settings.catalog_path == f"{config_dir}/models.toml"
    assert settings.store.backend == ("redis" if overlay == "ha" else "sqlite")  # the URL alone selects it
    assert settings.server.port == port(cont, "http")
    assert parse_listen(settings.admin.listen)[1] == port(cont, "admin")
    data_dir, _ = mount(deployment, cont, "data")
    assert Path(settings.store.path).is_relative_to(data_dir)
    assert Path(settings.media.root).is_relative_to(data_dir)


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_gateway_variable_is_one_it_reads(overlay: str) -> None:
    known = environment_names()
    for workload in workloads(render(overlay)):
        for cont in pod_spec(workload)["containers"]:
            for name, _ in environment(cont):
                if name.startswith("GATEWAY_") and name != "GATEWAY_CONFIG":
                    assert name in known or name in PENDING, f"{workload['metadata']['name']}: {name}"


def test_the_redis_url_is_read() -> None:
    """The HA overlay and compose.yaml point the gateway at Redis by GATEWAY_STORE_URL alone (their
    gateway.toml keeps backend = "sqlite" for the single variants): the URL selects Redis."""
    assert "GATEWAY_STORE_URL" in environment_names()
    settings = load_settings(None, environ={"GATEWAY_STORE_URL": "redis://:secret@flow-gateway-redis:6379/0"})
    assert (settings.store.backend, settings.store.prefix) == ("redis", "flow:")


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_reference_resolves(overlay: str) -> None:
    """ConfigMaps and claims are in the render; Secrets are the operator's, as in the example."""
    objs = render(overlay)
    names = {(o["kind"], o["metadata"]["name"]) for o in objs}
    operator_secrets = set(secret_examples())
    for workload in workloads(objs):
        claims = {t["metadata"]["name"] for t in workload["spec"].get("volumeClaimTemplates", [])}
        for volume in pod_spec(workload).get("volumes", []):
            if "configMap" in volume:
                assert ("ConfigMap", volume["configMap"]["name"]) in names
            if "persistentVolumeClaim" in volume:
                assert ("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]) in names
        for cont in pod_spec(workload)["containers"]:
            assert {m["name"] for m in cont.get("volumeMounts", [])} <= {
                v["name"] for v in pod_spec(workload).get("volumes", [])
            } | claims
            for source in cont.get("envFrom", []):
                assert source["secretRef"]["name"] in operator_secrets
            for entry in cont.get("env", []):
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["key"] in secret_examples()[ref["name"]], ref


def test_the_secret_example_cannot_run_as_it_is(tmp_path: Path) -> None:
    """Nothing in the example is a working value: the gateway refuses its admin key hash, and the
    Redis container its password; the keys left empty switch their feature off."""
    secrets = secret_examples()
    with pytest.raises(ConfigError, match=r"admin\.key_sha256"):
        load_settings(K8S / "base" / "gateway.toml", environ=secrets["flow-gateway-secrets"])
    assert secrets["flow-gateway-secrets"]["GATEWAY_WORKERS_SECRET"] == ""
    assert secrets["flow-gateway-secrets"]["GATEWAY_MEDIA_SIGNING_KEY"] == ""
    script = yaml.safe_load((K8S / "components" / "redis" / "statefulset.yaml").read_text())
    command = script["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[:2] == ["sh", "-c"]
    for password, refused in (
        (secrets["flow-gateway-redis"]["password"], True),
        ("", True),
        ("9f8e7d", False),
    ):
        done = subprocess.run(
            [SH, "-c", command[2]],
            env={"REDIS_PASSWORD": password, "PATH": str(tmp_path)},  # no redis-server on this PATH
            capture_output=True,
            text=True,
            check=False,
        )
        assert (done.returncode == 1 and "real password" in done.stderr) is refused, done
    assert SECRET_EXAMPLE.name not in {
        path.name
        for kustomization in K8S.rglob("kustomization.yaml")
        for _, path in kustomize_references(kustomization)
    }
