"""/ai/llm: the self-hosted model behind an OpenAI-compatible API (models and chat completions).

Clients such as the official ``openai`` package, LangChain, LiteLLM or Open WebUI list the models first, then
call chat completions with one of them; an unknown model name is refused with OpenAI's error body (404
``model_not_found``). Every route needs a member's token, like the rest of the API.
"""

from __future__ import annotations

import json
import logging
import pickle
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, TypeAdapter, ValidationError

from common.database import TenantTransaction
from common.errors import InvalidInputError
from copilot import conversations
from deployments.api.deps import MemberDep, ModelHandlesDep
from deployments.api.llm_bounds import check_chat_bounds
from deployments.api.model_calls import unwrap
from deployments.llm_server import LLM_MODEL_ID

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/ai/llm", tags=["copilot"])
OWNER = "chainsight"


class Model(BaseModel):
    """OpenAI's model object."""

    id: str
    object: str = "model"
    created: int = 0
    owned_by: str = OWNER


class ModelList(BaseModel):
    object: str = "list"
    data: list[Model]


def model_not_found(name: object) -> JSONResponse:
    """OpenAI's answer to a model it does not serve: 404 with ``error.code = model_not_found``."""
    return JSONResponse(
        {
            "error": {
                "message": f"The model {name!r} does not exist; this server serves {LLM_MODEL_ID!r}.",
                "type": "invalid_request_error",
                "param": "model",
                "code": "model_not_found",
            }
        },
        status_code=404,
    )


@router.get("/models", response_model=ModelList, summary="The models served (OpenAI-compatible)")
async def list_models(caller: MemberDep, handles: ModelHandlesDep) -> ModelList:
    handles.require("llm")
    return ModelList(data=[Model(id=LLM_MODEL_ID)])


@router.get(
    "/models/{model_id}",
    response_model=Model,
    summary="One served model (OpenAI-compatible); 404 model_not_found otherwise",
    responses={404: {"description": "OpenAI error body, code model_not_found"}},
)
async def get_model(model_id: str, caller: MemberDep, handles: ModelHandlesDep) -> Model | JSONResponse:
    handles.require("llm")
    return Model(id=LLM_MODEL_ID) if model_id == LLM_MODEL_ID else model_not_found(model_id)


_JSON_OBJECT = TypeAdapter(dict[str, Any])


async def member_json_object(request: Request, caller: MemberDep) -> dict[str, Any]:
    """The request's JSON object, read once the caller is a member (403 otherwise): a non-member learns nothing
    from how their body is refused. FastAPI parses a declared body before any dependency runs, so it is read here,
    with FastAPI's errors (400 malformed_json, 422 for a missing body or one that is no JSON object)."""
    raw = await request.body()
    if not raw:
        raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}])
    value: Any = raw
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    ):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise RequestValidationError(
                [{"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error", "input": {}}]
            ) from None
        except (ValueError, RecursionError):
            # Bytes that are no UTF-8, an integer past Python's 4,300 digits, or nesting deeper than the parser
            # recurses (JSONDecodeError is a ValueError too, answered above with its position): malformed.
            raise RequestValidationError(
                [{"type": "json_invalid", "loc": ("body", 0), "msg": "JSON decode error", "input": {}}]
            ) from None
    try:
        return _JSON_OBJECT.validate_python(value)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise RequestValidationError([{**error, "loc": ("body", *error["loc"])} for error in errors]) from None


_JSON_OBJECT_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True, "title": "Body"}}},
}


