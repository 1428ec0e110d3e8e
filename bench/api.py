"""What the OpenAI-compatible API adds to an answer: the same question through `rag.stream_answer`
and through POST /v1/chat/completions (streamed, over loopback HTTP), in one process.

The server (ui/server.py's app under uvicorn) runs on a thread of this process, so both roads
use the same loaded pipeline; every question is asked once on each road first (models, caches),
then the roads alternate, question by question, swapping which goes first on each repeat.
Overhead is the median over questions of (API total - direct total); first token is the
median of (first `reasoning_content` event received - first generated piece yielded); first
checked sentence is the median time from the request to the first `content` delta.
The client parses every event in this same process, so the figures are if anything high.
"""

from __future__ import annotations

import json
import time

from . import SEED_QUESTIONS, median
from .serving import server_thread


def direct(question: str) -> tuple[float, float]:
    """(seconds to the first generated piece, seconds to the Answer) through rag.stream_answer."""
    import rag

    t, first = time.perf_counter(), None
    for piece in rag.stream_answer(question):
        if first is None and isinstance(piece, str):
            first = time.perf_counter() - t
    return first, time.perf_counter() - t


def over_api(http, question: str, checked: list | None = None) -> tuple[float, float]:
    """(seconds to the first draft token, seconds to `data: [DONE]`) through the streamed API;
    the seconds to the first `content` (a checked sentence) are appended to `checked`."""
    t, first, content = time.perf_counter(), None, None
    body = {"model": "bench", "messages": [{"role": "user", "content": question}], "stream": True}
    with http.stream("POST", "/v1/chat/completions", json=body) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            delta = (json.loads(line[6:])["choices"] or [{}])[0].get("delta", {})
            if first is None and (delta.get("reasoning_content") or delta.get("content")):
                first = time.perf_counter() - t
            if content is None and delta.get("content"):
                content = time.perf_counter() - t
    if checked is not None:
        checked.append(content)
    return first, time.perf_counter() - t


def run(args, shared: dict) -> dict:
    import httpx

    questions = SEED_QUESTIONS[: args.questions]
    with server_thread() as port, httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as http:
        for q in questions:  # warm: models, index, the sentence-embedding cache
            direct(q), over_api(http, q)
        extra, first_gap, totals, checked = [], [], [], []
        for rep in range(max(1, args.repeats)):
            for q in questions:
                pair = [lambda q=q: direct(q), lambda q=q: over_api(http, q, checked)]
                results = [None, None]
                for i in ([0, 1] if rep % 2 == 0 else [1, 0]):
                    results[i] = pair[i]()
                (d_first, d_total), (a_first, a_total) = results
                extra.append(a_total - d_total)
                totals.append(d_total)
                if d_first is not None and a_first is not None:
                    first_gap.append(a_first - d_first)
    return {"questions": len(questions), "repeats": max(1, args.repeats), "direct_total_median_s": median(totals),
            "overhead_median_ms": 1000 * median(extra), "first_token_gap_median_ms": 1000 * median(first_gap),
            "first_checked_median_s": median(checked),
            "targets": {"overhead_median_ms": 50, "first_token_gap_median_ms": 100, "first_checked_median_s": 1.0}}


def table(r: dict) -> list[tuple[str, str, str]]:
    return [
        (f"API overhead, {r['questions']} seed questions x {r['repeats']} (streamed, loopback)",
         f"{r['overhead_median_ms']:+.0f} ms median",
         f"over rag.stream_answer's {r['direct_total_median_s']:.2f} s for the same questions; target <= 50 ms"),
        ("API first token, beside the pipeline's", f"{r['first_token_gap_median_ms']:+.0f} ms median",
         "first draft event received minus first piece yielded; target <= 100 ms"),
        ("API first checked sentence (`content`), same answers", f"{r['first_checked_median_s']:.2f} s median",
         "from the request to the first content delta, which is text that passed the check; target <= 1.0 s"),
    ]
