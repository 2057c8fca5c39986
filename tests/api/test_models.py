from __future__ import annotations

import httpx


async def test_catalogue_is_fetched_by_a_worker_then_served_from_the_shared_cache(
    client: httpx.AsyncClient,
) -> None:
    fresh = (await client.get("/api/models", params={"refresh": "true"})).json()
    assert fresh["cached"] is False
    assert {"mock/echo", "mock/echo-slow", "mock/fail"} <= {m["id"] for m in fresh["models"]}
    assert fresh["errors"] == {}
    again = (await client.get("/api/models")).json()
    assert again["cached"] is True and again["fetched_at"] == fresh["fetched_at"]
