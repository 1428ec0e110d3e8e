"""The API with real clients against a live server: the official `openai` package (streaming
and not), curl, LangChain's ChatOpenAI and gradio_client, all on loopback, with the real models.

One server for the module, started with a key (so every client must send it) and every
non-loopback connection blocked (tests/netblock), with one answer in progress at a time so
that a client leaving mid-stream must give its place back.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import httpx
import pytest

from tests.conftest import chat_server
from tests.test_load import blocked_env

pytestmark = pytest.mark.integration
KEY = "live-test-key-0123456789abcdef"
Q = "What is SoULS?"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api")
    with chat_server(tmp, **blocked_env(tmp, RAG_API_KEY=KEY, RAG_MAX_STREAMS="1")) as (url, proc):
        yield url, tmp


@pytest.fixture(scope="module")
def openai_client(server):
    from openai import OpenAI

    with OpenAI(base_url=server[0] + "v1", api_key=KEY, timeout=180, max_retries=4) as client:
        yield client


@pytest.fixture(scope="module")
def plain(openai_client):
    """The non-streamed answer to Q (also warms the models)."""
    return openai_client.chat.completions.create(model="rag-smollm2-135m-minilm",
                                                 messages=[{"role": "user", "content": Q}])


def test_openai_lists_the_model_and_gets_a_cited_answer(openai_client, plain):
    assert [m.id for m in openai_client.models.list()] == ["rag-smollm2-135m-minilm"]
    text = plain.choices[0].message.content
    assert "SoULS" in text and "[1]" in text and plain.choices[0].finish_reason == "stop"
    rag = plain.model_extra["rag"]
    assert rag["abstained"] is False and rag["citations"][0]["supported"]
    c = rag["citations"][0]
    assert c["quote"] and c["end"] > c["start"] and c["doc_id"] and c["title"]
    assert plain.usage.completion_tokens > 0 and plain.usage.total_tokens > plain.usage.completion_tokens


def test_openai_streams_the_same_answer_ending_with_the_citations(openai_client, plain):
    chunks = list(openai_client.chat.completions.create(
        model="rag-smollm2-135m-minilm", messages=[{"role": "user", "content": Q}], stream=True,
        stream_options={"include_usage": True}, temperature=0.3))
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    draft = "".join((c.choices[0].delta.model_extra or {}).get("reasoning_content", "") for c in chunks if c.choices)
    assert content == plain.choices[0].message.content
    assert draft.strip()  # the generator's words arrived while it wrote them
    final = next(c for c in chunks if c.choices and c.choices[0].finish_reason == "stop")
    assert final.model_extra["rag"]["citations"] == plain.model_extra["rag"]["citations"]
    assert chunks[-1].usage.completion_tokens == plain.usage.completion_tokens


def test_a_follow_up_reads_the_history(openai_client, plain):
    r = openai_client.chat.completions.create(model="x", messages=[
        {"role": "user", "content": Q}, {"role": "assistant", "content": plain.choices[0].message.content},
        {"role": "user", "content": "Who are its primary beneficiaries?"}])
    assert "women" in r.choices[0].message.content.lower() and not r.model_extra["rag"]["abstained"]


def test_openai_errors_are_raised_as_openai_errors(server):
    from openai import AuthenticationError, BadRequestError, OpenAI

    with OpenAI(base_url=server[0] + "v1", api_key="wrong-key-wrong-key-wrong", max_retries=0) as bad:
        with pytest.raises(AuthenticationError):
            bad.models.list()
    with OpenAI(base_url=server[0] + "v1", api_key=KEY, max_retries=0) as good:
        with pytest.raises(BadRequestError, match="n must be 1"):
            good.chat.completions.create(model="x", messages=[{"role": "user", "content": Q}], n=3)


def test_curl_gets_json_and_server_sent_events(server, plain):
    curl = shutil.which("curl")
    assert curl, "curl is missing: `make test` installs it"
    base = [curl, "-sS", "--max-time", "180", "-H", f"Authorization: Bearer {KEY}", "-H",
            "Content-Type: application/json"]
    body = json.dumps({"model": "rag-smollm2-135m-minilm", "messages": [{"role": "user", "content": Q}]})
    out = subprocess.run([*base, "-d", body, server[0] + "v1/chat/completions"], capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out)["choices"][0]["message"]["content"] == plain.choices[0].message.content
    streamed = subprocess.run([*base, "-N", "-d", json.dumps({**json.loads(body), "stream": True}),
                               server[0] + "v1/chat/completions"], capture_output=True, text=True, check=True).stdout
    events = [line[6:] for line in streamed.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]" and json.loads(events[0])["choices"][0]["delta"]["role"] == "assistant"
    in_url = f"{server[0]}v1/models?api_key={KEY}"
    refused = subprocess.run([curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", in_url], capture_output=True,
                             text=True).stdout
    assert refused == "400"  # a key in the URL is refused, the right one included


def test_langchain_chat_openai(server, plain):
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(base_url=server[0] + "v1", api_key=KEY, model="rag-smollm2-135m-minilm", timeout=180)
    reply = llm.invoke(Q)
    assert reply.content == plain.choices[0].message.content
    assert "".join(chunk.content for chunk in llm.stream(Q)) == plain.choices[0].message.content


def test_gradio_client_chat_still_works_with_the_key(server):
    from gradio_client import Client

    reply = Client(server[0], verbose=False, headers={"Authorization": f"Bearer {KEY}"}).predict(Q, api_name="/chat")
    assert "SoULS" in reply and "Sources" in reply
    with pytest.raises(Exception):  # noqa: B017 - whatever gradio_client raises, it must not get in
        Client(server[0], verbose=False).predict(Q, api_name="/chat")


def test_documents_are_managed_over_the_api(server, openai_client):
    auth = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=server[0] + "v1", headers=auth, timeout=180) as http:
        before = http.get("/documents").json()["data"]
        assert len(before) == 5 and {d["source"] for d in before} == {"seed"}
        text = b"# Beekeeping in Kodagu\n\nThe Kodagu honey cooperative buys wild honey from 1,200 forest families."
        r = http.post("/documents", files=[("file", ("kodagu.md", text, "text/markdown")),
                                           ("file", ("empty.pdf", b"%PDF-1.4 broken", "application/pdf"))])
        assert r.status_code == 201 and r.json()["skipped"][0]["name"] == "empty.pdf"
        doc = r.json()["added"][0]
        a = openai_client.chat.completions.create(model="x", messages=[
            {"role": "user", "content": "How many forest families sell honey to the Kodagu cooperative?"}])
        assert "1,200" in a.choices[0].message.content
        assert a.model_extra["rag"]["citations"][0]["doc_id"] == doc["id"]
        assert http.delete(f"/documents/{doc['id']}").json()["deleted"] is True
        assert len(http.get("/documents").json()["data"]) == 5
        assert httpx.get(server[0] + "v1/documents").status_code == 401  # without the key


def test_a_client_that_leaves_mid_stream_gives_its_place_back(server, plain):
    auth = {"Authorization": f"Bearer {KEY}"}
    ask = {"model": "x", "messages": [{"role": "user", "content": Q}]}
    with httpx.Client(base_url=server[0] + "v1", headers=auth, timeout=180) as http:
        long = {**ask, "messages": [{"role": "user", "content": "Why does localization matter?"}], "stream": True}
        with http.stream("POST", "/chat/completions", json=long) as r:
            next(r.iter_lines())  # the first event, then the client goes away
        # one answer at a time on this server: its place comes back within a token or two
        deadline = time.time() + 10
        while (r := http.post("/chat/completions", json=ask)).status_code == 429 and time.time() < deadline:
            time.sleep(0.2)
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == plain.choices[0].message.content
