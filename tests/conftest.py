"""Shared fixtures: deterministic fakes at the model boundary, a tiny corpus, and
configs that write only under pytest's tmp_path."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rag.config import Config

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def chat_server(folder: Path, **env):
    """Run `python -m ui` on a free loopback port, with its log, index and uploads under
    `folder` (and `env` on top); yield (url, process) once it accepts connections."""
    port = free_port()
    env = {**os.environ, "RAG_PORT": str(port), "RAG_INDEX_DIR": str(folder / "index"),
           "RAG_UPLOADS_DIR": str(folder / "uploads"), "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
           **env}
    with open(folder / "ui.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "ui"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + 180
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.time() > deadline or proc.poll() is not None:
                        raise AssertionError((folder / "ui.log").read_text()[-3000:]) from None
                    time.sleep(0.5)
            yield f"http://127.0.0.1:{port}/", proc
        finally:
            proc.terminate()
            proc.wait(timeout=30)


class FakeEmbedder:
    """Bag of hashed words: texts sharing words get similar vectors. Deterministic."""

    name = "fake-bag-of-words"
    dim = 64

    def __init__(self) -> None:
        self.calls: list[int] = []  # how many texts each encode() call embedded

    def load(self) -> None:
        pass

    def encode(self, texts, batch_size=32):
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"[a-z0-9]+", t.lower()):
                out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim] += 1
            out[i] /= np.linalg.norm(out[i]) or 1
        return out


class FakeGenerator:
    """Replies with a fixed text (or one computed from the prompt), piece by piece."""

    name = "fake-generator"

    def __init__(self, reply="") -> None:
        self.reply = reply
        self.prompts: list[list[dict]] = []

    def load(self) -> None:
        pass

    def stream(self, messages, max_new_tokens, stop=None):
        self.prompts.append(messages)
        text = self.reply(messages) if callable(self.reply) else self.reply
        sent = ""
        for word in re.findall(r"\S+\s*", text):
            sent += word
            yield word
            if stop and stop(sent):
                return


class FakeTagger:
    """Entity tags by pattern: a run of capitalised words is a name, a run of digits a number."""

    def tag(self, texts):
        return [tuple((m.start(), m.end(), "number" if m.group()[0].isdigit() else "person")
                      for m in re.finditer(r"\b\d[\d,.]*\b|(?<!^)(?<![.!?] )\b[A-Z][a-z]+(?: [A-Z][a-z]+)*", t))
                for t in texts]


@pytest.fixture(autouse=True)
def fake_tagger(request, monkeypatch):
    """Unit tests tag entities with `FakeTagger`; integration tests run spaCy."""
    if request.node.get_closest_marker("integration") is None:
        monkeypatch.setattr("rag.pipeline.SpacyTagger", FakeTagger)


TINY = {
    "solar.txt": "Skip to content\n12\nSolar Lamps For Villages\n\nThe SoULS project assembles solar "
                 "lamps locally in rural Bihar. Local women are trained to repair the lamps.\n"
                 "Children study longer in the evening thanks to the lamps.",
    "trade.md": "# Free Trade And Its Critics\n\nGlobalization moves goods and capital across borders. "
                "Critics say it hollows out factory towns. Supporters say it lifts millions from poverty.",
    "farms.txt": "Local farms sell vegetables at weekly markets. Farmers keep seeds from their own harvest. "
                 "Food travels fewer miles when it is grown nearby.",
}


@pytest.fixture
def corpus(tmp_path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in TINY.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def config(tmp_path, corpus) -> Config:
    # the tiktoken file is seeded in the repository's cache (no network either way)
    return Config(docs_dir=corpus, uploads_dir=tmp_path / "uploads", index_dir=tmp_path / "index",
                  cache_dir=ROOT / ".cache",
                  chunk_tokens=40, chunk_overlap=8)


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails loudly, as on an offline machine."""
    def refuse(*args, **kwargs):
        raise OSError("network access blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
