"""Start the fake provider server in its own process and script it over HTTP."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.processes import ROOT, free_port


class FakeProviders:
    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.fakes.provider_server", "--port", str(self.port)],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.http = httpx.Client(base_url=self.base, timeout=10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                self.http.get("/_fake/requests")
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"the fake provider server did not start:\n{log_path.read_text()}")

    def env(self) -> dict[str, str]:
        """Settings that point every real provider adapter at this server."""
        return {
            "OPENAI_API_KEY": "sk-test-openai",
            "OPENAI_BASE_URL": f"{self.base}/v1",
            "ANTHROPIC_API_KEY": "sk-test-anthropic",
            "ANTHROPIC_BASE_URL": self.base,
            "OPENROUTER_API_KEY": "sk-test-openrouter",
            "OPENROUTER_BASE_URL": f"{self.base}/openrouter/v1",
            "APP_URL": "https://switchyard.test",
            "APP_TITLE": "Switchyard Tests",
        }

    def script(self, **settings: Any) -> None:
        self.http.post("/_fake/script", json=settings).raise_for_status()

    def reset(self) -> None:
        self.http.post("/_fake/reset").raise_for_status()

    def requests(self, path_suffix: str = "") -> list[dict[str, Any]]:
        received = self.http.get("/_fake/requests").json()
        return [r for r in received if r["path"].endswith(path_suffix)]

    def stop(self) -> None:
        self.http.close()
        self.process.terminate()
        self.process.wait(10)
