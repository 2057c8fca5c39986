from __future__ import annotations

import base64
import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from starlette.datastructures import UploadFile

from api.deps import CurrentUser, SessionDep, State
from api.routes.jobs import accepted
from api.services import validation
from api.services.judgments import submit_judgment
from shared.errors import Invalid
from shared.schemas.jobs import JobOut
from shared.schemas.judge import JudgeInput

router = APIRouter(prefix="/api", tags=["judge"])

MAX_IMAGE_BYTES = 10 * 1024 * 1024
IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}


async def _parse(request: Request) -> JudgeInput:
    """JSON, or multipart with a `payload` JSON field and an `image` file."""
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith("multipart/form-data"):
            form = await request.form(max_files=1, max_fields=5)
            body = json.loads(str(form.get("payload") or "{}"))
            image = form.get("image")
            if isinstance(image, UploadFile):
                _subject_of(body)["image"] = await _data_url(image)
        else:
            body = await request.json()
    except json.JSONDecodeError as exc:
        raise Invalid(f"the body is not valid JSON: {exc}", field="body") from exc
    return validation.parse(JudgeInput, body)


def _subject_of(body: Any) -> dict[str, Any]:
    """The `subject` object of a multipart payload, to put the uploaded image in."""
    if not isinstance(body, dict):
        raise Invalid("payload must be a JSON object", field="payload")
    subject = body.setdefault("subject", {})
    if not isinstance(subject, dict):
        raise Invalid("subject must be an object with `text` and/or `image`", field="subject")
    return subject


async def _data_url(image: UploadFile) -> str:
    if image.content_type not in IMAGE_TYPES:
        raise Invalid(
            f"image type {image.content_type!r} is not one of {sorted(IMAGE_TYPES)}", field="image"
        )
    data = await image.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise Invalid("the image is larger than 10 MiB", field="image")
    return f"data:{image.content_type};base64,{base64.b64encode(data).decode()}"


@router.post(
    "/judgments",
    response_model=JobOut,
    status_code=202,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": JudgeInput.model_json_schema()},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "payload": {
                                "type": "string",
                                "description": "the JSON body, without the image",
                            },
                            "image": {"type": "string", "format": "binary"},
                        },
                    }
                },
            }
        }
    },
)
async def create_judgment(
    request: Request,
    response: Response,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JobOut:
    """Score a subject (text and/or image) against criteria or a rubric; the verdict is the
    job's result."""
    payload = await _parse(request)
    job = await submit_judgment(
        state,
        session,
        principal,
        payload,
        idempotency_key=idempotency_key,
        request_id=request.state.request_id,
    )
    return accepted(response, job)
