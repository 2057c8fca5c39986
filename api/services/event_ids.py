"""Event ids as clients send them back to resume a stream (`Last-Event-ID`, `?after=`)."""

from __future__ import annotations

import re

from shared.errors import Invalid

EVENT_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


def parse_after(value: str | None) -> str | None:
    """The id to resume after (None: from the start); 422 when it is not `<ms>-<seq>`."""
    if value is None or value == "":
        return None
    if not EVENT_ID.match(value):
        raise Invalid(f"event id {value!r} is not of the form <ms>-<seq>", field="after")
    return value
