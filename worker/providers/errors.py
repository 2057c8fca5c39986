"""Translating SDK and transport failures into Switchyard's provider errors.

| what happened                                   | raised as         | retryable           |
|-------------------------------------------------|-------------------|---------------------|
| 408, 409, 429, 5xx (incl. Anthropic's 529)      | ProviderRetryable | yes, by Retry-After |
| any other 4xx (bad request, auth, not found)    | ProviderRejected  | no                  |
| connection refused/reset, timeout, a stream cut | ProviderRetryable | yes                 |
"""

from __future__ import annotations

import contextlib
import email.utils
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import httpx

from shared.errors import ProviderError, ProviderRejected, ProviderRetryable

try:  # the SDKs moved to httpx2; older releases still use httpx
    import httpx2

    TRANSPORT_ERRORS: tuple[type[Exception], ...] = (
        httpx.TransportError,
        httpx2.TransportError,
        ConnectionError,
        TimeoutError,
    )
except ImportError:  # pragma: no cover - depends on the installed SDK
    TRANSPORT_ERRORS = (httpx.TransportError, ConnectionError, TimeoutError)

RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


def retry_after(headers: Any) -> float | None:
    """Seconds from a Retry-After (or retry-after-ms) header: a number or an HTTP date."""
    if headers is None:
        return None
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def from_status(provider: str, status: int, message: str, headers: Any) -> ProviderError:
    text = f"{provider} answered {status}: {message}"[:500]
    if status in RETRYABLE_STATUSES or status >= 500:
        return ProviderRetryable(text, retry_after=retry_after(headers))
    return ProviderRejected(text)


def from_transport(provider: str, exc: BaseException) -> ProviderRetryable:
    detail = str(exc) or type(exc).__name__
    return ProviderRetryable(f"{provider}: connection failed or was cut: {detail}"[:500])


@contextlib.contextmanager
def translated(name: str, sdk: ModuleType) -> Iterator[None]:
    """Inside, an `openai` or `anthropic` SDK error (both name them alike) becomes the project's
    own: a status by the table above, a connection failure retryable, anything else the SDK
    raises retryable too (a stream it could not parse was cut short)."""
    try:
        yield
    except sdk.APIStatusError as exc:
        raise from_status(name, exc.status_code, exc.message, exc.response.headers) from exc
    except (sdk.APIConnectionError, *TRANSPORT_ERRORS) as exc:
        raise from_transport(name, exc) from exc
    except sdk.APIError as exc:
        raise ProviderRetryable(f"{name}: {exc}"[:500]) from exc
