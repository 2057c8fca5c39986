"""Paths an older API shares with the native one, decided by what the request carries.

A `SharedPathRoute` is registered before the native route of its path. It reads the request
(the headers, and the body, which it then replays) and asks `claims()`: when True its own
endpoint answers; otherwise the request goes on to the next route that matches, exactly as if
this route were not there. So the native route answers everything the older API would not
have sent, and neither depends on the other's code.
"""

from __future__ import annotations

from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.routing import Match
from starlette.types import Message, Receive, Scope, Send

_BODY_METHODS = {"POST", "PUT", "PATCH"}
_PASSED_BY = "switchyard.shared_path.passed_by"
CLAIM_BODY_BYTES = 8 * 1024 * 1024


class SharedPathRoute(APIRoute):
    def claims(self, headers: Headers, body: bytes) -> bool:
        raise NotImplementedError

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if self in scope.get(_PASSED_BY, ()):
            return Match.NONE, {}
        return super().matches(scope)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        body, complete = b"", True
        if scope["method"] in _BODY_METHODS:
            body, complete = await _read_body(receive)
        replay = _replaying(body, complete, receive)
        if complete and self.claims(Headers(scope=scope), body):
            await super().handle(scope, replay, send)
            return
        # Route the request again with this route left out: the next match answers it.
        scope[_PASSED_BY] = (*scope.get(_PASSED_BY, ()), self)
        await scope["router"](scope, replay, send)


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The body, read up to `CLAIM_BODY_BYTES`; False when there is more (never claimed: the
    older APIs' bodies are small, and the native route applies its own limits)."""
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = message["type"] == "http.request" and message.get("more_body", False)
        if not more or size > CLAIM_BODY_BYTES:
            return b"".join(chunks), not more


def _replaying(body: bytes, complete: bool, receive: Receive) -> Receive:
    """`receive` as if nothing had been read: the body read so far, then the rest."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": not complete}
        return await receive()

    return replay