@router.post(
    "/chat/completions",
    summary="OpenAI-compatible chat completions on the self-hosted model",
    openapi_extra={"requestBody": _JSON_OBJECT_BODY},
)
async def chat_completions(
    request: Request,
    body: Annotated[dict[str, Any], Depends(member_json_object)],
    caller: MemberDep,
    handles: ModelHandlesDep,
) -> Response:
    """Any member may call the model directly (it sees no tenant data unless the caller sends it); answers
    are capped at COPILOT_ANSWER_TOKENS tokens so one request cannot hold the engine for minutes, and each
    user may make COPILOT_LLM_REQUESTS_PER_MINUTE calls a minute (429 with Retry-After beyond). ``model``
    may be left out; any name but the served one is a 404 ``model_not_found`` in OpenAI's error shape."""
    llm = handles.require("llm")
    if body.get("model") not in (None, LLM_MODEL_ID):
        return model_not_found(body["model"])
    cap = request.app.state.settings.copilot_answer_tokens
    # The first one given, 0 included (refused below as OpenAI does), not the first truthy one.
    asked = next((body[k] for k in ("max_completion_tokens", "max_tokens") if body.get(k) is not None), cap)
    if not isinstance(asked, int) or isinstance(asked, bool) or not 1 <= asked <= cap:
        raise InvalidInputError(f"max_tokens must be an integer from 1 to {cap}", code="invalid_max_tokens")
    check_chat_bounds(body, max_prompt_chars=request.app.state.settings.copilot_llm_max_prompt_chars)
    completion = _chat_request({**body, "max_tokens": asked, "max_completion_tokens": None, "model": LLM_MODEL_ID})
    per_minute = request.app.state.settings.copilot_llm_requests_per_minute

    async def admit(tx: TenantTransaction) -> None:
        await conversations.admit_llm_request(tx.conn, tx.tenant_id, per_minute)

    await caller.run(admit)
    responses = llm.options(stream=True).chat.remote(completion)
    first_item = await unwrap(responses.__anext__())
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
        try:
            async for batch in responses:
                for item in batch if isinstance(batch, list) else [batch]:
                    if getattr(item, "error", None) is not None:  # the status line is gone: an error event
                        yield f"data: {json.dumps(item.model_dump())}\n\ndata: [DONE]\n\n"
                        return
                    yield item
        except Exception:
            # The engine's replica died or the call broke mid-stream: the status line is gone, so an OpenAI error
            # event and [DONE] (a client otherwise saw the body stop, a connection error).
            logger.exception("the model call broke off mid-stream")
            error = {"message": "the model call failed", "type": "InternalServerError", "code": 500}
            yield f"data: {json.dumps({'error': error})}\n\ndata: [DONE]\n\n"

    return StreamingResponse(chunks(), media_type="text/event-stream")


def _chat_request(body: dict[str, Any]) -> Any:
    """The body as vLLM's request model, or a 400 ``validation_error`` for anything it refuses."""
    import ray.cloudpickle
    from ray.serve.llm.openai_api_models import ChatCompletionRequest
    from vllm.exceptions import VLLMValidationError

    try:
        completion = ChatCompletionRequest.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        raise InvalidInputError(f"{where}: {first['msg']}", code="validation_error") from None
    except VLLMValidationError as exc:
        # vLLM's own checks (tools given empty, stream_options without stream...) are no ValueError, so pydantic
        # lets them through: they were 500s. Its message, without the refused value it appends.
        where = f"{exc.parameter}: " if exc.parameter else ""
        raise InvalidInputError(f"{where}{exc.args[0]}", code="validation_error") from None
    except (TypeError, AttributeError):
        # vLLM's checks that run before pydantic's take some fields' shapes for granted (tool_calls iterated, ...).
        raise InvalidInputError(
            "a field of the request has the wrong type for a chat completion request", code="validation_error"
        ) from None
    _read_lazy_fields(completion)
    try:
        # The handle call pickles it too, but after the rate limit took its slot: a value it cannot send was a 500.
        ray.cloudpickle.dumps(completion)
    except (TypeError, pickle.PicklingError):
        raise InvalidInputError(
            "the request holds a value that cannot be sent to the model", code="validation_error"
        ) from None
    return completion


def _read_lazy_fields(completion: Any) -> None:
    """Read the message fields the request model left lazy, so that a bad item is refused now.

    A field typed ``Iterable`` (content parts matching no part type, an image part without its image) is validated
    only as it is read, and cannot be pickled unread: the handle call failed (a 500) after the rate limit had taken
    its slot."""
    for index, message in enumerate(completion.messages):
        for field, value in message.items():
            if isinstance(value, Iterator):
                try:
                    message[field] = list(value)
                except ValidationError as exc:
                    # The first error names one of the item types it was tried as; the item matched none of them.
                    item = exc.errors()[0].get("loc", ("?",))[0]
                    raise InvalidInputError(
                        f"messages.{index}.{field}.{item}: matches none of the shapes a {field} item may take",
                        code="validation_error",
                    ) from None


def _openai_json(result: Any) -> JSONResponse:
    error = getattr(result, "error", None)
    if error is not None:
        return JSONResponse(result.model_dump(), status_code=int(getattr(error, "code", 400) or 400))
    return JSONResponse(result.model_dump())
