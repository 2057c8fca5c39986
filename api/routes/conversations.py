from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from api.deps import CurrentUser, SessionDep, State
from api.services.chats import change_conversation, counted, start_conversation
from api.services.conversations import ConversationService
from api.services.jobs import job_out
from shared.schemas.conversations import (
    ConversationCreate,
    ConversationOut,
    ConversationUpdate,
    MessageAccepted,
    MessageCreate,
    MessageOut,
)

router = APIRouter(prefix="/api/conversations", tags=["conversations"])


class ConversationPage(BaseModel):
    items: list[ConversationOut]
    next_before: datetime | None = None


@router.post("", response_model=ConversationOut, status_code=201)
async def create_conversation(
    body: ConversationCreate,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
    response: Response,
) -> ConversationOut:
    conversation = await start_conversation(state, session, principal, body)
    await session.commit()
    response.headers["Location"] = f"/api/conversations/{conversation.id}"
    return ConversationOut.model_validate(conversation)


@router.get("", response_model=ConversationPage)
async def list_conversations(
    principal: CurrentUser,
    state: State,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[datetime | None, Query(description="updated_at of the last seen")] = None,
) -> ConversationPage:
    rows = await ConversationService(state, session).conversations.list_owned(
        principal.user_id, limit=limit, before=before
    )
    items = [
        ConversationOut.model_validate(c).model_copy(update={"message_count": n}) for c, n in rows
    ]
    return ConversationPage(
        items=items, next_before=items[-1].updated_at if len(items) == limit else None
    )


@router.get("/{conversation_id}", response_model=ConversationOut)
async def get_conversation(
    conversation_id: UUID, principal: CurrentUser, state: State, session: SessionDep
) -> ConversationOut:
    return await counted(state, session, principal, conversation_id)


@router.patch("/{conversation_id}", response_model=ConversationOut)
async def update_conversation(
    conversation_id: UUID,
    body: ConversationUpdate,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
) -> ConversationOut:
    changes = body.model_dump(exclude_unset=True)
    updated = await change_conversation(state, session, principal, conversation_id, changes)
    await session.commit()
    return updated


@router.delete("/{conversation_id}", status_code=204)
async def delete_conversation(
    conversation_id: UUID, principal: CurrentUser, state: State, session: SessionDep
) -> Response:
    service = ConversationService(state, session)
    await service.delete(await service.owned(principal, conversation_id))
    return Response(status_code=204)


@router.get("/{conversation_id}/messages", response_model=list[MessageOut])
async def list_messages(
    conversation_id: UUID, principal: CurrentUser, state: State, session: SessionDep
) -> list[MessageOut]:
    service = ConversationService(state, session)
    await service.owned(principal, conversation_id)
    return [MessageOut.model_validate(m) for m in await service.messages.ordered(conversation_id)]


@router.post("/{conversation_id}/messages", response_model=MessageAccepted, status_code=202)
async def post_message(
    conversation_id: UUID,
    body: MessageCreate,
    request: Request,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
    response: Response,
) -> MessageAccepted:
    """Store the user's message and enqueue the reply; its events stream on the job."""
    service = ConversationService(state, session)
    conversation = await service.owned(principal, conversation_id)
    message, job = await service.post_message(
        principal, conversation, body, request_id=request.state.request_id
    )
    response.headers["Location"] = f"/api/jobs/{job.id}"
    return MessageAccepted(message=MessageOut.model_validate(message), job=job_out(job))
