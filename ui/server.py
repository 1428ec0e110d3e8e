"""One process, one pipeline: the chat at /, the OpenAI-compatible API at /v1 (ui/api.py), the MCP
tools at /mcp (streamable HTTP, rag/mcp.py).

Binds 127.0.0.1:7860 by default (`rag.Config`: RAG_HOST, RAG_PORT). On any other address it refuses to
start unless RAG_API_KEY is set. With a key set, every request needs it: API clients send
`Authorization: Bearer <key>`, the page asks for it once and keeps a session cookie
(HttpOnly, SameSite=Lax), uploads and deletions included. Keys are compared in constant
time; a key in the URL is refused (URLs end up in logs and browser history).

Every request is bounded: its body (1 MB; uploads 10 MB a file, 20 files), the time a
client may take to send it or to read the reply (one that stops reading is dropped),
connections at once (uvicorn's limit) and answers in progress (ui/bridge.py).

The body limit is counted here, not by FastAPI's `max_body_size` or Starlette's
`RequestBodyLimitMiddleware`: it must cover the mounted Gradio app as well as /v1, differ by
path (uploads), answer in the API's error format (tests/test_api.py checks the 413's body),
and share one receive wrapper with the stall timeout, which neither library has.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import logging
import socket
import sys
from urllib.parse import parse_qs, unquote

import gradio as gr
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from starlette.requests import cookie_parser
from starlette.routing import Route

import rag

from . import api, app

log = logging.getLogger("rag.server")
BODY_BYTES = 1_000_000  # any request but an upload
UPLOAD_BYTES = api.MAX_FILES * app.MAX_UPLOAD_MB * 1_000_000 + 1_000_000  # multipart overhead included
MAX_CONNECTIONS = 64  # beyond it uvicorn answers 503
MIN_KEY_CHARS = 16
COOKIE = "rag_session"
KEY_PARAMS = {"key", "api_key", "apikey", "token", "access_token", "auth", "authorization", "password"}


class SlowClient(Exception):
    """The client stopped reading (or sending): its connection is dropped."""


def loopback(host: str) -> bool:
    """True when `host` is reachable only from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(a[4][0]).is_loopback for a in socket.getaddrinfo(host, None))
        except OSError:
            return False


def session(key: str) -> str:
    """The cookie that stands for the key: derived from it, never the key itself."""
    return hmac.new(key.encode(), b"rag chat session", hashlib.sha256).hexdigest()


