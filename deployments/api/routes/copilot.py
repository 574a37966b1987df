"""/ai/copilot: documents, questions answered over SSE, conversations, feedback and suggestions.

Document parsing, embeddings and generation run in the ``CopilotService`` deployment (through its handle);
listing, deleting, conversations, feedback and suggestions are plain SQL and stay in this replica.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Body, File, Request, Response, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from common.database import TenantTransaction
from common.errors import DomainError, InvalidInputError, PayloadTooLargeError
from copilot import conversations, documents, suggestions
from deployments.api.deps import CallerDep, ModelHandlesDep
from deployments.api.llm_bounds import check_chat_bounds

router = APIRouter(prefix="/ai/copilot", tags=["copilot"])
llm_router = APIRouter(prefix="/ai/llm", tags=["copilot"])


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
    messages: list[Message]


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rating: Literal["up", "down"]
    comment: str | None = Field(default=None, max_length=2000)


class Feedback(BaseModel):
    message_id: UUID
    rating: Literal["up", "down"]
    comment: str | None
    created_at: datetime


@router.post("/documents", status_code=201, response_model=Document, summary="Upload (or replace) a document")
async def upload_document(
    request: Request,
    caller: CallerDep,
    handles: ModelHandlesDep,
    file: Annotated[UploadFile, File(description="PDF, DOCX, plain text, Markdown or CSV")],
) -> Document:
    copilot = handles.require("copilot")
    limit = request.app.state.settings.copilot_max_upload_bytes
    # Read one byte past the limit so an oversized file is refused without shipping it to the service.
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLargeError(
            f"{file.filename!r} exceeds the upload limit of {limit} bytes", details={"max_bytes": limit}
        )
    result = await _unwrap(copilot.ingest.remote(caller.claims.raw, caller.requested_tenant, file.filename or "", data))
    return Document.model_validate(result)


@router.get("/documents", response_model=list[Document], summary="The tenant's documents")
async def list_documents(caller: CallerDep) -> list[Document]:
    async def op(tx: TenantTransaction) -> list[dict]:
        return await documents.list_documents(tx.conn)

    return [Document.model_validate(d) for d in await caller.run(op)]


@router.get("/documents/{document_id}", response_model=Document, summary="One document")
async def get_document(document_id: UUID, caller: CallerDep) -> Document:
    async def op(tx: TenantTransaction) -> dict:
        return await documents.get_document(tx.conn, document_id)

    return Document.model_validate(await caller.run(op))


@router.delete("/documents/{document_id}", status_code=204, summary="Delete a document and its chunks")
async def delete_document(document_id: UUID, caller: CallerDep) -> Response:
    async def op(tx: TenantTransaction) -> None:
        await documents.delete_document(tx.conn, document_id)

    await caller.run(op, write=True)
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
    first = await _unwrap(events.__anext__())
    if not body.stream:
        last = first
        async for event in events:
            last = event
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
        cause = _domain_cause(exc)
        code, message = (
            (cause.code, cause.message) if cause else ("internal_error", "the answer could not be completed")
        )
        yield _sse({"event": "error", "code": code, "message": message})


def _sse(event: dict[str, Any]) -> str:
    return f"event: {event['event']}\ndata: {json.dumps(event, default=str)}\n\n"


@router.get("/conversations", response_model=list[Conversation], summary="Your conversations, latest first")
async def list_conversations(caller: CallerDep) -> list[Conversation]:
    async def op(tx: TenantTransaction) -> list[dict]:
        return await conversations.list_conversations(tx.conn)

    return [Conversation.model_validate(c) for c in await caller.run(op)]


@router.get("/conversations/{conversation_id}", response_model=ConversationWithMessages, summary="One conversation")
async def get_conversation(conversation_id: UUID, caller: CallerDep) -> ConversationWithMessages:
    async def op(tx: TenantTransaction) -> dict:
        conversation = await conversations.get(tx.conn, conversation_id)
        return {**conversation, "messages": await conversations.messages(tx.conn, conversation_id)}

    return ConversationWithMessages.model_validate(await caller.run(op))


@router.delete("/conversations/{conversation_id}", status_code=204, summary="Delete one of your conversations")
async def delete_conversation(conversation_id: UUID, caller: CallerDep) -> Response:
    async def op(tx: TenantTransaction) -> None:
        await conversations.delete(tx.conn, conversation_id)

    await caller.run(op)
    return Response(status_code=204)


@router.put("/messages/{message_id}/feedback", response_model=Feedback, summary="Thumbs up or down on an answer")
async def give_feedback(message_id: UUID, body: FeedbackRequest, caller: CallerDep) -> Feedback:
    async def op(tx: TenantTransaction) -> dict:
        rating = 1 if body.rating == "up" else -1
        return await conversations.give_feedback(tx.conn, tx.tenant_id, message_id, rating, body.comment)

    stored = await caller.run(op)
    return Feedback.model_validate({**stored, "rating": "up" if stored["rating"] > 0 else "down"})


@router.get("/suggestions", summary="Recommended actions, each with its reason")
async def list_suggestions(caller: CallerDep) -> dict[str, list[dict[str, Any]]]:
    async def op(tx: TenantTransaction) -> list[suggestions.Suggestion]:
        return await suggestions.suggest(tx)

    return {"items": [s.as_dict() for s in await caller.run(op)]}


@llm_router.post("/chat/completions", summary="OpenAI-compatible chat completions on the self-hosted model")
async def chat_completions(
    request: Request, body: Annotated[dict[str, Any], Body()], caller: CallerDep, handles: ModelHandlesDep
) -> Response:
    """Any member may call the model directly (it sees no tenant data unless the caller sends it); answers
    are capped at COPILOT_ANSWER_TOKENS tokens so one request cannot hold the engine for minutes, and each
    user may make COPILOT_LLM_REQUESTS_PER_MINUTE calls a minute (429 with Retry-After beyond)."""
    from pydantic import ValidationError
    from ray.serve.llm.openai_api_models import ChatCompletionRequest

    from deployments.llm_server import LLM_MODEL_ID

    llm = handles.require("llm")
    cap = request.app.state.settings.copilot_answer_tokens
    asked = body.get("max_completion_tokens") or body.get("max_tokens") or cap
    if not isinstance(asked, int) or isinstance(asked, bool) or not 1 <= asked <= cap:
        raise InvalidInputError(f"max_tokens must be an integer from 1 to {cap}", code="invalid_max_tokens")
    check_chat_bounds(body, max_prompt_chars=request.app.state.settings.copilot_llm_max_prompt_chars)
    try:
        completion = ChatCompletionRequest.model_validate(
            {**body, "max_tokens": asked, "max_completion_tokens": None, "model": LLM_MODEL_ID}
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        raise InvalidInputError(f"{where}: {first['msg']}", code="validation_error") from None
    per_minute = request.app.state.settings.copilot_llm_requests_per_minute

    async def admit(tx: TenantTransaction) -> None:
        await conversations.admit_llm_request(tx.conn, tx.tenant_id, per_minute)

    await caller.run(admit)
    responses = llm.options(stream=True).chat.remote(completion)
    first_item = await _unwrap(responses.__anext__())
    first_items = first_item if isinstance(first_item, list) else [first_item]
    # The engine refuses some requests (e.g. a prompt longer than its context) with an error object, not
    # chunks: that is an OpenAI error body with its status, streamed or not.
    refusal = next((item for item in first_items if getattr(item, "error", None) is not None), None)
    if refusal is not None:
        return _openai_json(refusal)
    if not completion.stream:
        return _openai_json(first_item)

    async def chunks() -> AsyncIterator[str]:
        for item in first_items:
            yield item
        async for batch in responses:
            for item in batch if isinstance(batch, list) else [batch]:
                if getattr(item, "error", None) is not None:  # the status line is gone: an error event
                    yield f"data: {json.dumps(item.model_dump())}\n\ndata: [DONE]\n\n"
                    return
                yield item

    return StreamingResponse(chunks(), media_type="text/event-stream")


def _openai_json(result: Any) -> JSONResponse:
    error = getattr(result, "error", None)
    if error is not None:
        return JSONResponse(result.model_dump(), status_code=int(getattr(error, "code", 400) or 400))
    return JSONResponse(result.model_dump())


async def _unwrap(awaitable: Any) -> Any:
    """Await a handle call, re-raising a domain error from the other replica as itself (so it maps to 4xx)."""
    try:
        return await awaitable
    except Exception as exc:
        # Ray raises a RayTaskError that also subclasses the original class but carries the class's
        # default code; the original exception, with its code and details, is its ``cause``.
        cause = _domain_cause(exc)
        if cause is not None:
            raise cause from None
        raise


def _domain_cause(exc: BaseException) -> DomainError | None:
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, DomainError) else None
