"""`POST /api/ask`: one answer as JSON, or server-sent events (`delta`… then `done`)."""

from __future__ import annotations

import itertools
import json

from fastapi import APIRouter, Depends, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from rag.api_deps import AppServices, require_key
from rag.schema import AskRequest, AskResponse, ValidationErrorResponse, streaming_response_doc

router = APIRouter()


@router.post("/api/ask", response_model=AskResponse, dependencies=[Depends(require_key)],
             responses={**streaming_response_doc("server-sent events: `delta`… then `done` with this JSON"),
                        422: {"model": ValidationErrorResponse, "description": "Invalid question, history or parameters."}})
async def ask(request: AskRequest, http_response: Response, services: AppServices):
    pipeline = services.pipeline()
    if not request.stream:
        answer = await run_in_threadpool(pipeline.ask, request)
        http_response.headers["x-rag-backend"] = answer.backend
        http_response.headers["x-rag-grounding"] = answer.grounding
        return answer

    events = pipeline.events(request)
    first = await run_in_threadpool(next, events)  # retrieval happens here: a store outage is still a 503

    def sse():
        for kind, payload in itertools.chain([first], events):
            data = {"text": payload} if kind == "delta" else payload.model_dump()
            yield f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"

    return StreamingResponse(iterate_in_threadpool(sse()), media_type="text/event-stream")
