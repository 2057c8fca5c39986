"""The peer in the bench: LiteLLM's proxy, a stateless gateway, in front of the same upstream.

`make bench` installs it from PyPI into its own virtualenv (`.venv-peer`, kept apart from the
project's so its pins cannot move Switchyard's) and starts it with two workers, as the peer run
in docs/benchmarks.md did. It forwards every model name to the paced upstream, so a client
reaches the same `n<tokens>-g<gap>` replies through it as directly or through Switchyard.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.processes import ROOT

VERSION = "1.108.7"  # pinned: a peer that moves between runs makes its column meaningless
VENV = ROOT / ".venv-peer"
BINARY = VENV / "bin" / "litellm"
MASTER_KEY = "sk-peer-bench"
WORKERS = 2

CONFIG = """\
model_list:
  - model_name: "*"
    litellm_params:
      model: "openai/*"
      api_base: "http://127.0.0.1:{upstream_port}/v1"
      api_key: "sk-bench-local"
general_settings:
  master_key: "{master_key}"
litellm_settings:
  drop_params: true
  telemetry: false
"""

# Offline and quiet: the cost map ships in the package; no callbacks, no usage telemetry.
ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_LOG": "ERROR",
    "LITELLM_TELEMETRY": "False",
}
# Switchyard's own settings would switch on the proxy's database and cache features.
_NOT_FOR_THE_PEER = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")


def environment(base: dict[str, str]) -> dict[str, str]:
    return {
        **{name: value for name, value in base.items() if name not in _NOT_FOR_THE_PEER},
        **ENV,
    }


def installed() -> bool:
    if not BINARY.exists():
        return False
    probe = subprocess.run(
        [str(VENV / "bin" / "python"), "-c", "import importlib.metadata as m;"
         "print(m.version('litellm'))"],
        capture_output=True,
        text=True,
    )
    return probe.stdout.strip() == VERSION


def install() -> None:
    """LiteLLM's proxy from PyPI into `.venv-peer` (once; a few minutes the first time)."""
    if installed():
        return
    print(f"installing litellm[proxy]=={VERSION} into {VENV} (first run only)", flush=True)
    if not (VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet",
         f"litellm[proxy]=={VERSION}"],
        check=True,
    )


def argv(workdir: Path, port: int, upstream_port: int) -> list[str]:
    config = workdir / "litellm.yaml"
    config.write_text(CONFIG.format(upstream_port=upstream_port, master_key=MASTER_KEY))
    return [
        str(BINARY),
        "--config", str(config),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--num_workers", str(WORKERS),
    ]


def wait_ready(port: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/health/liveliness", timeout=2)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text[:100]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.5)
    raise RuntimeError(f"LiteLLM proxy not ready on :{port}: {last}")
