"""The compose files, read statically (Docker Compose is not assumed): every file they mount exists,
every GATEWAY_* they set is one the gateway reads, the stop grace covers the drain, the admin
listener is published on loopback only, and Prometheus, nginx and Grafana point where the
gateway listens."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.config import environment_names, load_settings, parse_listen
from tests.deploy.k8s import DEPLOY, PENDING, secret_examples

COMPOSE_FILES = ("compose.yaml", "compose.single.yaml")
GATEWAY_TOML = DEPLOY / "compose" / "gateway.toml"
SECRETS_ENV = DEPLOY / "compose" / "secrets.example.env"
CONFIG_TARGET = "/etc/flow-gateway/gateway.toml"  # the image's GATEWAY_CONFIG (test_dockerfile.py)


def compose(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / name).read_text())
    return loaded


def seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)s", value)
    assert match, value
    return float(match.group(1))


def env_file_keys(path: Path) -> list[str]:
    return [
        line.split("=", 1)[0] for line in path.read_text().splitlines() if line and not line.startswith("#")
    ]


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_every_mounted_and_built_file_exists(name: str) -> None:
    services = compose(name)["services"]
    named_volumes = set(compose(name).get("volumes") or {})
    for service, spec in services.items():
        if "extends" in spec:
            assert spec["extends"]["service"] in compose(spec["extends"]["file"])["services"]
            spec = compose(spec["extends"]["file"])["services"][spec["extends"]["service"]]
        for volume in spec.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name} {service}: {source}"
            else:
                assert source in named_volumes, f"{name} {service}: volume {source} is not declared"
        if "build" in spec:
            context = DEPLOY / spec["build"]["context"]
            assert (context / spec["build"]["dockerfile"]).is_file()
            assert (context / "pyproject.toml").is_file()


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_the_gateway_service_runs_as_the_manifests_do(name: str) -> None:
    gateway = compose(name)["services"]["gateway"]
    assert f"./compose/gateway.toml:{CONFIG_TARGET}:ro" in gateway["volumes"]
    assert any(volume.endswith(":/data") for volume in gateway["volumes"])
    settings = load_settings(GATEWAY_TOML, environ={})
    assert seconds(gateway["stop_grace_period"]) > settings.server.shutdown_timeout
    assert (gateway["read_only"], gateway["tmpfs"], gateway["cap_drop"]) == (True, ["/tmp"], ["ALL"])
    known = environment_names()
    for variable in gateway.get("environment", {}):
        assert variable in known or variable in PENDING, variable
    assert [entry["path"] for entry in gateway["env_file"]] == ["compose/secrets.env"]
    admin_port = parse_listen(settings.admin.listen)[1]
    published = [p for spec in compose(name)["services"].values() for p in spec.get("ports", [])]
    for mapping in published:
        if mapping.endswith(f":{admin_port}"):
            assert mapping.startswith("127.0.0.1:"), mapping  # the admin API never leaves the machine


def test_the_secrets_file_has_the_keys_of_the_kubernetes_secret() -> None:
    keys = env_file_keys(SECRETS_ENV)
    assert keys == list(secret_examples()["flow-gateway-secrets"])
    assert set(keys) <= set(environment_names())
    assert all(line.endswith("=") for line in SECRETS_ENV.read_text().splitlines() if line and line[0] != "#")
    assert "compose/secrets.env" in (DEPLOY / ".gitignore").read_text().split()
    settings = load_settings(GATEWAY_TOML, environ=dict.fromkeys(keys, ""))  # unset: each feature off
    assert (settings.admin.key_sha256, settings.workers.secret, settings.media.signing_key) == ("", "", "")


def test_monitoring_is_optional_and_finds_the_gateway() -> None:
    for name in COMPOSE_FILES:
        services = compose(name)["services"]
        assert services["prometheus"]["profiles"] == services["grafana"]["profiles"] == ["monitoring"]
        assert "profiles" not in services["gateway"]
    scrape = yaml.safe_load((DEPLOY / "compose" / "prometheus.yml").read_text())["scrape_configs"]
    [target] = [sd for job in scrape for sd in job["dns_sd_configs"]]
    settings = load_settings(GATEWAY_TOML, environ={})
    assert target["names"] == ["gateway"] and target["port"] == settings.server.port
    assert [job["metrics_path"] for job in scrape] == ["/metrics"]
    grafana = compose("compose.yaml")["services"]["grafana"]
    provider = yaml.safe_load(
        (DEPLOY / "compose/grafana/provisioning/dashboards/flow-gateway.yaml").read_text()
    )
    mounted = [v.split(":")[1] for v in grafana["volumes"] if v.startswith("./grafana/flow-gateway.json:")]
    assert [str(Path(m).parent) for m in mounted] == [p["options"]["path"] for p in provider["providers"]]


def test_nginx_forwards_to_the_gateways_ports() -> None:
    conf = (DEPLOY / "compose" / "nginx.conf").read_text()
    settings = load_settings(GATEWAY_TOML, environ={})
    targets = re.findall(r"set \$\w+ http://gateway:(\d+);", conf)
    assert targets == [str(settings.server.port), str(parse_listen(settings.admin.listen)[1])]
    body = re.search(r"client_max_body_size (\d+)m;", conf)
    assert body and int(body.group(1)) * 1024 * 1024 >= settings.server.max_body_bytes
    assert "proxy_buffering off;" in conf  # chat streams arrive as they are written
    lb = compose("compose.yaml")["services"]["lb"]
    assert "./compose/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in lb["volumes"]


@pytest.mark.skipif(
    shutil.which("nginx") is None, reason="nginx is not installed: its syntax check is skipped"
)
def test_nginx_accepts_the_configuration(tmp_path: Path) -> None:
    """``nginx -t`` on compose/nginx.conf, included where the image includes it (inside ``http``)."""
    (tmp_path / "main.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{ access_log off; client_body_temp_path {tmp_path}; include {DEPLOY}/compose/nginx.conf; }}\n"
    )
    done = subprocess.run(
        ["nginx", "-t", "-c", str(tmp_path / "main.conf")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
