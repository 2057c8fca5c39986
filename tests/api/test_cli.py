"""`switchyard users add` creates a user that can then use the API."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx

from tests.support.processes import Stack

CLI = str(Path(sys.executable).parent / "switchyard")


def _cli(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args], input=stdin, capture_output=True, text=True, env={**os.environ}, timeout=30
    )


async def test_users_add_then_authenticate(stack: Stack) -> None:
    name = f"cli-{uuid.uuid4().hex[:8]}"
    added = _cli("users", "add", name, stdin="s3cret pass\n")
    assert added.returncode == 0, added.stderr
    async with httpx.AsyncClient(base_url=stack.base_url) as http:
        assert (await http.get("/api/jobs", auth=(name, "s3cret pass"))).status_code == 200
        assert (await http.get("/api/jobs", auth=(name, "other"))).status_code == 401

    again = _cli("users", "add", name, stdin="another\n")
    assert again.returncode != 0 and "exists" in again.stderr
    replaced = _cli("users", "add", name, "--replace", stdin="another\n")
    assert replaced.returncode == 0
    assert name in _cli("users", "list", stdin="").stdout


def test_overlong_password_is_refused() -> None:
    result = _cli("users", "add", "too-long", stdin="x" * 73 + "\n")
    assert result.returncode != 0 and "72 bytes" in result.stderr


def test_hash_password_prints_a_bcrypt_hash() -> None:
    result = _cli("hash-password", stdin="pw\n")
    assert result.returncode == 0 and result.stdout.startswith("$2")
