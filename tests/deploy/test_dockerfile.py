"""deploy/Dockerfile, read statically (no Docker daemon is assumed): two stages, nothing to build with
at run time, a fixed non-root user the manifests agree with, a health check that works against a
running gateway, and only files that exist and that the ignore file lets into the context."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import tomllib
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import yaml
from aiohttp.test_utils import TestClient

from gateway.config import default_config_path, load_settings
from tests.deploy.k8s import DEPLOY, K8S, ROOT

DOCKERFILE = DEPLOY / "Dockerfile"
IGNORE = DEPLOY / "Dockerfile.dockerignore"  # BuildKit's per-Dockerfile ignore file
BUILD_TOOLS = re.compile(r"\b(apt-get|apt|apk|gcc|g\+\+|make|build-essential|cython|pip wheel)\b")
Instruction = tuple[str, str]


def instructions(text: str) -> list[Instruction]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    found: list[Instruction] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        op, _, args = (current + line).partition(" ")
        found.append((op.upper(), args.strip()))
        current = ""
    return found


def stages() -> list[list[Instruction]]:
    result: list[list[Instruction]] = []
    for op, args in instructions(DOCKERFILE.read_text()):
        if op == "FROM":
            result.append([])
        if result:
            result[-1].append((op, args))
    return result


def args_of(stage: list[Instruction], op: str) -> list[str]:
    return [args for o, args in stage if o == op]


def final() -> list[Instruction]:
    return stages()[-1]


def env_of(stage: list[Instruction]) -> dict[str, str]:
    env = {}
    for args in args_of(stage, "ENV"):
        env.update(dict(re.findall(r"(\w+)=(\S+)", args)))
    return env


def test_builds_wheels_in_one_stage_and_installs_them_in_another() -> None:
    build, runtime = stages()
    assert "AS build" in args_of(build, "FROM")[0]
    assert any("pip wheel" in run for run in args_of(build, "RUN"))
    installs = [run for run in args_of(runtime, "RUN") if "pip install" in run]
    assert len(installs) == 1
    assert "--mount=type=bind,from=build" in installs[0] and "--no-index" in installs[0]
    assert re.search(r"pip uninstall --yes .*\bsetuptools\b.*\bwheel\b.*\bpip\b", installs[0])


def test_the_runtime_stage_has_nothing_to_build_with() -> None:
    for run in args_of(final(), "RUN"):
        stripped = re.sub(r"--mount=\S+", "", run)
        assert not BUILD_TOOLS.search(stripped), run
    assert not [args for args in args_of(final(), "COPY") if "--from" in args]  # wheels are bind-mounted


def test_runs_as_the_fixed_user_the_manifests_name() -> None:
    user = args_of(final(), "USER")
    assert user == ["10001:10001"]
    uid, gid = (int(part) for part in user[0].split(":"))
    pod = yaml.safe_load((K8S / "base" / "deployment.yaml").read_text())["spec"]["template"]["spec"]
    context = pod["securityContext"]
    assert (context["runAsUser"], context["runAsGroup"], context["fsGroup"]) == (uid, gid, gid)
    assert any(f"--uid {uid}" in run and f"--gid {gid}" in run for run in args_of(final(), "RUN"))
    assert any(f"chown -R {uid}:{gid} /data" in run for run in args_of(final(), "RUN"))


def test_entrypoint_serves_the_config_named_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert json.loads(args_of(final(), "ENTRYPOINT")[0]) == ["python", "-m", "gateway", "serve"]
    env = env_of(final())
    # Any other GATEWAY_* baked into the image would override the mounted file, which operators edit.
    assert [name for name in env if name.startswith("GATEWAY_")] == ["GATEWAY_CONFIG"]
    monkeypatch.setenv("GATEWAY_CONFIG", env["GATEWAY_CONFIG"])
    assert default_config_path() == env["GATEWAY_CONFIG"] == "/etc/flow-gateway/gateway.toml"
    assert args_of(final(), "VOLUME") == ['["/data"]']
    assert set(args_of(final(), "EXPOSE")[0].split()) == {"8000", "9100"}


def test_the_images_own_config_loads() -> None:
    copies = dict(reversed(args.split()[-2:]) for args in args_of(final(), "COPY"))
    config = DEPLOY / "docker" / "gateway.toml"
    assert copies[env_of(final())["GATEWAY_CONFIG"]] == str(config.relative_to(ROOT))
    settings = load_settings(config, environ={})
    assert copies[settings.catalog_path] == "config/models.toml"
    assert (settings.server.host, str(settings.server.port)) == ("0.0.0.0", "8000")
    assert Path(settings.store.path).is_relative_to("/data")
    assert Path(settings.media.root).is_relative_to("/data")


def test_the_python_is_the_projects() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    version = project["tool"]["mypy"]["python_version"]
    assert re.search(rf"ARG PYTHON_IMAGE=python:{re.escape(version)}-slim", DOCKERFILE.read_text())


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern.lstrip("!").rstrip("/")
        regex = re.escape(body).replace(r"\*\*/", "(?:.*/)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
        if any(re.fullmatch(regex, candidate) for candidate in candidates):
            excluded = not negated
    return excluded


def test_the_context_holds_what_is_copied_and_nothing_secret() -> None:
    patterns = [
        line.strip() for line in IGNORE.read_text().splitlines() if line.strip() and not line.startswith("#")
    ]
    sources = [
        source
        for stage in stages()
        for args in args_of(stage, "COPY")
        if "--from" not in args
        for source in args.split()[:-1]
        if not source.startswith("--")
    ]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not ignored(source, patterns), source
    for inside in (
        "gateway/app.py",
        "gateway/gemini/models.toml",
        "gateway/upstream/flow/evidence/README.md",
    ):
        assert not ignored(inside, patterns), inside
    secrets = (
        ".demo/licence",
        ".venv/bin/python",
        "data/gateway.sqlite3",
        "config/gateway.toml",
        ".git/config",
    )
    for secret in (*secrets, "gateway/__pycache__/app.cpython-311.pyc", "deploy/compose/secrets.env"):
        assert ignored(secret, patterns), secret


async def test_the_healthcheck_passes_on_a_gateway_and_fails_without_one(
    client_with: Callable[..., Awaitable[TestClient]],
) -> None:
    check = json.loads(re.search(r"CMD (\[.*\])", args_of(final(), "HEALTHCHECK")[0]).group(1))  # type: ignore[union-attr]
    assert check[:2] == ["python", "-c"] and "/healthz" in check[2]
    client = await client_with()

    async def run(port: int) -> int:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", check[2], env={"GATEWAY_PORT": str(port)}, stderr=asyncio.subprocess.DEVNULL
        )
        return await process.wait()

    assert client.port is not None
    assert await run(client.port) == 0
    await client.close()
    assert await run(client.port) != 0
