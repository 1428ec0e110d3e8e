"""The chat server under load and closed to the outside: real models, real server process.

One server (`python -m ui`) for the module, started with every non-loopback connection
blocked at the socket level (tests/netblock/sitecustomize.py) and its own index folder.
Eight `gradio_client` users ask five questions each at once; every answer must arrive and
equal the answer given to a lone user (generation is serialised by a lock, never shared
mid-sequence). A flood beyond the queue's maximum size gets Gradio's "Queue is full!
Please try again." instead of waiting without bound. Latencies and peak memory are
written to tests/artifacts/load.json.
"""

from __future__ import annotations

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import chat_server

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parent.parent
NETBLOCK = ROOT / "tests" / "netblock"
QUESTIONS = ["What is SoULS?", "Who wrote Localization: A Global Manifesto?", "What is Haqdarshak?",
             "What is relocalization?", "Who are the primary beneficiaries of SoULS?"]
QUEUE = 12


def blocked_env(tmp: Path, **extra) -> dict:
    return {"PYTHONPATH": str(NETBLOCK), "RAG_NETBLOCK_LOG": str(tmp / "netblock.log"), "HF_HUB_OFFLINE": "1",
            "RAG_INDEX_DIR": str(tmp / "index"), "RAG_UPLOADS_DIR": str(tmp / "uploads"), **extra}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from gradio_client import Client

    tmp = tmp_path_factory.mktemp("load")
    with chat_server(tmp, **blocked_env(tmp, RAG_QUEUE_SIZE=str(QUEUE))) as (url, proc):
        yield Client(url, verbose=False), proc, url, tmp


def body(reply: str) -> str:
    """The answer without its timing line (which differs from run to run)."""
    return re.sub(r"<sub>.*?</sub>", "", reply).strip()


def peak_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024


def test_the_server_answers_with_the_network_blocked_and_listens_on_loopback_only(server):
    client, proc, url, tmp = server
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    reply = client.predict("What is SoULS?", api_name="/chat")
    assert "[1]" in reply and "001_931c122cd22fbef4" in reply
    outside = [a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
               if not a[4][0].startswith("127.")]
    for address in outside:  # the machine's other addresses: nobody listens there
        with socket.socket() as s, pytest.raises(OSError):
            s.settimeout(2)
            s.connect((address, port))
    log = tmp / "netblock.log"
    assert not log.exists() or not log.read_text().strip(), log.read_text()  # it never even tried


def test_the_cli_answers_with_the_network_blocked(tmp_path):
    out = subprocess.run([sys.executable, "-m", "rag", "ask", "What is SoULS?"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300, env={**os.environ, **blocked_env(tmp_path)})
    assert out.returncode == 0 and "[1]" in out.stdout, out.stderr[-2000:]
    log = tmp_path / "netblock.log"
    assert not log.exists() or not log.read_text().strip(), log.read_text()


def test_eight_users_at_once_all_get_the_answer_a_lone_user_gets(server):
    client, proc, url, tmp = server
    alone = {q: body(client.predict(q, api_name="/chat")) for q in QUESTIONS}
    latencies, answers, lock = [], [], threading.Lock()

    def user(u: int) -> None:
        from gradio_client import Client

        mine = Client(url, verbose=False)
        for q in QUESTIONS[u % 5:] + QUESTIONS[:u % 5]:
            t = time.perf_counter()
            reply = mine.predict(q, api_name="/chat")
            with lock:
                latencies.append(time.perf_counter() - t)
                answers.append((q, body(reply)))

    t0 = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(user, range(8)))
    wall = time.perf_counter() - t0
    assert len(answers) == 40
    assert all(a == alone[q] for q, a in answers), [q for q, a in answers if a != alone[q]]
    report = {"users": 8, "questions_each": 5, "wall_s": wall, "p50_s": statistics.median(latencies),
              "p95_s": sorted(latencies)[int(0.95 * len(latencies)) - 1], "max_s": max(latencies),
              "server_peak_rss_mb": peak_mb(proc.pid)}
    (ROOT / "tests" / "artifacts").mkdir(exist_ok=True)
    (ROOT / "tests" / "artifacts" / "load.json").write_text(json.dumps(report, indent=1))
    print("\n", report)
    assert report["server_peak_rss_mb"] < 2048


def test_a_full_queue_says_busy_try_again_and_the_server_recovers(server):
    client, proc, url, tmp = server
    jobs = [client.submit("What was the GDP of France in 2019?", api_name="/chat") for _ in range(3 * QUEUE)]
    outcomes = []
    for job in jobs:
        try:
            outcomes.append(job.result(timeout=300))
        except Exception as e:  # gradio_client's QueueError
            outcomes.append(e)
    busy = [o for o in outcomes if isinstance(o, Exception)]
    assert busy and all("Queue is full" in str(e) and "try again" in str(e) for e in busy)
    assert any(isinstance(o, str) and "can't answer" in o for o in outcomes)
    assert "[1]" in client.predict("What is SoULS?", api_name="/chat")  # still serving
