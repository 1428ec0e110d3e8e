"""What the MCP server adds to an answer, and whether it gives the same one: the development
questions d01-d10 (../shared/eval/seeds) through `rag.answer`, through `answer_question` over
stdio (`python -m rag mcp`, a child process) and over streamable HTTP at /mcp, and through POST
/v1/chat/completions (not streamed), in one run.

The HTTP server (ui/server.py's app under uvicorn) runs on a thread of this process, so /v1 and
/mcp use the same loaded pipeline. Each question is asked once on each road first (models,
caches), then the two roads alternate, swapping which goes first on each repeat. Overhead is the
median over questions of (MCP total - /v1 total). "Same" compares the answer text and every
citation's document, offsets and page with `rag.answer`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time

from . import ROOT, SHARED, median
from .serving import server_thread


def questions(n: int) -> list[str]:
    rows = [json.loads(line) for line in (SHARED / "eval" / "seeds" / "questions.jsonl").read_text().splitlines()]
    return [r["question"] for r in rows if r["id"] in {f"d{i:02d}" for i in range(1, 11)}][:n]


def key(text: str, citations: list[dict]) -> tuple:
    return text, [(c["doc_id"], c["start"], c["end"], c.get("page")) for c in citations]


async def over_mcp(client, qs: list[str]) -> list[tuple[float, tuple]]:
    out = []
    for q in qs:
        t = time.perf_counter()
        r = await client.call_tool("answer_question", {"question": q})
        s = r.structured_content
        out.append((time.perf_counter() - t, key(s["answer"], s["citations"])))
    return out


def stdio(qs: list[str]) -> list[tuple]:
    from mcp import Client, StdioServerParameters

    async def go():
        params = StdioServerParameters(command=sys.executable, args=["-m", "rag", "mcp"], cwd=str(ROOT),
                                       env={"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})
        async with Client(params, read_timeout_seconds=600) as client:
            return [k for _, k in await over_mcp(client, qs)]

    return asyncio.run(go())


def run(args, shared: dict) -> dict:
    import httpx
    from mcp import Client

    import rag

    qs = questions(args.questions)
    direct = [key(a.text, [vars(c) for c in a.citations]) for a in map(rag.answer, qs)]
    same_stdio = sum(a == b for a, b in zip(stdio(qs), direct, strict=True))

    def over_api(http, q: str) -> float:
        t = time.perf_counter()
        http.post("/v1/chat/completions", json={"model": "bench", "messages": [{"role": "user", "content": q}]}
                  ).raise_for_status()
        return time.perf_counter() - t

    async def measure(port: int):
        async with contextlib.AsyncExitStack() as stack:
            client = await stack.enter_async_context(Client(f"http://127.0.0.1:{port}/mcp", read_timeout_seconds=600))
            http = stack.enter_context(httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300))
            first = await over_mcp(client, qs)  # also warms /mcp's road
            for q in qs:
                await asyncio.to_thread(over_api, http, q)
            extra = []
            for rep in range(max(1, args.repeats)):
                for q in qs:
                    if rep % 2 == 0:
                        a = await asyncio.to_thread(over_api, http, q)
                        (m, _), = await over_mcp(client, [q])
                    else:
                        (m, _), = await over_mcp(client, [q])
                        a = await asyncio.to_thread(over_api, http, q)
                    extra.append(m - a)
            return [k for _, k in first], extra

    with server_thread() as port:
        via_http, extra = asyncio.run(measure(port))
    return {"questions": len(qs), "repeats": max(1, args.repeats),
            "same_as_answer_stdio": same_stdio, "same_as_answer_http": sum(a == b for a, b in zip(via_http, direct,
                                                                                               strict=True)),
            "overhead_over_v1_median_ms": 1000 * median(extra), "targets": {"overhead_over_v1_median_ms": 50}}


def table(r: dict) -> list[tuple[str, str, str]]:
    n = r["questions"]
    return [
        (f"MCP answer_question, d01-d{n:02d}: same text and citations as rag.answer",
         f"stdio {r['same_as_answer_stdio']}/{n}, HTTP {r['same_as_answer_http']}/{n}", f"target {n}/{n}"),
        (f"MCP overhead over /v1, {n} questions x {r['repeats']} (HTTP, loopback)",
         f"{r['overhead_over_v1_median_ms']:+.0f} ms median", "same answers, not streamed; target <= 50 ms"),
    ]
