"""The design's structural rules, checked: import boundaries, lint, migrations, containers."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

FORBIDDEN = {
    "shared": {"api", "worker"},
    "api": {"worker", "openai", "anthropic"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_import_rules(package: str) -> None:
    violations = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for name in sorted(_imports(path) & FORBIDDEN[package])
    ]
    assert violations == []


def test_ruff_is_clean() -> None:
    result = subprocess.run(
        [str(BIN / "ruff"), "check", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_alembic_check_finds_no_drift(database: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No new upgrade operations detected" in result.stdout + result.stderr


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_every_service_with_healthchecks() -> None:
    services = _compose()["services"]
    assert set(services) == {
        "postgres",
        "redis",
        "migrate",
        "api",
        "worker-llm",
        "worker-sandbox",
        "beat",
        "flower",
    }
    for name in ("postgres", "redis", "api", "worker-llm", "worker-sandbox"):
        assert "healthcheck" in services[name], name
    assert "--appendonly" in services["redis"]["command"]
    assert services["migrate"]["command"] == ["alembic", "upgrade", "head"]
    assert services["migrate"]["restart"] == "no"
    assert services["api"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    assert any("--basic-auth" in part for part in services["flower"]["command"])


def test_sandbox_worker_is_confined_by_seccomp_never_privileged() -> None:
    services = _compose()["services"]
    assert not any(service.get("privileged") for service in services.values())
    sandbox = services["worker-sandbox"]
    profiles = [
        opt.split("=", 1)[1] for opt in sandbox["security_opt"] if opt.startswith("seccomp=")
    ]
    assert profiles and (ROOT / profiles[0]).is_file()
    assert "-Q" in sandbox["command"] and "sandbox" in sandbox["command"]
    # A non-root worker can only run code as itself: the sandbox uid is the image's user.
    user = re.search(r"^USER (\d+)", (ROOT / "Dockerfile.worker").read_text(), re.M)
    assert user and sandbox["environment"]["SANDBOX_UID"] == user.group(1)


def test_compose_file_is_valid_for_docker_compose() -> None:
    docker = shutil.which("docker")
    if (
        docker is None
        or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0
    ):
        pytest.skip("docker compose CLI is not installed; the YAML is checked above")
    env = {**os.environ, "SECRET_KEY": "x", "FLOWER_BASIC_AUTH": "a:b"}
    result = subprocess.run(
        [docker, "compose", "config", "--quiet"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("dockerfile", ["Dockerfile.api", "Dockerfile.worker"])
def test_dockerfiles_pass_hadolint(dockerfile: str) -> None:
    result = subprocess.run(
        [str(BIN / "hadolint"), dockerfile], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    text = (ROOT / dockerfile).read_text()
    assert "\nUSER " in text and "USER root" not in text
