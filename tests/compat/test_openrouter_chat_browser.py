"""seeds/003 from a browser: a page served from another origin runs the document's flow with
`fetch` and `EventSource` in headless Chromium, against an API under DEV_MODE=true whose
CORS_ORIGINS lists the page's origin ("CORS ✓ ... Configured for both Vite (5173) and
alternative React dev server (3000)": here a dev server on a free port, as the origin)."""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.browser import browser_context
from tests.support.processes import Stack, free_port

# The frontend, as the document's author would have written it against the API.
FLOW = """
async function flow(api, credentials) {
  const json = {"Content-Type": "application/json"};
  const models = await (await fetch(`${api}/models`, {credentials})).json();
  const conversation = await (await fetch(`${api}/conversations`, {
    method: "POST", headers: json, credentials, body: JSON.stringify({default_model: null}),
  })).json();
  const patched = await (await fetch(`${api}/conversations/${conversation.id}`, {
    method: "PATCH", headers: json, credentials,
    body: JSON.stringify({default_model: "mock/echo"}),
  })).json();
  const message = await (await fetch(`${api}/conversations/${conversation.id}/messages`, {
    method: "POST", headers: json, credentials,
    body: JSON.stringify({content: "hello from the browser"}),
  })).json();
  const reply = await new Promise((resolve, reject) => {
    const source = new EventSource(`${api}/conversations/${conversation.id}/stream`,
                                   {withCredentials: credentials === "include"});
    let text = "";
    source.onmessage = (event) => {
      const data = JSON.parse(event.data);
      if (data.done) { source.close(); resolve(text); }
      else if (data.content) { text += data.content; }
    };
    source.onerror = () => { source.close(); reject(new Error("EventSource failed")); };
  });
  const history = await (await fetch(`${api}/conversations/${conversation.id}/messages`,
                                     {credentials})).json();
  return {models, conversation, patched, message, reply, history};
}
"""


@contextlib.contextmanager
def _static_server(origin: str, root: Path) -> Iterator[str]:
    port = urlsplit(origin).port
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", port or 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield origin
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def page_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("page")
    (root / "index.html").write_text(
        f"<!doctype html><title>chat</title><script>{FLOW}</script>", encoding="utf-8"
    )
    return root


@pytest.fixture(scope="module")
def listed_page(page_origin: str, page_root: Path) -> Iterator[str]:
    """The page on the origin the dev stack's CORS_ORIGINS lists."""
    with _static_server(page_origin, page_root) as origin:
        yield origin


@pytest.fixture(scope="module")
def unlisted_page(page_root: Path) -> Iterator[str]:
    with _static_server(f"http://localhost:{free_port()}", page_root) as origin:
        yield origin


async def _run_flow(origin: str, api: str, credentials: str) -> object:
    async with browser_context() as context:
        page = await context.new_page()  # type: ignore[attr-defined]
        await page.goto(f"{origin}/index.html")
        return await page.evaluate("([api, c]) => flow(api, c)", [api, credentials])


@pytest.mark.parametrize("credentials", ["same-origin", "include"])
async def test_the_flow_runs_in_a_browser_on_another_origin(
    dev_stack: Stack, listed_page: str, credentials: str
) -> None:
    result = await _run_flow(listed_page, dev_stack.base_url, credentials)
    assert isinstance(result, dict)
    # `return {"models": models_cache, "cached": True}`
    assert "mock/echo" in [m["id"] for m in result["models"]["models"]]
    assert isinstance(result["models"]["cached"], bool)
    # "Creates new conversation with optional `default_model`" / "Updates ... `default_model`"
    assert result["patched"]["default_model"] == "mock/echo"
    # "Returns message object with ID and timestamp"
    assert result["message"]["id"] and result["message"]["timestamp"]
    # SSE `{'content': content}` chunks, then `{'done': True}` (the page closes its source)
    assert result["reply"] == "hello from the browser"
    assert [m["role"] for m in result["history"]] == ["user", "assistant"]


async def test_an_unlisted_origin_is_refused_by_the_browser(
    dev_stack: Stack, unlisted_page: str
) -> None:
    with pytest.raises(Exception, match="Failed to fetch"):
        await _run_flow(unlisted_page, dev_stack.base_url, "include")
