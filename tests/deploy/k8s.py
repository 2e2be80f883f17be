"""Rendering the kustomize overlays and reading the objects, for ``test_manifests.py``."""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
OVERLAYS = ("single", "ha")
SECRET_EXAMPLE = K8S / "secret.example.yaml"
KUBECTL = shutil.which("kubectl")
WORKLOADS = frozenset({"Deployment", "StatefulSet"})
# Settings the manifests and compose.yaml set before the gateway reads them; each must leave this
# list when it does (GATEWAY_STORE_URL left it with the Redis store backend, issue 14 item 1).
PENDING: dict[str, str] = {}
Obj = dict[str, Any]


@functools.cache
def render(overlay: str) -> tuple[Obj, ...]:
    """``kubectl kustomize`` of one overlay (kubectl carries kustomize since 1.14): its objects."""
    assert KUBECTL is not None
    done = subprocess.run(
        [KUBECTL, "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return tuple(doc for doc in yaml.safe_load_all(done.stdout) if doc)


def documents(path: Path) -> list[Obj]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def one(objs: tuple[Obj, ...], kind: str, name: str) -> Obj:
    found = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def of_kind(objs: tuple[Obj, ...], kind: str) -> list[Obj]:
    return [o for o in objs if o["kind"] == kind]


def configmap(objs: tuple[Obj, ...], prefix: str) -> Obj:
    """The generated ConfigMap whose name is ``prefix`` plus kustomize's content hash."""
    found = [o for o in of_kind(objs, "ConfigMap") if o["metadata"]["name"].startswith(prefix + "-")]
    assert len(found) == 1, prefix
    return found[0]


def workloads(objs: tuple[Obj, ...]) -> list[Obj]:
    return [o for o in objs if o["kind"] in WORKLOADS]


def pod_spec(workload: Obj) -> Obj:
    spec: Obj = workload["spec"]["template"]["spec"]
    return spec


def container(workload: Obj, name: str) -> Obj:
    found = [c for c in pod_spec(workload)["containers"] if c["name"] == name]
    assert len(found) == 1, name
    return found[0]


def gateway(objs: tuple[Obj, ...]) -> Obj:
    return one(objs, "Deployment", "flow-gateway")


def port(cont: Obj, name: str) -> int:
    found = [p["containerPort"] for p in cont.get("ports", []) if p["name"] == name]
    assert len(found) == 1, name
    return int(found[0])


def mount(workload: Obj, cont: Obj, volume: str) -> tuple[str, Obj]:
    """Where ``cont`` mounts ``volume``, and the volume's definition."""
    path = next(m["mountPath"] for m in cont["volumeMounts"] if m["name"] == volume)
    definition = next(v for v in pod_spec(workload)["volumes"] if v["name"] == volume)
    return path, definition


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def pods_selected(objs: tuple[Obj, ...], selector: dict[str, str]) -> list[Obj]:
    return [w for w in workloads(objs) if matches(selector, w["spec"]["template"]["metadata"]["labels"])]


def secret_examples() -> dict[str, dict[str, str]]:
    """The operator-made Secrets of ``deploy/k8s/secret.example.yaml``: name to string data."""
    return {doc["metadata"]["name"]: doc["stringData"] for doc in documents(SECRET_EXAMPLE)}


def environment(cont: Obj) -> Iterator[tuple[str, Obj]]:
    """Every variable a container gets: its ``env`` entries, and the keys of ``envFrom`` Secrets."""
    for entry in cont.get("env", []):
        yield entry["name"], entry
    examples = secret_examples()
    for source in cont.get("envFrom", []):
        for key in examples[source["secretRef"]["name"]]:
            yield key, {"name": key, "fromSecret": source["secretRef"]["name"]}


def kustomize_references(kustomization: Path) -> Iterator[tuple[str, Path]]:
    """What a kustomization names: (resources|components|patch|file, path)."""
    data = yaml.safe_load(kustomization.read_text())
    base = kustomization.parent
    for key in ("resources", "components"):
        for entry in data.get(key, []):
            yield key, base / entry
    for patch in data.get("patches", []):
        if "path" in patch:
            yield "patch", base / patch["path"]
    for generator in data.get("configMapGenerator", []) + data.get("secretGenerator", []):
        for entry in generator.get("files", []):
            yield "file", base / entry.split("=", 1)[-1]


needs_kubectl = pytest.mark.skipif(
    KUBECTL is None,
    reason="kubectl is not installed, so the overlays cannot be rendered (kustomize is built into "
    "kubectl); test_manifests.py::test_manifest_files_validate checks the files one by one instead",
)
