"""Cold start, server memory and end-to-end answer time, measured from outside the process.

Cold start: a fresh `python -c "import rag; rag.answer(...)"` (model cache warm), timed from
spawn to the printed answer; the same child checks that `import rag` did not import torch.
Chat server: `python -m ui` on a free loopback port; the time until it accepts connections
(it loads the models in the background, and says so in the chat while it does), then N
questions through `gradio_client` (the seed questions, cycled), one at a time, with the
server's resident memory after question 10 and question N and its peak (VmHWM). End to end
is the client's wall time per answer, beside the sum of the stages the answer reports; first
checked sentence is the wall time until the chat's first update that shows checked text (what
the screen shows then; until it, only the passages being read and a collapsed draft).
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
import time

from . import ROOT, SEED_QUESTIONS, median, percentile, rss_mb

CHILD = """
import sys, time
t0 = time.perf_counter()
import rag
assert "torch" not in sys.modules, "import rag imported torch"
a = rag.answer({q!r})
print("ANSWERED", time.perf_counter() - t0, a.timings.get("load", 0), flush=True)
"""


def cold_start(repeats: int) -> dict:
    walls, inside, loads = [], [], []
    for _ in range(repeats):
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", CHILD.format(q=SEED_QUESTIONS[0])], cwd=ROOT,
                             capture_output=True, text=True, timeout=600)
        walls.append(time.perf_counter() - t)
        line = next((x for x in out.stdout.splitlines() if x.startswith("ANSWERED")), None)
        if line is None:
            raise RuntimeError(f"cold start failed:\n{out.stderr[-2000:]}")
        inside.append(float(line.split()[1]))
        loads.append(float(line.split()[2]))
    return {"process_start_to_answer_s": median(walls), "import_to_answer_s": median(inside),
            "model_and_index_load_s": median(loads), "import_rag_imports_torch": False, "target_s": 10}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server_thread():
    """ui/server.py's app under uvicorn on a thread of this process (so it shares this process's
    pipeline) on a free loopback port; yields the port, stops the server on exit."""
    import uvicorn

    from ui import server

    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(server.create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.05)
    try:
        yield port
    finally:
        srv.should_exit = True
        thread.join(timeout=30)


def start_server(**env) -> tuple[subprocess.Popen, int, float]:
    """`python -m ui` on a free loopback port, `env` on top; (process, port, seconds until it
    accepts connections). The caller terminates it."""
    port = free_port()
    env = {**os.environ, "RAG_PORT": str(port), "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", **env}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "ui"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port, time.perf_counter() - t0
        except OSError:
            if proc.poll() is not None or time.perf_counter() - t0 > 300:
                proc.kill()
                raise RuntimeError("the chat server did not start") from None
            time.sleep(0.05)


def client(url: str):
    """A `gradio_client` user of the chat server at `url` (loopback, plain http). By default
    gradio_client builds two TLS contexts per question even for http (the CA bundle loaded
    each time: ~50 ms of CPU), CPU the server it measures would lose on a 2-core machine."""
    from gradio_client import Client

    return Client(url, verbose=False, ssl_verify=False)


def server(questions: int) -> dict:
    proc, port, serving = start_server()
    try:
        user = client(f"http://127.0.0.1:{port}/")
        walls, stages, rss, checked = [], [], {}, []
        for i in range(questions):
            t, first = time.perf_counter(), None
            job = user.submit(SEED_QUESTIONS[i % len(SEED_QUESTIONS)], api_name="/chat")
            for update in job:  # "*Loading…", "*Writing the answer…": nothing checked on screen yet
                if first is None and not update.startswith("*"):
                    first = time.perf_counter() - t
            reply = job.outputs()[-1]
            walls.append(time.perf_counter() - t)
            checked.append(first if first is not None else walls[-1])
            found = re.search(r"total ([\d.]+) s", reply)
            stages.append(float(found[1]) if found else float("nan"))
            if i + 1 in (10, questions):
                rss[i + 1] = rss_mb(proc.pid)[0]
        peak = rss_mb(proc.pid)[1]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    first10 = walls[1:11] if len(walls) > 10 else walls[1:] or walls  # the first answer waits for the models
    firsts = stages[1:11] if len(stages) > 10 else stages[1:] or stages
    return {
        "questions": questions, "start_to_serving_s": serving, "first_answer_s": walls[0],
        "e2e_median_s": median(first10), "e2e_p95_s": percentile(walls[1:] or walls, 95),
        "stages_median_s": median(firsts), "overhead_median_s": median(first10) - median(firsts),
        "first_checked_median_s": median(checked[1:] or checked),
        "first_checked_p95_s": percentile(checked[1:] or checked, 95),
        "rss_mb_after": {str(k): v for k, v in rss.items()}, "peak_rss_mb": peak,
        "growth_mb_10_to_last": (rss[questions] - rss[10]) if 10 in rss and questions > 10 else None,
        "targets": {"e2e_median_s": 5, "peak_rss_mb": 1536, "first_checked_median_s": 1.0},
    }


def run(args, shared: dict) -> dict:
    return {"cold_start": cold_start(args.repeats), "server": server(args.server_questions)}


def table(r: dict) -> list[tuple[str, str, str]]:
    c, s = r["cold_start"], r["server"]
    growth = s["growth_mb_10_to_last"]
    return [
        ("cold start: process start to first answer", f"{c['process_start_to_answer_s']:.1f} s",
         f"of which loading index and models {c['model_and_index_load_s']:.1f} s; `import rag` loads no torch; "
         "target <= 10 s"),
        ("chat server: start to serving", f"{s['start_to_serving_s']:.1f} s",
         f"first answer after {s['first_answer_s']:.1f} s (models load in the background)"),
        (f"end to end, {min(10, s['questions'] - 1)} seed answers through gradio_client",
         f"median {s['e2e_median_s']:.2f} s, p95 {s['e2e_p95_s']:.2f} s",
         f"sum of stages {s['stages_median_s']:.2f} s, so {s['overhead_median_s']:.2f} s of serving overhead; "
         "target <= 5 s"),
        ("first checked sentence on screen, same answers", f"median {s['first_checked_median_s']:.2f} s, "
         f"p95 {s['first_checked_p95_s']:.2f} s", "the chat's first update showing text that passed the check; "
         "target <= 1.0 s"),
        (f"chat server memory after {s['questions']} questions",
         f"peak {s['peak_rss_mb']:.0f} MB RSS",
         (f"{growth:+.0f} MB from question 10 to {s['questions']}; " if growth is not None else "")
         + "target <= 1536 MB, no growth"),
    ]