def _headers(scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


class Guard:
    """ASGI middleware in front of everything: the key, the URL check and the bounds."""

    def __init__(self, inner, key: str | None, io_timeout: float = rag.Config.io_timeout) -> None:
        self.inner, self.key, self.io_timeout = inner, key, io_timeout
        self.cookie = session(key) if key else None

    def authorized(self, headers: dict[str, str]) -> bool:
        scheme, _, given = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self.key.encode()):
            return True
        cookies = cookie_parser(headers.get("cookie", ""))
        return hmac.compare_digest(cookies.get(COOKIE, "").encode(), self.cookie.encode())

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.inner(scope, receive, send)
        path, headers = scope["path"], _headers(scope)
        query = unquote(scope.get("query_string", b"").decode("latin-1"))
        if {k.lower() for k in parse_qs(query)} & KEY_PARAMS or (self.key and self.key in query):
            return await self.refuse(scope, send, 400, "the key goes in the Authorization header "
                                     "(Authorization: Bearer <key>), never in the URL", "key_in_url")
        if self.key and path != "/login" and not self.authorized(headers):
            if scope["type"] == "http" and scope["method"] == "GET" and not path.startswith("/v1") \
                    and "text/html" in headers.get("accept", ""):
                return await RedirectResponse("/login", 303)(scope, receive, send)
            return await self.refuse(scope, send, 401, "a key is needed: send Authorization: Bearer <RAG_API_KEY>",
                                     "invalid_api_key")
        if scope["type"] == "websocket":
            return await self.inner(scope, receive, send)
        limit = UPLOAD_BYTES if path.endswith("/upload") or path.startswith("/v1/documents") else BODY_BYTES
        if int(headers.get("content-length") or 0) > limit:
            return await self.refuse(scope, send, 413, f"the request is larger than {limit // 1_000_000} MB",
                                     "request_too_large")
        state = {"read": 0, "body_done": False, "too_big": False}

        async def bounded_receive():
            if state["body_done"]:
                return await receive()  # only a disconnect can come now: wait for it without limit
            try:
                message = await asyncio.wait_for(receive(), self.io_timeout)
            except TimeoutError:
                log.warning("dropped a client that stopped sending its request (%s)", path)
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                state["read"] += len(message.get("body", b""))
                state["body_done"] = not message.get("more_body", False)
                if state["read"] > limit:
                    state["too_big"] = True
                    return {"type": "http.disconnect"}
            return message

        async def bounded_send(message):
            if state["too_big"]:
                return  # the answer to an oversized body is the 413 below
            try:
                await asyncio.wait_for(send(message), self.io_timeout)
            except TimeoutError:
                raise SlowClient from None

        try:
            await self.inner(scope, bounded_receive, bounded_send)
        except SlowClient:
            log.warning("dropped a client that stopped reading (%s)", path)
            return
        except Exception:
            if not state["too_big"]:
                raise
        if state["too_big"]:
            await self.refuse(scope, send, 413, f"the request is larger than {limit // 1_000_000} MB",
                              "request_too_large")

    @staticmethod
    async def refuse(scope, send, status: int, message: str, code: str) -> None:
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        body = api.ApiError(status, message, code=code).body()
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        await JSONResponse(body, status, headers=headers)(scope, None, send)


