"""One wording for a body that does not fit its schema, wherever the body is parsed by hand
(a multipart judgment, an older API's body mapped onto a native input)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shared.errors import Invalid

Schema = TypeVar("Schema", bound=BaseModel)


def invalid(exc: ValidationError) -> Invalid:
    """The first problem as `Invalid` (422): `field: message`, with the field named."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or "body"
    return Invalid(f"{field}: {first['msg']}", field=field)


def parse(schema: type[Schema], value: Any) -> Schema:
    try:
        return schema.model_validate(value)
    except ValidationError as exc:
        raise invalid(exc) from exc


def build(schema: type[Schema], /, **fields: Any) -> Schema:
    """A native input built from another body's fields: a 422, not a 500, when they do not fit."""
    return parse(schema, fields)
