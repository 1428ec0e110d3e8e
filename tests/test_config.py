"""The settings: one place reads the RAG_* variables, and a value that cannot work is refused
with the variable's name and what it takes."""

import subprocess
import sys
from pathlib import Path

import pytest

import rag
from rag.config import ENV, Config

ROOT = Path(__file__).resolve().parent.parent


def test_every_variable_sets_its_field():
    env = {"RAG_MAX_BATCH": "3", "RAG_GENERATE_BF16": "0", "RAG_EMBED_BF16": "1", "RAG_PORT": "8123",
           "RAG_API_TIMEOUT": "2.5", "RAG_STORE": "milvus", "RAG_INDEX_DIR": "/tmp/somewhere", "RAG_API_KEY": " k "}
    c = Config.from_env(env)
    assert (c.max_batch, c.generate_bf16, c.embed_bf16, c.port, c.api_timeout, c.store) == (3, False, True, 8123,
                                                                                             2.5, "milvus")
    assert c.index_dir == Path("/tmp/somewhere") and c.api_key == "k"
    assert Config.from_env({}) == Config() and Config.from_env({"RAG_PORT": ""}) == Config()
    assert {field for field, _, _ in ENV.values()} <= set(Config.__dataclass_fields__)


@pytest.mark.parametrize("var, value", [("RAG_MAX_BATCH", "many"), ("RAG_MAX_BATCH", "0"), ("RAG_PORT", "99999"),
                                        ("RAG_GENERATE_BF16", "yes"), ("RAG_IO_TIMEOUT", "-1"),
                                        ("RAG_STORE", "elastic")])
def test_a_bad_value_names_the_variable_and_what_it_takes(var, value):
    with pytest.raises(rag.ConfigError) as e:
        Config.from_env({var: value})
    assert str(e.value).startswith(f"{var}={value!r} cannot work: it takes ")
    assert isinstance(e.value, rag.RagError) and isinstance(e.value, ValueError)


def test_the_server_refuses_a_bad_value_before_it_starts():
    env = {"PATH": "/usr/bin:/bin", "RAG_PORT": "http"}
    out = subprocess.run([sys.executable, "-m", "ui"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "RAG_PORT='http' cannot work: it takes a port number" in out.stderr
