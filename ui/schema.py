"""What the OpenAI-compatible API reads and writes: the chat-completions request, checked by
pydantic models, the OpenAI-style error object, and the shape of replies and stream chunks.

A request is refused with an `ApiError` that names the parameter at fault (`messages[3]`,
`n`); parameters that cannot change a grounded answer are accepted and ignored (extra fields
pass). Leaves out: the routes (ui/api.py) and running the answer (ui/bridge.py).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Literal

from fastapi.responses import JSONResponse
from fastapi.sse import format_sse_event
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator

import rag

MODEL = "rag-smollm2-135m-minilm"  # the generator and the embedder behind the answers
MAX_MESSAGES = 64  # per request
MAX_MESSAGE_CHARS = 32_000  # per message (the question itself is shortened to 2,000, with a notice)
ROLES = ("system", "developer", "user", "assistant", "tool", "function")


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


def text_of(content) -> str:
    """A message's text: a string, or the text parts of a list of parts (images are refused)."""
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):
        parts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") not in ("text", "input_text"):
                raise ValueError("only text content is supported (no images, audio or files)")
            parts.append(str(part.get("text", "")))
        return " ".join(parts)
    raise ValueError("content must be a string or a list of text parts")


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal[ROLES]
    content: Any = None

    @field_validator("content")
    @classmethod
    def _text(cls, content):
        if len(text_of(content)) > MAX_MESSAGE_CHARS:
            raise ValueError(f"a message is longer than {MAX_MESSAGE_CHARS} characters")
        return content

    @property
    def text(self) -> str:
        return text_of(self.content)


class ChatRequest(BaseModel):
    """A chat-completions body; what it may not ask for is refused with the reason."""

    model_config = ConfigDict(extra="allow")

    messages: list[Message] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: StrictBool | None = None
    n: int | None = None
    tool_choice: Any = None
    response_format: Any = None
    stream_options: Any = None

    def check(self) -> None:
        if self.messages[-1].role != "user":
            raise ApiError(400, "the last message must be the user's question", "messages")
        if self.n not in (1, None):
            raise ApiError(400, "n must be 1: the answer comes from the documents, there is one", "n")
        if self.tool_choice == "required" or isinstance(self.tool_choice, dict):
            raise ApiError(400, "this model calls no tools; tools are ignored, a required tool call is refused",
                           "tool_choice")
        form = self.response_format
        if isinstance(form, dict) and form.get("type", "text") != "text":
            raise ApiError(400, "only text responses: the answer is prose with [n] citation markers",
                           "response_format")


_MESSAGES = {  # what a pydantic error on a field means, in the words of the API
    "messages": f"`messages` must be a non-empty list of at most {MAX_MESSAGES} messages",
    "role": f"each message needs a role ({', '.join(sorted(ROLES))})",
    "stream": "`stream` must be true or false",
    "n": "n must be 1: the answer comes from the documents, there is one",
}


def _refusal(e: ValidationError) -> ApiError:
    """The first pydantic error as an OpenAI-style 400: its parameter and a plain message."""
    err = e.errors()[0]
    loc = [str(x) for x in err["loc"]]
    if not loc:
        return ApiError(400, "the body must be a JSON object")
    param, key = loc[0], loc[0]
    if loc[0] == "messages" and len(loc) > 1:  # one message: "messages[3]", about its role or content
        param, key = f"messages[{loc[1]}]", loc[2] if len(loc) > 2 else "role"
    message = _MESSAGES.get(key) if err["type"] != "value_error" else None
    return ApiError(400, message or str(err.get("ctx", {}).get("error") or err["msg"]), param)


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


def plain(content) -> str:
    """A message's text, leniently: a string, or the text parts of a list (others skipped)."""
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


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
        raw = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "the body is not valid JSON") from None
    if not isinstance(raw, dict):
        raise ApiError(400, "the body must be a JSON object")
    try:
        req = ChatRequest.model_validate(raw)
    except ValidationError as e:
        raise _refusal(e) from None
    req.check()
    options = req.stream_options if isinstance(req.stream_options, dict) else {}
    messages = raw["messages"]
    return Ask(req.messages[-1].text, pairs(messages[:-1]), bool(req.stream), bool(options.get("include_usage")),
               messages)


def citation(c: rag.Citation) -> dict:
    return {"n": c.n, "doc_id": c.doc_id, "title": c.title, "quote": c.quote, "start": c.start, "end": c.end,
            "page": c.page, "supported": c.supported}


def extra(a: rag.Answer) -> dict:
    """What travels beside the content: the citations, whether we refused, and how sure we were."""
    return {"citations": [citation(c) for c in a.citations], "abstained": a.abstained,
            "confidence": round(a.confidence, 4), "statements": [asdict(s) for s in a.statements]}


def usage(messages: list[dict], content: str) -> dict:
    """Tokens in the generator's vocabulary: the messages read, the answer written."""
    prompt = sum(rag.count_tokens(plain(m.get("content"))) for m in messages)
    completion = rag.count_tokens(content)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def event(body: dict | str) -> bytes:
    """One server-sent event (FastAPI's framing): compact JSON as OpenAI sends it, or a raw string."""
    data = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return format_sse_event(data_str=data)


def chunk(cid: str, created: int, delta: dict, finish: str | None = None, **more) -> bytes:
    body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}], **more}
    return event(body)
