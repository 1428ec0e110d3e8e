"""The OpenAI-compatible API at /v1, served beside the chat by ui/server.py.

    GET    /v1/models                 the one model: this pipeline
    POST   /v1/chat/completions       the last user message is the question, earlier ones the history;
                                      `stream: true` sends server-sent events ending with `data: [DONE]`
    GET    /v1/documents              the indexed documents
    POST   /v1/documents              add files (multipart, field `file`, repeatable): same checks as the chat
    DELETE /v1/documents/{id}         remove one of your documents

The reply's content is the checked answer with its [n] markers; the citations, `abstained`
and `confidence` travel in the extra field `rag` (of the response, or of the final chunk
when streaming). While the answer is written, the generator's draft streams as
`reasoning_content` (what clients show as the model's thinking): the checked answer can drop
or replace the draft's sentences, and a content delta cannot be taken back, so `content`
carries only the checked text. Parameters that cannot change a grounded answer (temperature,
max_tokens, stop, seed, tools with tool_choice "auto"...) are accepted and ignored; those
that ask for what we cannot give (n > 1, a required tool call, JSON output, images) are
refused. Every error is an OpenAI-style error object. Uses only rag's public API.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

import rag

MODEL = "rag-smollm2-135m-minilm"  # the generator and the embedder behind the answers
MAX_MESSAGES = 64  # per request
MAX_MESSAGE_CHARS = 32_000  # per message (the question itself is shortened to 2,000, with a notice)
MAX_STREAMS = int(os.environ.get("RAG_MAX_STREAMS", "8"))  # answers in progress at once; more get 429
TIMEOUT = float(os.environ.get("RAG_API_TIMEOUT", "120"))  # seconds an answer may take, waiting included
MAX_FILES = 20  # per upload request; each file up to rag's own limit (10 MB)
ROLES = {"system", "developer", "user", "assistant", "tool", "function"}

router = APIRouter(prefix="/v1")
_streams = threading.BoundedSemaphore(MAX_STREAMS)


class ApiError(Exception):
    """An error sent as OpenAI sends them: {"error": {"message", "type", "param", "code"}}."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None,
                 type: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.type = status, message, param, code, type

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self) -> JSONResponse:
        headers = {"Retry-After": "5"} if self.status == 429 else None
        return JSONResponse(self.body(), self.status, headers=headers)


def text_of(content, param: str) -> str:
    """A message's text: a string, or the text parts of a list of parts (images are refused)."""
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):
        parts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") not in ("text", "input_text"):
                raise ApiError(400, "only text content is supported (no images, audio or files)", param)
            parts.append(str(part.get("text", "")))
        return " ".join(parts)
    raise ApiError(400, "content must be a string or a list of text parts", param)


def plain(content) -> str:
    """A message's text, leniently: a string, or the text parts of a list (others skipped)."""
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def pairs(messages: list) -> list[tuple[str, str]]:
    """OpenAI-style messages -> (question, answer) pairs: the history `rag` reads follow-ups with.
    System and tool messages are skipped; a question without an answer is dropped."""
    out, question = [], None
    for m in messages or []:
        role, content = m.get("role"), plain(m.get("content"))
        if role == "user":
            question = content
        elif role == "assistant" and question is not None:
            out.append((question, content))
            question = None
    return out


@dataclass(frozen=True)
class Ask:
    """A checked chat-completions request."""

    question: str  # the last user message
    history: list[tuple[str, str]]  # the earlier (question, answer) pairs
    stream: bool
    include_usage: bool  # stream_options.include_usage: a last chunk with `usage`
    messages: list[dict]  # as sent, for `usage`


def parse(body: bytes) -> Ask:
    """Check a chat-completions body, or raise the ApiError that says what is wrong with it."""
    try:
        req = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "the body is not valid JSON") from None
    if not isinstance(req, dict):
        raise ApiError(400, "the body must be a JSON object")
    messages = req.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "`messages` must be a non-empty list of messages", "messages")
    if len(messages) > MAX_MESSAGES:
        raise ApiError(400, f"too many messages ({len(messages)}; at most {MAX_MESSAGES})", "messages")
    for i, m in enumerate(messages):
        param = f"messages[{i}]"
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            raise ApiError(400, f"each message needs a role ({', '.join(sorted(ROLES))})", param)
        if len(text_of(m.get("content"), param)) > MAX_MESSAGE_CHARS:
            raise ApiError(400, f"a message is longer than {MAX_MESSAGE_CHARS} characters", param)
    if messages[-1]["role"] != "user":
        raise ApiError(400, "the last message must be the user's question", "messages")
    if req.get("stream") not in (None, True, False):
        raise ApiError(400, "`stream` must be true or false", "stream")
    if req.get("n") not in (1, None):
        raise ApiError(400, "n must be 1: the answer comes from the documents, there is one", "n")
    choice = req.get("tool_choice")
    if choice == "required" or isinstance(choice, dict):
        raise ApiError(400, "this model calls no tools; tools are ignored, a required tool call is refused",
                       "tool_choice")
    form = req.get("response_format")
    if isinstance(form, dict) and form.get("type", "text") != "text":
        raise ApiError(400, "only text responses: the answer is prose with [n] citation markers",
                       "response_format")
    options = req.get("stream_options") if isinstance(req.get("stream_options"), dict) else {}
    return Ask(text_of(messages[-1]["content"], f"messages[{len(messages) - 1}]"), pairs(messages[:-1]),
               bool(req.get("stream")), bool(options.get("include_usage")), messages)


