"""The MCP server with the SDK's own client: in process over fake models (the tools, their
schemas and bounds), then `python -m rag mcp` over stdio and /mcp of a live chat server over
streamable HTTP, with the real models, giving the answers `answer()` gives."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys

import pytest

from rag.mcp import server
from rag.pipeline import Pipeline
from tests.conftest import ROOT, FakeEmbedder, FakeGenerator, chat_server
from tests.test_pipeline import FAKE_CONFIDENCE, copy_first_passage_sentence

QUESTIONS = ["What is SoULS?", "Who are the primary beneficiaries of SoULS?",
             "What does localization mean for production?"]


def call(app, *calls: tuple[str, dict], headers: dict | None = None) -> list:
    """Connect the SDK's client to `app` (an MCPServer, stdio parameters, or a URL, sent with
    `headers`) and make `calls`; returns the tool list, then each call's result."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async def go():
        async with contextlib.AsyncExitStack() as stack:
            if isinstance(app, str):
                http = await stack.enter_async_context(httpx2.AsyncClient(headers=headers or {}, timeout=600))
                client = await stack.enter_async_context(Client(streamable_http_client(app, http_client=http)))
            else:
                client = await stack.enter_async_context(Client(app, read_timeout_seconds=600))
            return [await client.list_tools()] + [await client.call_tool(name, args) for name, args in calls]

    return asyncio.run(go())


@pytest.fixture
def fake(config):
    return Pipeline(config.with_(min_confidence=FAKE_CONFIDENCE), FakeEmbedder(),
                    FakeGenerator(copy_first_passage_sentence), log=lambda *_: None)


def test_three_read_only_tools_with_bounded_arguments(fake):
    tools, = call(server(lambda: fake))
    by_name = {t.name: t for t in tools.tools}
    assert set(by_name) == {"answer_question", "search_documents", "list_documents"}
    for t in by_name.values():
        assert t.description and t.annotations.read_only_hint and not t.annotations.destructive_hint
    ask = by_name["answer_question"].input_schema
    assert ask["required"] == ["question"] and ask["properties"]["question"]["maxLength"] == 10_000
    assert ask["properties"]["history"]["maxItems"] == 20
    assert by_name["search_documents"].input_schema["properties"]["k"]["maximum"] == 20
    assert by_name["answer_question"].output_schema["properties"]["citations"]


def test_the_tools_answer_as_the_pipeline_does(fake):
    expected = fake.answer("What do local women repair?")
    _, asked, searched, listed = call(server(lambda: fake),
                                      ("answer_question", {"question": "What do local women repair?"}),
                                      ("search_documents", {"query": "weekly markets", "k": 2}), ("list_documents", {}))
    got = asked.structured_content
    assert not asked.is_error and got["answer"] == expected.text and got["refused"] is False
    assert [(c["doc_id"], c["quote"], c["start"], c["page"]) for c in got["citations"]] == \
        [(c.doc_id, c.quote, c.start, c.page) for c in expected.citations]
    assert json.loads(asked.content[0].text) == got  # the same, as text, for clients without structured output
    passages = searched.structured_content["result"]
    assert len(passages) == 2 and passages[0]["doc_id"] == "farms" and "weekly markets" in passages[0]["text"]
    docs = listed.structured_content["result"]
    assert {d["id"] for d in docs} == {"solar", "trade", "farms"} and {d["source"] for d in docs} == {"seed"}


def test_follow_ups_read_the_history(fake):
    turn = ("Tell me about the SoULS project.", "It assembles solar lamps in Bihar.")
    q = "Who repairs its lamps?"
    history = [{"question": turn[0], "answer": turn[1]}]
    _, r = call(server(lambda: fake), ("answer_question", {"question": q, "history": history}))
    assert not r.is_error and r.structured_content["answer"] == fake.answer(q, [turn]).text != fake.answer(q).text


def test_bad_calls_get_clear_errors_and_change_nothing(fake):
    app = server(lambda: fake)
    before = fake.catalogue()
    _, empty, huge, many, bad_k, unknown = call(app, ("answer_question", {"question": "   "}),
                                                ("answer_question", {"question": "why " * 5000}),
                                                ("answer_question", {"question": "Why?", "history": [
                                                    {"question": "q", "answer": "a"}] * 50}),
                                                ("search_documents", {"query": "lamps", "k": 10_000}),
                                                ("delete_everything", {}))
    assert empty.is_error and "empty" in empty.content[0].text
    assert huge.is_error and "at most 10000 characters" in huge.content[0].text
    assert many.is_error and "history" in many.content[0].text and "at most 20 items" in many.content[0].text
    assert bad_k.is_error and "less than or equal to 20" in bad_k.content[0].text
    assert unknown.is_error and "Unknown tool" in unknown.content[0].text
    assert fake.catalogue() == before


def _params():
    from mcp import StdioServerParameters

    env = {k: v for k, v in os.environ.items() if k.startswith(("RAG_", "HF_", "PATH", "HOME"))}
    return StdioServerParameters(command=sys.executable, args=["-m", "rag", "mcp"], cwd=str(ROOT),
                                 env={**env, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})


def answered(results) -> list[tuple]:
    return [(r.structured_content["answer"], [(c["doc_id"], c["start"], c["end"]) for c in
                                               r.structured_content["citations"]]) for r in results]


@pytest.fixture(scope="module")
def expected():
    import rag

    return [(a.text, [(c.doc_id, c.start, c.end) for c in a.citations]) for a in map(rag.answer, QUESTIONS)]


@pytest.mark.integration
def test_stdio_answers_as_answer_does(expected):
    tools, *results = call(_params(), *[("answer_question", {"question": q}) for q in QUESTIONS])
    assert len(tools.tools) == 3 and not any(r.is_error for r in results)
    assert answered(results) == expected


KEY = "mcp-test-key-0123456789abcdef"


@pytest.mark.integration
@pytest.mark.parametrize("key", [None, KEY])
def test_http_answers_as_answer_does_and_needs_the_key_when_one_is_set(tmp_path, expected, key):
    import httpx2

    env = {"RAG_API_KEY": key} if key else {}
    with chat_server(tmp_path, **env) as (url, _):
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        tools, *results = call(url + "mcp", *[("answer_question", {"question": q}) for q in QUESTIONS], headers=headers)
        assert answered(results) == expected
        plain = httpx2.post(url + "mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                            headers={"Accept": "application/json, text/event-stream"})
        assert plain.status_code == (401 if key else 400)  # 400: no session was opened first
        rebound = httpx2.post(url + "mcp", json={"jsonrpc": "2.0", "id": 1, "method": "initialize"},
                              headers={**headers, "Host": "evil.example:80", "Accept": "application/json"})
        assert rebound.status_code == 421  # DNS rebinding: a page of another site cannot reach the tools
        foreign = httpx2.post(url + "mcp", json={"jsonrpc": "2.0", "id": 1, "method": "initialize"},
                              headers={**headers, "Origin": "http://evil.example", "Accept": "application/json"})
        assert foreign.status_code == 403
        json_headers = {**headers, "Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        assert httpx2.post(url + "mcp", content=b"{not json", headers=json_headers).status_code == 400
        big = httpx2.post(url + "mcp", content=b"[" + b"1," * 1_000_000 + b"1]", headers=json_headers)
        assert big.status_code == 413