LOGIN = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Ask the documents: key</title>
<style>body{{font-family:system-ui,sans-serif;max-width:26rem;margin:15vh auto;padding:0 1rem}}
input,button{{font-size:1rem;padding:.5rem;width:100%;box-sizing:border-box;margin:.3rem 0}}
.err{{color:#b00020}}</style></head><body><h1>Ask the documents</h1>
<p>This chat is shared on the network. Enter its key (the server's <code>RAG_API_KEY</code>).</p>
<form method="post" action="/login"><label for="key">Key</label>
<input id="key" name="key" type="password" autocomplete="current-password" autofocus required>
<button type="submit">Open the chat</button></form>{error}</body></html>"""


def mcp_security(host: str):
    """DNS-rebinding protection for /mcp: the Host and Origin headers must name this machine (its
    loopback names, and on another address that address and the machine's own names)."""
    from mcp.server.transport_security import TransportSecuritySettings

    names = {"127.0.0.1", "localhost", "[::1]"}
    if not loopback(host):
        names |= {socket.gethostname(), socket.getfqdn()}
        if host in ("0.0.0.0", "::"):  # every interface: every address of this machine
            try:
                names |= {a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None)}
            except OSError:
                pass
        else:
            names.add(host)
    names = {f"[{n}]" if ":" in n and not n.startswith("[") else n for n in names}
    ports = ("", ":*")  # the default port, or any
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=sorted(n + p for n in names for p in ports),
        allowed_origins=sorted(f"{s}://{n}{p}" for s in ("http", "https") for n in names for p in ports))


class Mcp:
    """The MCP endpoint (rag/mcp.py over streamable HTTP): a new session manager each time the
    server starts (the SDK's runs once), handing requests to it while the server runs."""

    def __init__(self, config: rag.Config) -> None:
        self.config, self.server, self.handler = config, rag.mcp_server(), None

    @contextlib.asynccontextmanager
    async def running(self, _app):
        http = self.server.streamable_http_app(streamable_http_path="/mcp", host=self.config.host,
                                               max_request_body_size=BODY_BYTES,
                                               transport_security=mcp_security(self.config.host))
        async with self.server.session_manager.run():
            self.handler = http.routes[0].endpoint
            try:
                yield
            finally:
                self.handler = None

    async def __call__(self, scope, receive, send):
        if self.handler is None:
            return await JSONResponse(api.ApiError(503, "the MCP endpoint is not running").body(), 503)(
                scope, receive, send)
        await self.handler(scope, receive, send)


def create_app(key: str | None = None, config: rag.Config | None = None) -> Guard:
    """The whole server as one ASGI app: the API router, MCP at /mcp, the login page, the Gradio chat."""
    config = config or rag.Config()
    api.configure(config)
    mcp = Mcp(config)
    server = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, lifespan=mcp.running)
    server.include_router(api.router)
    server.router.routes.append(Route("/mcp", endpoint=mcp))  # before the chat, which is mounted at /

    @server.api_route("/v1/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    async def unknown(rest: str):
        return api.ApiError(404, f"no such endpoint: /v1/{rest}", code="unknown_url").response()

    @server.exception_handler(Exception)
    async def failed(request: Request, e: Exception):  # the details go to the server log only
        return api.ApiError(500, f"the server failed ({type(e).__name__}); see its log", type="server_error").response()

    @server.get("/files/{doc_id}", include_in_schema=False)
    async def document_file(doc_id: str):
        """A PDF of the documents folders, for the chat's "p. N" links (behind the key, as all else)."""
        path = rag.document_file(doc_id)
        if path is None or path.suffix.lower() != ".pdf":
            return api.ApiError(404, f"no PDF document {doc_id!r}", code="not_found").response()
        return FileResponse(path, media_type="application/pdf", content_disposition_type="inline",
                            filename=path.name, headers={"X-Content-Type-Options": "nosniff"})

    @server.get("/login", include_in_schema=False)
    async def login_page():
        return HTMLResponse(LOGIN.format(error=""))

    @server.post("/login", include_in_schema=False)
    async def login(request: Request):
        form = await request.form(max_files=0, max_fields=4)
        given = str(form.get("key", ""))
        if key and hmac.compare_digest(given.encode(), key.encode()):
            page = RedirectResponse("/", 303)
            page.set_cookie(COOKIE, session(key), max_age=30 * 86400, httponly=True, samesite="lax")
            return page
        await asyncio.sleep(1.0)  # slows guessing
        return HTMLResponse(LOGIN.format(error='<p class="err">That is not the key.</p>'), 401)

    demo = app.build().queue(max_size=config.queue_size)  # beyond it Gradio answers "Queue is full"
    server = gr.mount_gradio_app(server, demo, path="/", show_error=False, max_file_size=f"{app.MAX_UPLOAD_MB}mb",
                                  css=app.CSS)
    return Guard(server, key, config.io_timeout)


def fail(message: str) -> None:
    print(message, file=sys.stderr)
    sys.exit(2)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        config = rag.Config.from_env()
    except rag.ConfigError as e:
        fail(f"error: {e}")
    host, port, key = config.host, config.port, config.api_key or None
    if key is None and not loopback(host):
        fail(f"error: RAG_HOST={host} would let anyone on the network read and delete your documents. "
             f"Set RAG_API_KEY to a secret of at least {MIN_KEY_CHARS} characters (for example "
             "`export RAG_API_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')`), "
             "or leave RAG_HOST unset to stay on this machine.")
    if key is not None and len(key) < MIN_KEY_CHARS:
        fail(f"error: RAG_API_KEY is too short to guard the server: use at least {MIN_KEY_CHARS} characters.")
    app.warm_up()
    print(f"Chat: http://{host}:{port}/   API: http://{host}:{port}/v1   MCP: http://{host}:{port}/mcp"
          + ("   (key required)" if key else ""), flush=True)
    uvicorn.run(create_app(key, config), host=host, port=port, log_level="warning", timeout_keep_alive=5,
                limit_concurrency=MAX_CONNECTIONS, timeout_graceful_shutdown=3)


if __name__ == "__main__":
    main()
