"""Debian's Chromium, headless, driven by Playwright: the browser the browser tests use.

Nothing here downloads a browser: Playwright launches `/usr/bin/chromium` (apt package
`chromium`) with the flags that keep it off the network, in a fresh profile each time.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    """Fail loudly (not skip) when the browser is missing: CI installs it (.ci/run)."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")


@asynccontextmanager
async def browser_context(**options: object) -> AsyncIterator[object]:
    """A fresh headless Chromium context (its own profile); `options` go to new_context()."""
    from playwright.async_api import async_playwright

    require_chromium()
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        async with async_playwright() as playwright:
            context = await playwright.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=FLAGS, **options
            )
            try:
                yield context
            finally:
                await context.close()
