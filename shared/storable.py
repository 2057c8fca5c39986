"""Text made storable.

Postgres refuses NUL in text and JSONB, and UTF-8 cannot encode a lone surrogate (which a
JSON answer may carry as an escape): either one in a result, a message or an event would make
the job fail on every attempt. Both become U+FFFD, as undecodable output bytes already do.
Sandboxed programs and providers produce such text; requests carrying it are refused (422).
"""

from __future__ import annotations

import re
from typing import Any

REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str) -> str:
    return _UNSTORABLE.sub(REPLACEMENT, text)


def storable(value: Any) -> Any:
    """`value` (parsed JSON) with every string, key or not, made storable."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    return value
