"""Many users at once: 1, 2, 4 and 8 `gradio_client` users, each asking 5 seed questions in
turn (each user starts at a different one), against one chat server (`python -m ui`).

The server first answers every question once (its steady state: sentence vectors cached,
kernels prepared for the shapes the answers use), then the levels run in rounds, 1-2-4-8 users
three times over, so that a slow minute of the machine hits every level alike. Per level:
answers per minute (answers over the level's wall time; median of the rounds), latency
p50/p95 of an answer (all rounds together) and the server's RSS after the last round; the
server's peak RSS (VmHWM) at the end. Throughput is compared with the lone user of the same
run. The same levels run once more with `RAG_MAX_BATCH=1` (one answer written at a time, the
others queued: the serialised reference) and, for the 8-user level, `RAG_MAX_BATCH=4`, which is
how the default of 8 was chosen. Last, 1 and 8 users in this process, threads calling
`rag.answer` (no HTTP, no Gradio, no client): what the batcher alone gives.

The load generator shares the server's two cores, so its own CPU is kept small and reported
(per answer, per level). Each user connects before its level's clock starts (a browser opens
the page once, then asks), and `gradio_client` builds no TLS contexts for this plain-http URL
(`serving.client`): by default it loads the CA bundle twice per question, ~50 ms of CPU an
answer (8 users: ~2.6 s of the machine's CPU per level, taken from the server it measures;
measured once); now 7-9 ms an answer, printed with each level.
"""

from __future__ import annotations

import resource
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from . import SEED_QUESTIONS, median, percentile, rss_mb
from .serving import client, start_server

QUESTIONS = SEED_QUESTIONS[:5]


Ask = Callable[[str], object]  # one user's way to ask a question and wait for the whole answer


def level(users: int, questions: list[str], connect: Callable[[], Ask]) -> tuple[list[float], float]:
    """Each user connects (`connect()`: as a browser opens the page), then all ask every question
    in turn, each from a different first one: (latencies, wall seconds from the first question to
    the last answer)."""
    asks = [connect() for _ in range(users)]
    latencies, lock = [], threading.Lock()

    def user(u: int) -> None:
        for q in questions[u % len(questions):] + questions[:u % len(questions)]:
            t = time.perf_counter()
            asks[u](q)
            with lock:
                latencies.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(users) as pool:
        list(pool.map(user, range(users)))
    return latencies, time.perf_counter() - t0


