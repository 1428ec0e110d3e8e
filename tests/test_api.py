"""The OpenAI-compatible API and the guard in front of the server, in process, with fakes at
the model boundary (the live server and the real `openai` client: tests/test_api_live.py)."""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import time
import warnings

import pytest
from starlette.testclient import TestClient

import rag
from rag.pipeline import Pipeline
from tests.conftest import ROOT, FakeEmbedder, FakeGenerator
from tests.test_pipeline import FAKE_CONFIDENCE, copy_first_passage_sentence
from ui import api, server
from ui.bridge import Streams

KEY = "a-long-enough-test-key-0123456789"
Q = "Who repairs the solar lamps in the SoULS project?"


@pytest.fixture
def pipe(config, monkeypatch):
    p = Pipeline(config.with_(min_confidence=FAKE_CONFIDENCE), FakeEmbedder(),
                 FakeGenerator(copy_first_passage_sentence), log=lambda *_: None)
    monkeypatch.setattr(rag, "_pipeline", p)
    return p


def build(key: str | None = None):
    """The server's app. Building Gradio's Blocks makes event loops and drops them unclosed
    (gradio.utils.safe_get_lock): they are collected here with their ResourceWarnings
    silenced, rather than at random during a later test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        app = server.create_app(key)
        asyncio.set_event_loop(None)  # the last loop gradio set as current
        gc.collect()
    return app


@pytest.fixture(scope="module")
def asgi():
    return build()


@pytest.fixture
def client(pipe, asgi):
    with TestClient(asgi) as c:
        yield c


def ask(question=Q, **more) -> dict:
    return {"model": "anything", "messages": [{"role": "user", "content": question}], **more}


def events(response) -> list:
    """The server-sent events of a streamed reply, decoded ("[DONE]" kept as is)."""
    out = []
    for line in response.iter_lines():
        if line.startswith("data: "):
            data = line[len("data: "):]
            out.append(data if data == "[DONE]" else json.loads(data))
    return out


def test_models_names_the_one_model(client):
    r = client.get("/v1/models")
    assert r.status_code == 200 and [m["id"] for m in r.json()["data"]] == [api.MODEL]
    assert client.get(f"/v1/models/{api.MODEL}").json()["id"] == api.MODEL
    assert client.get("/v1/models/gpt-4").json()["error"]["code"] == "model_not_found"


def test_completion_is_the_checked_answer_with_its_citations_and_usage(client, pipe):
    expected = pipe.answer(Q)
    r = client.post("/v1/chat/completions", json=ask(temperature=0.7, max_tokens=5, top_p=0.1, seed=1))
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "chat.completion" and body["model"] == api.MODEL
    choice = body["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": expected.text, "refusal": None}
    assert choice["finish_reason"] == "stop" and "[1]" in expected.text
    cites = body["rag"]["citations"]
    assert [c["doc_id"] for c in cites] == [c.doc_id for c in expected.citations]
    assert set(cites[0]) == {"n", "doc_id", "title", "quote", "start", "end", "page", "supported"}
    assert body["rag"]["abstained"] is False and body["rag"]["statements"]
    u = body["usage"]
    assert u["prompt_tokens"] == len(Q.split()) and u["completion_tokens"] == len(expected.text.split())
    assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]


def test_streaming_sends_the_draft_then_the_checked_answer_and_ends_with_done(client, pipe):
    expected = pipe.answer(Q)
    draft = "".join(p for p in pipe.stream(Q) if isinstance(p, str))
    streamed = ask(stream=True, stream_options={"include_usage": True})
    with client.stream("POST", "/v1/chat/completions", json=streamed) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        got = events(r)
    assert got[-1] == "[DONE]"
    chunks = got[:-1]
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == chunks[0]["id"] for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert "".join(d.get("reasoning_content", "") for d in deltas) == draft
    assert "".join(d.get("content") or "" for d in deltas) == expected.text
    final = next(c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"] == "stop")
    assert final["rag"]["citations"][0]["doc_id"] == expected.citations[0].doc_id
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0


def test_content_streams_sentence_by_sentence_as_each_passes_the_check(client, pipe):
    pipe.generator.reply = ("The SoULS project assembles solar lamps locally in rural Bihar. "
                            "Local women are trained to repair the lamps. The lamps cost 900 euros.")
    with client.stream("POST", "/v1/chat/completions", json=ask("What is the SoULS project?", stream=True)) as r:
        deltas = [c["choices"][0]["delta"] for c in events(r)[:-1] if c["choices"]]
    content = [i for i, d in enumerate(deltas) if d.get("content")]
    assert [deltas[i]["content"] for i in content] == [
        "The SoULS project assembles solar lamps locally in rural Bihar. [1]",
        " Local women are trained to repair the lamps. [1]"]
    drafted = [i for i, d in enumerate(deltas) if d.get("reasoning_content")]
    assert content[0] < drafted[-1]  # the first sentence went out while the rest was being written
    assert "900" not in "".join(deltas[i]["content"] for i in content)  # it failed the check: never sent


def test_earlier_messages_are_the_history_of_a_follow_up(client, pipe):
    history = [("What do the lamps of SoULS do?", "Children study longer in the evening thanks to the lamps. [1]")]
    expected = pipe.answer("Who repairs them?", history)
    messages = [{"role": "system", "content": "You are helpful."},
                {"role": "user", "content": history[0][0]},
                {"role": "assistant", "content": history[0][1]},
                {"role": "user", "content": [{"type": "text", "text": "Who repairs them?"}]}]
    body = client.post("/v1/chat/completions", json={"messages": messages}).json()
    assert body["choices"][0]["message"]["content"] == expected.text
    assert body["rag"]["citations"][0]["doc_id"] == "solar"


def test_an_off_topic_question_is_refused_with_abstained_set(client):
    body = client.post("/v1/chat/completions", json=ask("What was the GDP of France in 2019?")).json()
    assert body["rag"]["abstained"] is True and "can't answer" in body["choices"][0]["message"]["content"]
    assert not any(c["supported"] for c in body["rag"]["citations"])


@pytest.mark.parametrize("body, param", [
    (b"{not json", None),
    (b"[1, 2]", None),
    (b'{"messages": []}', "messages"),
    (b'{"messages": "hi"}', "messages"),
    (b'{"messages": [{"role": "wizard", "content": "hi"}]}', "messages[0]"),
    (b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}', "messages"),
    (json.dumps({"messages": [{"role": "user", "content": "x"}] * 65}).encode(), "messages"),
    (json.dumps({"messages": [{"role": "user", "content": "x" * 40_000}]}).encode(), "messages[0]"),
    (json.dumps({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]})
     .encode(), "messages[0]"),
    (json.dumps({**ask(), "n": 2}).encode(), "n"),
    (json.dumps({**ask(), "stream": "yes"}).encode(), "stream"),
    (json.dumps({**ask(), "tool_choice": "required", "tools": [{"type": "function"}]}).encode(), "tool_choice"),
    (json.dumps({**ask(), "response_format": {"type": "json_object"}}).encode(), "response_format"),
    (json.dumps(ask("   ")).encode(), "messages"),
])
def test_a_malformed_request_gets_a_400_with_an_openai_error(client, body, param):
    r = client.post("/v1/chat/completions", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"} and err["type"] == "invalid_request_error"
    assert err["param"] == param and err["message"] and "Traceback" not in r.text


def test_tools_offered_with_auto_choice_are_ignored(client):
    r = client.post("/v1/chat/completions", json=ask(tools=[{"type": "function", "function": {"name": "f"}}],
                                                      tool_choice="auto", logprobs=True, user="u1"))
    assert r.status_code == 200 and "[1]" in r.json()["choices"][0]["message"]["content"]


def test_unknown_endpoints_and_failures_are_openai_errors_without_a_trace(client, monkeypatch):
    r = client.get("/v1/embeddings")
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_url"

    def broken(*_):
        raise RuntimeError("secret internals")
        yield

    monkeypatch.setattr(rag, "stream_answer", broken)
    r = client.post("/v1/chat/completions", json=ask())
    assert r.status_code == 500 and r.json()["error"]["type"] == "server_error"
    assert "secret internals" not in r.text and "Traceback" not in r.text


def test_a_failure_mid_stream_ends_the_stream_with_an_error_event(client, monkeypatch):
    def half(*_):
        yield rag.Retrieved([], 0.9, True)
        yield "The lamps"
        raise RuntimeError("boom")

    monkeypatch.setattr(rag, "stream_answer", half)
    with client.stream("POST", "/v1/chat/completions", json=ask(stream=True)) as r:
        got = events(r)
    assert got[-1]["error"]["type"] == "server_error" and "boom" not in json.dumps(got[-1])


def test_answers_in_progress_are_bounded(client, monkeypatch):
    monkeypatch.setattr(api, "streams", Streams(1, 120))
    api.streams.acquire()
    r = client.post("/v1/chat/completions", json=ask())
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limit_exceeded" and r.headers["retry-after"]
    api.streams.release()
    assert client.post("/v1/chat/completions", json=ask()).status_code == 200


def test_a_client_that_leaves_mid_stream_stops_the_answer_and_frees_its_place(client, pipe, monkeypatch):
    monkeypatch.setattr(api, "streams", Streams(1, 120))
    said = []

    def stream(messages, max_new_tokens, stop=None):  # a long answer, word by word
        for word in (f"word{i}" for i in range(400)):
            said.append(word)
            time.sleep(0.01)
            yield word + " "

    monkeypatch.setattr(pipe.generator, "stream", stream)
    with client.stream("POST", "/v1/chat/completions", json=ask(stream=True)) as r:
        lines = r.iter_lines()
        for _ in range(6):
            next(lines)
    deadline, freed = time.time() + 10, False
    while time.time() < deadline and not freed:
        freed = api.streams.acquire() or bool(time.sleep(0.05))
    assert freed
    api.streams.release()
    assert len(said) < 400  # the generator was stopped, not run to the end
    assert client.post("/v1/chat/completions", json=ask()).status_code == 200


def test_documents_can_be_listed_added_and_removed(client, tmp_path):
    seeds = client.get("/v1/documents").json()["data"]
    assert {d["id"] for d in seeds} == {"solar", "trade", "farms"} and {d["source"] for d in seeds} == {"seed"}
    files = [("file", ("bees.md", b"# Bees\n\nLocal bees pollinate the orchards of the valley.", "text/markdown")),
             ("file", ("blob.txt", bytes(range(256)) * 40, "text/plain")),
             ("file", ("run.exe", b"MZ", "application/octet-stream"))]
    r = client.post("/v1/documents", files=files)
    assert r.status_code == 201
    added, skipped = r.json()["added"], r.json()["skipped"]
    assert [d["title"] for d in added] == ["Bees"] and added[0]["chunks"] >= 1 and added[0]["source"] == "yours"
    assert {s["name"] for s in skipped} == {"blob.txt", "run.exe"} and all(s["reason"] for s in skipped)
    body = client.post("/v1/chat/completions", json=ask("What do local bees pollinate?")).json()
    assert body["rag"]["citations"][0]["doc_id"] == added[0]["id"]
    assert client.delete(f"/v1/documents/{added[0]['id']}").json() == {"id": added[0]["id"], "object": "document",
                                                                        "deleted": True}
    assert added[0]["id"] not in {d["id"] for d in client.get("/v1/documents").json()["data"]}
    r = client.delete("/v1/documents/solar")
    assert r.status_code == 404 and r.json()["error"]["code"] == "document_not_found"
    assert client.post("/v1/documents", data={"x": "1"}).status_code == 400


# ---- the guard: key, URL, bounds ----

@pytest.fixture(scope="module")
def locked_asgi():
    return build(KEY)


@pytest.fixture
def locked(pipe, locked_asgi):
    with TestClient(locked_asgi, follow_redirects=False) as c:
        yield c


def test_with_a_key_every_api_call_needs_it(locked):
    for headers in ({}, {"Authorization": "Bearer wrong-key-wrong-key-wrong"}, {"Authorization": KEY}):
        r = locked.get("/v1/models", headers=headers)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
        assert r.headers["www-authenticate"] == "Bearer"
    r = locked.post("/v1/chat/completions", json=ask(), headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 200 and "[1]" in r.json()["choices"][0]["message"]["content"]
    assert locked.delete("/v1/documents/solar").status_code == 401


def test_a_key_in_the_url_is_refused_even_the_right_one(locked, client):
    auth = {"Authorization": f"Bearer {KEY}"}
    for url in (f"/v1/models?api_key={KEY}", f"/?key={KEY}", f"/v1/models?x={KEY}", "/v1/models?token=abc"):
        r = locked.get(url, headers=auth)
        assert r.status_code == 400 and r.json()["error"]["code"] == "key_in_url"
    assert client.get("/v1/models?api_key=abc").status_code == 400  # without a key set too


def test_the_page_asks_for_the_key_and_keeps_a_session(locked):
    r = locked.get("/", headers={"accept": "text/html"})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert 'type="password"' in locked.get("/login").text
    assert locked.post("/gradio_api/upload", files=[("files", ("a.txt", b"hi"))]).status_code == 401
    assert locked.post("/login", data={"key": "not the key"}).status_code == 401
    r = locked.post("/login", data={"key": KEY})
    assert r.status_code == 303 and "httponly" in r.headers["set-cookie"].lower()
    assert KEY not in r.headers["set-cookie"]
    assert locked.get("/", headers={"accept": "text/html"}).status_code == 200  # the cookie opens the page
    assert locked.get("/v1/documents").status_code == 200
    locked.cookies.clear()
    assert locked.get("/v1/documents").status_code == 401


def test_a_body_over_the_limit_is_refused(client):
    r = client.post("/v1/chat/completions", content=b"x" * (server.BODY_BYTES + 1))
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"


async def _run(guard, messages, send_hangs=False, path="/v1/chat/completions"):
    """Drive the guard directly: `messages` are what the client sends; returns what it got."""
    sent, queue = [], list(messages)

    async def receive():
        if queue:
            return queue.pop(0)
        await asyncio.sleep(3600)  # the client says nothing more

    async def send(message):
        if send_hangs and message["type"] == "http.response.body":
            await asyncio.sleep(3600)  # the client stopped reading
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "query_string": b"", "headers": []}
    await asyncio.wait_for(guard(scope, receive, send), 10)
    return sent


def test_a_body_sent_in_pieces_past_the_limit_gets_a_413():
    async def echo(scope, receive, send):
        body = b""
        while True:
            m = await receive()
            if m["type"] == "http.disconnect":
                raise OSError("client gone")
            body += m.get("body", b"")
            if not m.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    piece = {"type": "http.request", "body": b"x" * 400_000, "more_body": True}
    sent = asyncio.run(_run(server.Guard(echo, None), [piece] * 4))
    assert sent[0]["status"] == 413


def test_a_client_that_stalls_sending_or_reading_is_dropped():
    async def app(scope, receive, send):
        m = await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for _ in range(3):
            await send({"type": "http.response.body", "body": m["type"].encode(), "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    guard = server.Guard(app, None, io_timeout=0.2)
    t = time.perf_counter()
    sent = asyncio.run(_run(guard, [], send_hangs=False))  # never sends its body
    assert sent[1]["body"] == b"http.disconnect"  # the app was told the client is gone
    sent = asyncio.run(_run(guard, [{"type": "http.request", "body": b"{}"}], send_hangs=True))
    assert [m["type"] for m in sent] == ["http.response.start"]  # dropped at the first body it did not read
    assert time.perf_counter() - t < 5


def test_loopback_is_told_apart_from_exposed_addresses():
    assert server.loopback("127.0.0.1") and server.loopback("localhost") and server.loopback("::1")
    assert not server.loopback("0.0.0.0") and not server.loopback("192.168.1.20") and not server.loopback("::")


@pytest.mark.parametrize("env, says", [({"RAG_HOST": "0.0.0.0"}, "Set RAG_API_KEY"),
                                       ({"RAG_HOST": "0.0.0.0", "RAG_API_KEY": "short"}, "at least 16")])
def test_the_server_will_not_start_exposed_without_a_real_key(env, says, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "RAG_PORT": "1", "RAG_INDEX_DIR": str(tmp_path), **env}
    done = subprocess.run([sys.executable, "-m", "ui"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr


def test_a_pdf_of_the_documents_is_served_for_its_page_links_and_nothing_else(pipe, client, locked):
    from tests.test_ingest import minimal_pdf

    (pipe.config.docs_dir / "guide.pdf").write_bytes(minimal_pdf(["Harbour Guide", "Ferries leave at noon."]))
    (pipe.config.docs_dir.parent / "secret.pdf").write_bytes(minimal_pdf(["Not a document"]))
    r = client.get("/files/guide")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF-")
    assert r.headers["content-disposition"].startswith("inline") and r.headers["x-content-type-options"] == "nosniff"
    for name in ("solar", "secret", "..%2Fsecret", "missing"):  # a text document, outside the folders, none
        assert client.get(f"/files/{name}").status_code == 404, name
    assert locked.get("/files/guide").status_code == 401
    assert locked.get("/files/guide", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
