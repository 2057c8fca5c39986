from __future__ import annotations

import base64
import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from api.deps import CurrentUser, SessionDep, State
from api.routes.jobs import accepted
from api.services import agents
from api.services.jobs import JobService
from shared.errors import Invalid, NotFound
from shared.schemas.job_state import JobKind
from shared.schemas.jobs import JobOut
from shared.schemas.judge import JudgeInput
from shared.tasks import get_task

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
        return JudgeInput.model_validate(body)
    except json.JSONDecodeError as exc:
        raise Invalid(f"the body is not valid JSON: {exc}", field="body") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise Invalid(f"{field}: {first['msg']}", field=field) from exc


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
    if payload.task:
        try:
            task = get_task(payload.task)
        except NotFound as exc:
            raise Invalid(exc.message, field="task") from exc
        if not task.judge_criteria:
            raise Invalid(f"task {task.name!r} has no judge criteria", field="task")
    payload.model = await agents.resolve_model(
        state.redis, principal, JobKind.judge, payload.model, state.settings.providers
    )
    job = await JobService(state, session).submit(
        principal,
        JobKind.judge,
        payload,
        model=payload.model,
        idempotency_key=idempotency_key,
        request_id=request.state.request_id,
    )
    return accepted(response, job)
