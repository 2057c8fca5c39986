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


class SharedPathRoute(APIRoute):
    def claims(self, headers: Headers, body: bytes) -> bool:
        raise NotImplementedError

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if self in scope.get(_PASSED_BY, ()):
            return Match.NONE, {}
        return super().matches(scope)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read_body(receive) if scope["method"] in _BODY_METHODS else b""
        replay = _replaying(body, receive)
        if self.claims(Headers(scope=scope), body):
            await super().handle(scope, replay, send)
            return
        # Route the request again with this route left out: the next match answers it.
        scope[_PASSED_BY] = (*scope.get(_PASSED_BY, ()), self)
        await scope["router"](scope, replay, send)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