def citation(c: rag.Citation) -> dict:
    return {"n": c.n, "doc_id": c.doc_id, "title": c.title, "quote": c.quote, "start": c.start, "end": c.end,
            "supported": c.supported}


def extra(a: rag.Answer) -> dict:
    """What travels beside the content: the citations, whether we refused, and how sure we were."""
    return {"citations": [citation(c) for c in a.citations], "abstained": a.abstained,
            "confidence": round(a.confidence, 4), "statements": [asdict(s) for s in a.statements]}


def usage(messages: list[dict], content: str) -> dict:
    """Tokens in the generator's vocabulary: the messages read, the answer written."""
    prompt = sum(rag.count_tokens(plain(m.get("content"))) for m in messages)
    completion = rag.count_tokens(content)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


END = object()


async def pieces(question: str, history: list[tuple[str, str]]) -> AsyncIterator:
    """`rag.stream_answer` run on a thread of its own, its pieces handed over as they come.
    Leaving early (a client that went away, a timeout) stops the answer at its next piece,
    which frees the generator for the next request."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    stop = threading.Event()

    def work() -> None:
        gen = rag.stream_answer(question, history)
        try:
            for piece in gen:
                if stop.is_set():
                    break
                loop.call_soon_threadsafe(queue.put_nowait, piece)
        except BaseException as e:  # noqa: BLE001 - handed to the request, which answers with it
            loop.call_soon_threadsafe(queue.put_nowait, e)
        finally:
            gen.close()
            loop.call_soon_threadsafe(queue.put_nowait, END)

    threading.Thread(target=work, name="rag-answer", daemon=True).start()
    deadline = time.monotonic() + TIMEOUT
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                raise ApiError(504, f"the answer took longer than {TIMEOUT:.0f} s; try again",
                               code="timeout", type="server_error") from None
            if item is END:
                return
            if isinstance(item, rag.RagError):
                raise ApiError(400, str(item), "messages")
            if isinstance(item, BaseException):
                raise ApiError(500, f"the answer failed ({type(item).__name__}); see the server log",
                               type="server_error") from item
            yield item
    finally:
        stop.set()


def _chunk(cid: str, created: int, delta: dict, finish: str | None = None, **more) -> str:
    body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}], **more}
    return event(body)


def event(body: dict) -> str:
    """One server-sent event, compact JSON as OpenAI sends it."""
    return f"data: {json.dumps(body, ensure_ascii=False, separators=(',', ':'))}\n\n"


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
    if not _streams.acquire(blocking=False):  # released once the answer is sent, or its client gone
        return ApiError(429, f"{MAX_STREAMS} answers are already in progress; try again in a few seconds",
                        code="rate_limit_exceeded", type="rate_limit_error").response()
    cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
    it = pieces(ask.question, ask.history)
    try:
        await anext(it)  # the passages (Retrieved): a bad question fails here, before any byte is sent
    except BaseException as e:
        _streams.release()
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
            _streams.release()
        return {"id": cid, "object": "chat.completion", "created": created, "model": MODEL,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": final.text, "refusal": None},
                             "logprobs": None, "finish_reason": "stop"}],
                "usage": await run_in_threadpool(usage, ask.messages, final.text), "rag": extra(final)}

    released = threading.Event()

    def release() -> None:
        if not released.is_set():
            released.set()
            _streams.release()

    async def events() -> AsyncIterator[str]:
        try:
            yield _chunk(cid, created, {"role": "assistant", "content": ""})
            async for piece in it:
                if isinstance(piece, str):
                    yield _chunk(cid, created, {"reasoning_content": piece})
                elif isinstance(piece, rag.Answer):
                    yield _chunk(cid, created, {"content": piece.text})
                    yield _chunk(cid, created, {}, "stop", rag=extra(piece))
                    if ask.include_usage:
                        body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL,
                                "choices": [], "usage": await run_in_threadpool(usage, ask.messages, piece.text)}
                        yield event(body)
            yield "data: [DONE]\n\n"
        except ApiError as e:  # headers are sent: the error travels as an event, as OpenAI's does
            yield event(e.body())
        finally:
            release()
            await it.aclose()

    body = events()
    weakref.finalize(body, release)  # a client gone before the first byte: the body never runs
    return StreamingResponse(body, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


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
