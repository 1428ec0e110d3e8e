"""The OpenAI-compatible API at /v1, served beside the chat by ui/server.py.

    GET    /v1/models                 the one model: this pipeline
    POST   /v1/chat/completions       the last user message is the question, earlier ones the history;
                                      `stream: true` sends server-sent events ending with `data: [DONE]`
    GET    /v1/documents              the indexed documents
    POST   /v1/documents              add files (multipart, field `file`, repeatable): same checks as the chat
    DELETE /v1/documents/{id}         remove one of your documents

The reply's content is the checked answer with its [n] markers; the citations, `abstained`
and `confidence` travel in the extra field `rag` (of the response, or of the final chunk
when streaming). Streamed, `content` grows sentence by sentence, each sent as soon as it passed
the check (`rag.Verified`): a content delta cannot be taken back, so only checked text goes
there. The generator's draft, while it is written, streams as `reasoning_content` (what clients
show as the model's thinking). What a request may ask for: ui/schema.py. Every error is an
OpenAI-style error object. Uses only rag's public API.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import AsyncIterator

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

import rag

from .bridge import Streams, pieces
from .schema import MODEL, ApiError, chunk, event, extra, parse, usage

MAX_FILES = 20  # per upload request; each file up to rag's own limit (10 MB)

router = APIRouter(prefix="/v1")
_defaults = rag.Config()
streams = Streams(_defaults.max_streams, _defaults.api_timeout)  # set from the config by `configure`


def configure(config: rag.Config) -> None:
    """The API's bounds from the settings: answers in progress at once, seconds per answer."""
    global streams
    streams = Streams(config.max_streams, config.api_timeout)


@router.get("/models")
async def models() -> dict:
    return {"object": "list", "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "local"}]}


@router.get("/models/{name}")
async def model(name: str):
    if name != MODEL:
        return ApiError(404, f"no model {name!r}; this server has {MODEL!r}", "model", "model_not_found").response()
    return {"id": MODEL, "object": "model", "created": 0, "owned_by": "local"}


@router.post("/chat/completions")
async def chat_completions(request: Request):
    try:
        ask = parse(await request.body())
    except ApiError as e:
        return e.response()
    cap = streams
    if not cap.acquire():  # released once the answer is sent, or its client gone
        return cap.busy().response()
    cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
    it = pieces(ask.question, ask.history, cap.timeout)
    try:
        await anext(it)  # the passages (Retrieved): a bad question fails here, before any byte is sent
    except BaseException as e:
        cap.release()
        await it.aclose()
        if isinstance(e, ApiError):
            return e.response()
        raise
    if not ask.stream:
        try:
            final = None
            async for piece in it:
                final = piece if isinstance(piece, rag.Answer) else final
        except ApiError as e:
            return e.response()
        finally:
            cap.release()
        return {"id": cid, "object": "chat.completion", "created": created, "model": MODEL,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": final.text, "refusal": None},
                             "logprobs": None, "finish_reason": "stop"}],
                "usage": await run_in_threadpool(usage, ask.messages, final.text), "rag": extra(final)}

    released = threading.Event()

    def release() -> None:
        if not released.is_set():
            released.set()
            cap.release()

    async def events() -> AsyncIterator[bytes]:
        try:
            yield chunk(cid, created, {"role": "assistant", "content": ""})
            async for piece in it:
                if isinstance(piece, str):
                    yield chunk(cid, created, {"reasoning_content": piece})
                elif isinstance(piece, rag.Verified):  # the answer's text, as each sentence passes
                    yield chunk(cid, created, {"content": piece.text})
                elif isinstance(piece, rag.Answer):
                    yield chunk(cid, created, {}, "stop", rag=extra(piece))
                    if ask.include_usage:
                        body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL,
                                "choices": [], "usage": await run_in_threadpool(usage, ask.messages, piece.text)}
                        yield event(body)
            yield event("[DONE]")
        except ApiError as e:  # headers are sent: the error travels as an event, as OpenAI's does
            yield event(e.body())
        finally:
            release()
            await it.aclose()

    body = events()
    weakref.finalize(body, release)  # a client gone before the first byte: the body never runs
    return EventSourceResponse(body, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _document(doc_id: str, title: str, chunks: int, mine: bool) -> dict:
    return {"id": doc_id, "object": "document", "title": title, "chunks": chunks, "source": "yours" if mine else "seed"}


@router.get("/documents")
async def documents() -> dict:
    rows = await run_in_threadpool(rag.documents)
    return {"object": "list", "data": [_document(*row) for row in rows]}


@router.post("/documents")
async def add_documents(request: Request):
    """Multipart upload; each file is checked as the chat's sidebar checks it (type, size, content)."""
    try:
        async with request.form(max_files=MAX_FILES, max_fields=MAX_FILES, max_part_size=1_000_000) as form:
            files = [v for _, v in form.multi_items() if isinstance(v, UploadFile)]
            if not files:
                return ApiError(400, "no files: send them as multipart/form-data fields named `file`",
                                "file").response()
            added, skipped = await _store(files)
    except (MultiPartException, HTTPException) as e:  # a broken multipart body, too many files
        detail = getattr(e, "message", None) or getattr(e, "detail", "")
        return ApiError(400, f"expected a multipart/form-data body with `file` fields ({detail})", "file").response()
    chunks = {doc_id: n for doc_id, _, n, _ in await run_in_threadpool(rag.documents)} if added else {}
    return JSONResponse({"object": "list",
                         "added": [_document(d.id, d.title, chunks.get(d.id, 0), True) for d in added],
                         "skipped": [{"name": os.path.basename(str(s.path)), "reason": s.reason} for s in skipped]},
                        201 if added else 200)


async def _store(files: list[UploadFile]):
    """Copy the uploads to temporary files and hand them to rag, under the names they were sent with."""
    with tempfile.TemporaryDirectory(prefix="rag-upload-") as tmp:
        paths, names = [], []
        for i, f in enumerate(files):
            path = os.path.join(tmp, str(i))
            with open(path, "wb") as out:
                while block := await f.read(1 << 20):
                    out.write(block)
            paths.append(path)
            names.append(os.path.basename(f.filename or f"upload-{i}.txt"))
        return await run_in_threadpool(rag.add_documents, paths, names)


@router.delete("/documents/{doc_id}")
async def remove_document(doc_id: str):
    if not await run_in_threadpool(rag.remove_document, doc_id):
        return ApiError(404, f"{doc_id!r} is not one of your documents (seed documents cannot be removed)",
                        "doc_id", "document_not_found").response()
    return {"id": doc_id, "object": "document", "deleted": True}
