"""Where two documents, or a document and the native API, want the same path, the request
decides: `WS /ws/chat` (002's `messages` frames, 004's `event`/`message` frames), `GET /metrics`
(Prometheus text, or 000's energy JSON for `Accept: application/json`), `POST /api/chat`
(002's body with `current_code`/`proactive`, else the native chat). And CORS, for frontends
on the local dev servers the documents name."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import httpx
import websockets

from api.cors import allowed_origins
from api.main import create_app
from api.routes import compat
from shared.settings import AuthSettings, CorsSettings, Settings
from tests.compat.conftest import recv_json, ws_base
from tests.support.clients import basic_header
from tests.support.processes import Stack

ASK = {"messages": [{"role": "user", "content": "tides"}], "model": "mock/echo"}


def _keys(routes: list) -> set[tuple[str, str]]:
    return {(m, r.path) for r in routes for m in (getattr(r, "methods", None) or {"WS"})}


def _flat(router: object) -> list:
    found = []
    for route in router.routes:  # type: ignore[attr-defined]
        inner = getattr(route, "original_router", None)
        found += _flat(inner) if inner is not None else [route]
    return found


def test_only_the_two_shared_paths_meet_native_ones() -> None:
    compat_routes = _flat(compat.router) + _flat(compat.shared)
    native = [r for r in _flat(create_app().router) if r not in compat_routes]
    assert _keys(compat_routes) & _keys(native) == {("POST", "/api/chat"), ("GET", "/metrics")}


def test_compat_is_tagged_and_listed_after_the_native_api() -> None:
    schema = create_app().openapi()
    assert schema["paths"]["/api/chat"]["post"]["tags"] == ["chat"]
    tags = [
        operation["tags"][0] for item in schema["paths"].values() for operation in item.values()
    ]
    first_compat = tags.index("compat")
    assert set(tags[first_compat:]) == {"compat"} and "compat" not in tags[:first_compat]
    for path in ("/optimize", "/api/run", "/api/llm-judge", "/conversations", "/generate"):
        assert all(op["tags"] == ["compat"] for op in schema["paths"][path].values())


async def test_post_api_chat_is_the_assistants_only_with_its_fields(
    client: httpx.AsyncClient,
) -> None:
    native = await client.post("/api/chat", json=ASK)
    assert native.status_code == 202 and native.json()["status"] == "queued"
    assert native.headers["location"] == f"/api/jobs/{native.json()['id']}"
    waited = await client.post("/api/chat?wait=true", json=ASK)
    assert waited.status_code == 200 and waited.json()["result"]["content"] == "tides"
    assert (await client.post("/api/chat", json={**ASK, "stray": 1})).status_code == 422
    assert (await client.post("/api/chat", content=b"{not json")).status_code == 422
    assistant = await client.post("/api/chat", json={**ASK, "proactive": False})
    assert assistant.status_code == 200 and assistant.json()["content"] == "tides"


async def test_metrics_by_accept(client: httpx.AsyncClient, anonymous: httpx.AsyncClient) -> None:
    scraped = await anonymous.get("/metrics", headers={"Accept": "text/plain;version=0.0.4"})
    assert scraped.status_code == 200 and "switchyard_queue_depth" in scraped.text
    dashboard = await client.get("/metrics", headers={"Accept": "application/json"})
    assert dashboard.status_code == 200 and "co2_g" in dashboard.json()


async def test_ws_chat_speaks_each_documents_dialect(stack: Stack, user: tuple[str, str]) -> None:
    url, auth = ws_base(stack) + "/ws/chat", basic_header(*user)
    async with websockets.connect(url, additional_headers=auth) as assistant:
        await assistant.send(json.dumps(ASK))
        frames = [await recv_json(assistant)]
        while frames[-1]["type"] == "chunk":
            frames.append(await recv_json(assistant))
        assert frames[-1] == {"type": "complete", "content": "tides"}
    async with websockets.connect(url, additional_headers=auth) as app:
        await app.send(json.dumps({"event": "user_message", "message": "tides"}))
        reply = await recv_json(app)
        assert reply["event"] == "ai_response" and reply["message"] == "tides"
        assert (await recv_json(app))["event"] == "backend_status"
    async with websockets.connect(url, additional_headers=auth) as stranger:
        await stranger.send(json.dumps({"hello": 1}))
        refused = await recv_json(stranger)
        assert refused["type"] == refused["event"] == "error"
        assert refused["content"] == refused["message"]
        await stranger.send("not json")
        assert (await recv_json(stranger))["event"] == "error"


def test_allowed_origins_come_from_the_setting_and_dev_mode() -> None:
    listed = CorsSettings(origins="https://app.example.com, http://localhost:8080/")
    production = Settings(cors=listed, auth=AuthSettings(dev_mode=False))
    assert allowed_origins(production) == ["https://app.example.com", "http://localhost:8080"]
    development = Settings(cors=listed, auth=AuthSettings(dev_mode=True))
    # 003: `allow_origins=["http://localhost:5173", "http://localhost:3000"]`
    assert {"http://localhost:5173", "http://localhost:3000"} <= set(allowed_origins(development))
    assert "*" not in allowed_origins(development)
    as_json = CorsSettings(origins='["https://a.example", "https://b.example/"]')
    assert as_json.origins == ["https://a.example", "https://b.example"]


async def test_preflight_and_credentials_only_for_allowed_origins(
    dev_stack: Stack, page_origin: str
) -> None:
    async with httpx.AsyncClient(base_url=dev_stack.base_url, timeout=30) as http:
        for origin in (page_origin, "http://localhost:5173", "http://localhost:3000"):
            preflight = await http.options(
                "/conversations",
                headers={
                    "Origin": origin,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type",
                },
            )
            assert preflight.status_code == 200, (origin, preflight.text)
            assert preflight.headers["access-control-allow-origin"] == origin
            assert preflight.headers["access-control-allow-credentials"] == "true"
            listed = await http.get("/models", headers={"Origin": origin})
            assert listed.headers["access-control-allow-origin"] == origin
        stranger = "http://evil.example"
        refused = await http.options(
            "/conversations",
            headers={"Origin": stranger, "Access-Control-Request-Method": "POST"},
        )
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers
        answered = await http.get("/models", headers={"Origin": stranger})
        assert "access-control-allow-origin" not in answered.headers
        assert "access-control-allow-credentials" not in answered.headers


async def test_no_origin_is_allowed_unless_configured(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as http:
        answered = await http.get("/health", headers={"Origin": "http://localhost:5173"})
    assert "access-control-allow-origin" not in answered.headers


def test_compat_modules_call_services_never_routes() -> None:
    """The compat modules import no native route module (they call `api.services`)."""
    folder = Path(compat.__file__).parent
    imported = {
        f"{path.name}: {node.module}"
        for path in folder.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom)
        and node.module
        and node.module.startswith("api.routes")
        and not node.module.startswith("api.routes.compat")
    }
    assert imported == set()


async def test_a_large_native_chat_body_passes_the_shared_route(
    client: httpx.AsyncClient,
) -> None:
    """Past the bytes a claim reads, the body goes on, whole, to the native route (whose own
    validation answers; no job is created for this one)."""
    content = "x " * 5_000_000
    big = {"messages": [{"role": "user", "content": content}], "proactive": True}
    response = await client.post("/api/chat", json=big)
    assert response.status_code in (413, 422), response.text
    if response.status_code == 422:
        assert response.json()["detail"]  # the native ChatInput refusing `proactive`
