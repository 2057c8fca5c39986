"""The compat routes sit beside the native ones without taking any native path over."""

from __future__ import annotations

from api.main import create_app
from api.routes import compat


def _keys(routes: list) -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for route in routes
        for method in (getattr(route, "methods", None) or {"WS"})
    }


def _flat(router: object) -> list:
    """The routes of a router, looking inside included routers."""
    found = []
    for route in router.routes:  # type: ignore[attr-defined]
        inner = getattr(route, "original_router", None)
        found += _flat(inner) if inner is not None else [route]
    return found


def test_only_the_shared_chat_path_is_shadowed() -> None:
    compat_routes = _flat(compat.router)
    native = [r for r in _flat(create_app().router) if r not in compat_routes]
    assert _keys(compat_routes) & _keys(native) == {("POST", "/api/chat")}


def test_the_schema_documents_the_native_chat_and_tags_compat() -> None:
    schema = create_app().openapi()
    assert schema["paths"]["/api/chat"]["post"]["tags"] == ["chat"]
    assert schema["paths"]["/optimize"]["post"]["tags"] == ["compat"]
    assert schema["paths"]["/api/run"]["post"]["tags"] == ["compat"]