def _cpu_s() -> float:
    """CPU seconds this process (the load generator) has used: what it took from the server."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def rounds_of(levels: list[int], questions: list[str], rounds: int, connect: Callable[[], Ask]) -> dict[str, dict]:
    """Every question once (models loaded, caches warm), then `rounds` rounds of the levels."""
    first = connect()
    for q in questions:
        first(q)
    runs: dict[int, list] = {n: [] for n in levels}
    for _ in range(rounds):
        for n in levels:
            cpu = _cpu_s()
            runs[n].append((*level(n, questions, connect), _cpu_s() - cpu))
    out = {}
    for n, done in runs.items():
        latencies = [x for lat, _, _ in done for x in lat]
        per_min = [60 * len(lat) / wall for lat, wall, _ in done]
        out[str(n)] = {"users": n, "answers": len(latencies), "p50_s": median(latencies),
                       "p95_s": percentile(latencies, 95), "answers_per_min": median(per_min),
                       "answers_per_min_rounds": per_min,
                       "client_cpu_ms_per_answer": 1000 * sum(c for _, _, c in done) / len(latencies)}
    return out


def server_run(levels: list[int], questions: list[str], rounds: int, **env) -> dict:
    proc, port, _ = start_server(**env)
    url = f"http://127.0.0.1:{port}/"

    def connect():
        return partial(client(url).predict, api_name="/chat")

    try:
        out = rounds_of(levels, questions, rounds, connect)
        for v in out.values():
            v["rss_mb"] = rss_mb(proc.pid)[0]  # after the last round
        return {"levels": out, "peak_rss_mb": rss_mb(proc.pid)[1]}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def in_process(levels: list[int], questions: list[str], rounds: int) -> dict:
    """The same levels with no server and no client: threads of this process calling
    `rag.answer`. What the batcher gives without HTTP, Gradio or a load generator."""
    import rag

    out = rounds_of(levels, questions, rounds, lambda: rag.answer)
    for v in out.values():
        del v["client_cpu_ms_per_answer"]  # the load generator is the server here
    return {"levels": out}


def run(args, shared: dict) -> dict:
    levels = [1, 2, 4, 8] if not args.quick else [1, 2]
    questions = QUESTIONS if not args.quick else QUESTIONS[:2]
    rounds = 3 if not args.quick else 1
    batched = server_run(levels, questions, rounds)
    serial = server_run(levels, questions, rounds, RAG_MAX_BATCH="1")
    four = server_run(levels[-1:], questions, rounds, RAG_MAX_BATCH="4")
    inner = in_process([1, levels[-1]], questions, rounds)  # last: this process keeps the models afterwards
    lone = batched["levels"]["1"]["answers_per_min"]
    for r in (batched, serial, four):
        for v in r["levels"].values():
            v["throughput_vs_lone"] = v["answers_per_min"] / lone
    for v in inner["levels"].values():
        v["throughput_vs_lone"] = v["answers_per_min"] / inner["levels"]["1"]["answers_per_min"]
    return {"batched": batched, "serial": serial, "batch4": four, "in_process": inner, "questions": len(questions),
            "rounds": rounds,
            "targets": {"p95_8_users_s": 7, "throughput_8_vs_1": 2.5, "lone_user_vs_serial": 1.10,
                        "peak_rss_mb": 1638}}


def table(r: dict) -> list[tuple[str, str, str]]:
    rows = []
    serial = r["serial"]["levels"]
    for n, v in r["batched"]["levels"].items():
        s = serial.get(n, {})
        rows.append((f"{n} user{'s' * (n != '1')} x {r['questions']} seed questions, batched (`RAG_MAX_BATCH` 8)",
                     f"p50 {v['p50_s']:.2f} s, p95 **{v['p95_s']:.2f} s**, {v['answers_per_min']:.0f} answers/min "
                     f"(**{v['throughput_vs_lone']:.2f}x** the lone user)",
                     f"one at a time (`RAG_MAX_BATCH=1`): p50 {s.get('p50_s', 0):.2f} s, "
                     f"p95 {s.get('p95_s', 0):.2f} s, {s.get('throughput_vs_lone', 0):.2f}x; "
                     f"server RSS {v['rss_mb']:.0f} MB; load generator CPU "
                     f"{v.get('client_cpu_ms_per_answer', 0):.0f} ms/answer"))
    top = list(r["batch4"]["levels"])[-1]
    b4 = r["batch4"]["levels"][top]
    rows.append((f"{top} users, `RAG_MAX_BATCH=4`", f"p50 {b4['p50_s']:.2f} s, p95 {b4['p95_s']:.2f} s, "
                 f"{b4['throughput_vs_lone']:.2f}x", "beside the default of 8 above"))
    if "in_process" in r:
        inner = r["in_process"]["levels"]
        top = list(inner)[-1]
        rows.append((f"{top} users in process (threads calling `rag.answer`: no HTTP, no client)",
                     f"p50 {inner[top]['p50_s']:.2f} s, {inner[top]['answers_per_min']:.0f} answers/min, "
                     f"{inner[top]['throughput_vs_lone']:.2f}x", f"the lone user {inner['1']['p50_s']:.2f} s, "
                     f"{inner['1']['answers_per_min']:.0f}/min: beside the rows above, what serving costs"))
    rows.append(("chat server peak memory under load", f"**{r['batched']['peak_rss_mb']:.0f} MB** RSS",
                 f"one at a time {r['serial']['peak_rss_mb']:.0f} MB; target <= 1638 MB (1.6 GB)"))
    return rows
