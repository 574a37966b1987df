"""/ai/copilot: documents, questions answered over SSE, conversations, feedback and suggestions (the
OpenAI-compatible /ai/llm routes live in ``llm.py``; ``llm_router`` is re-exported here).

Document parsing, embeddings and generation run in the ``CopilotService`` deployment (through its handle);
listing, deleting, conversations, feedback and suggestions are plain SQL and stay in this replica.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Body, File, Request, Response, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from common.database import TenantTransaction
from common.errors import PayloadTooLargeError
from copilot import conversations, documents, suggestions
from deployments.api.deps import CallerDep, ModelHandlesDep
from deployments.api.errors import client_error_fields
from deployments.api.list_route import add_list_route
from deployments.api.listing_params import CursorParam, LimitParam
from deployments.api.model_calls import call_for, client_cause, unwrap
from deployments.api.routes.llm import router as llm_router  # noqa: F401  (app.py mounts it from here)

router = APIRouter(prefix="/ai/copilot", tags=["copilot"])


class Document(BaseModel):
    id: UUID
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    chunk_count: int
    uploaded_by: UUID | None
    created_at: datetime
    replaced_document_id: UUID | None = None


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, description="limited to COPILOT_MAX_QUESTION_CHARS characters")
    conversation_id: UUID | None = Field(default=None, description="continue one of your conversations")
    stream: bool = Field(default=True, description="Server-Sent Events (true) or one JSON answer (false)")


class Conversation(BaseModel):
    id: UUID
    title: str
    created_at: datetime
    updated_at: datetime


class Message(BaseModel):
    id: UUID
    conversation_id: UUID
    role: str
    content: str
    sources: list[dict[str, Any]]
    tool_calls: list[dict[str, Any]]
    created_at: datetime


class ConversationWithMessages(Conversation):
    messages: list[Message] = Field(description="oldest first: the latest, or those before the cursor's page")
    next_cursor: str | None = Field(
        description="pass as cursor to read the messages before these; null once they begin with the first"
    )


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rating: Literal["up", "down"]
    comment: str | None = Field(default=None, max_length=2000)


class Feedback(BaseModel):
    message_id: UUID
    rating: Literal["up", "down"]
    comment: str | None
    created_at: datetime


@router.post(
    "/documents",
    status_code=201,
    response_model=Document,
    summary="Upload (or replace) a document",
    responses={200: {"model": Document, "description": "the same bytes under the same name: the stored document"}},
)
async def upload_document(
    request: Request,
    response: Response,
    caller: CallerDep,
    handles: ModelHandlesDep,
    file: Annotated[UploadFile, File(description="PDF, DOCX, plain text, Markdown or CSV")],
) -> Document:
    """201 with the new document (``replaced_document_id``: the one of the same name it replaced; names compare
    composed, spaces folded, without letter case); 200 with the stored one, unchanged, for the same bytes under the
    same name; 409 ``duplicate_document`` for the same bytes under another name; 400 ``bad_filename`` for a name
    with control or formatting characters or over 255 characters."""
    handles.require("copilot")  # 503 before the upload is read when the copilot is not deployed
    limit = request.app.state.settings.copilot_max_upload_bytes
    # Read one byte past the limit so an oversized file is refused without shipping it to the service.
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLargeError(
            f"{file.filename!r} exceeds the upload limit of {limit} bytes", details={"max_bytes": limit}
        )
    filename = documents.clean_filename(file.filename or "")
    sha256 = hashlib.sha256(data).hexdigest()
    # Bytes already stored are answered here, before the service parses and embeds them again.
    stored = await caller.run(lambda tx: documents.stored_copy(tx.conn, filename, sha256), write=True)
    if stored is None:
        stored = await call_for(caller, handles, "copilot", "ingest", filename, data)
    if stored.get("unchanged"):
        response.status_code = 200
    return Document.model_validate(stored)


add_list_route(
    router,
    "/documents",
    documents.DOCUMENTS,
    Document,
    documents.list_documents,
    "The tenant's documents",
)


@router.get("/documents/{document_id}", response_model=Document, summary="One document")
async def get_document(document_id: UUID, caller: CallerDep) -> Document:
    return Document.model_validate(await caller.run(lambda tx: documents.get_document(tx.conn, document_id)))


@router.delete("/documents/{document_id}", status_code=204, summary="Delete a document and its chunks")
async def delete_document(document_id: UUID, caller: CallerDep) -> Response:
    await caller.run(lambda tx: documents.delete_document(tx.conn, document_id), write=True)
    return Response(status_code=204)


@router.post(
    "/ask",
    summary="Ask a question; answers stream as Server-Sent Events",
    responses={200: {"content": {"text/event-stream": {}, "application/json": {}}}},
)
async def ask(body: Annotated[AskRequest, Body()], caller: CallerDep, handles: ModelHandlesDep) -> Response:
    """Events: ``start`` (conversation_id, sources, tool_calls), ``token`` (text), ``done`` (message_id,
    answer, sources, tool_calls), or ``error``."""
    copilot = handles.require("copilot")
    events = copilot.options(stream=True).ask.remote(
        caller.claims.raw, caller.requested_tenant, body.question, body.conversation_id
    )
    # The first event comes after validation, the rate limit and the conversation check: failures there
    # are still plain 4xx JSON responses.
    first = await unwrap(events.__anext__())
    if not body.stream:
        last = first
        while True:  # each event unwrapped: a failure after the first is still answered as itself
            try:
                last = await unwrap(events.__anext__())
            except StopAsyncIteration:
                break
        return JSONResponse(json.loads(json.dumps(last, default=str)))
    return StreamingResponse(
        _server_sent_events(first, events),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _server_sent_events(first: dict[str, Any], rest: Any) -> AsyncIterator[str]:
    yield _sse(first)
    try:
        async for event in rest:
            yield _sse(event)
    except Exception as exc:  # the status line is gone: report the failure in the stream
        cause = client_cause(exc)
        code, message = (
            client_error_fields(cause) if cause is not None else ("internal_error", "the answer could not be completed")
        )
        yield _sse({"event": "error", "code": code, "message": message})


def _sse(event: dict[str, Any]) -> str:
    return f"event: {event['event']}\ndata: {json.dumps(event, default=str)}\n\n"


add_list_route(
    router,
    "/conversations",
    conversations.CONVERSATIONS,
    Conversation,
    conversations.list_conversations,
    "Your conversations, latest first",
)


@router.get("/conversations/{conversation_id}", response_model=ConversationWithMessages, summary="One conversation")
async def get_conversation(
    conversation_id: UUID, caller: CallerDep, limit: LimitParam = 200, cursor: CursorParam = None
) -> ConversationWithMessages:
    """Its latest ``limit`` messages, oldest first; pass ``next_cursor`` back as ``cursor`` for those before them,
    down to its opening turn."""

    async def op(tx: TenantTransaction) -> dict:
        conversation = await conversations.get(tx.conn, conversation_id)
        page = await conversations.message_page(tx.conn, conversation_id, limit, cursor)
        return {**conversation, "messages": page.items, "next_cursor": page.next_cursor}

    return ConversationWithMessages.model_validate(await caller.run(op))


@router.delete("/conversations/{conversation_id}", status_code=204, summary="Delete one of your conversations")
async def delete_conversation(conversation_id: UUID, caller: CallerDep) -> Response:
    await caller.run(lambda tx: conversations.delete(tx.conn, conversation_id))
    return Response(status_code=204)


@router.put("/messages/{message_id}/feedback", response_model=Feedback, summary="Thumbs up or down on an answer")
async def give_feedback(message_id: UUID, body: FeedbackRequest, caller: CallerDep) -> Feedback:
    async def op(tx: TenantTransaction) -> dict:
        rating = 1 if body.rating == "up" else -1
        return await conversations.give_feedback(tx.conn, tx.tenant_id, message_id, rating, body.comment)

    stored = await caller.run(op)
    return Feedback.model_validate({**stored, "rating": "up" if stored["rating"] > 0 else "down"})


@router.get("/suggestions", summary="Recommended actions, each with its reason")
async def list_suggestions(caller: CallerDep, limit: LimitParam = 20) -> dict[str, Any]:
    """The first ``limit`` suggestions, the sources taking turns, each its most urgent first
    (``copilot.suggestions.suggest``); ``more`` is true when there are others (until 2026-12-07 the list stopped at
    20 without saying so)."""
    found = await caller.run(lambda tx: suggestions.suggest(tx, limit=limit + 1))
    return {"items": [s.as_dict() for s in found[:limit]], "more": len(found) > limit}
