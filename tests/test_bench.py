"""`make bench` is a script, not a test: this only checks that it runs on tiny inputs
(`python -m bench --quick`) and writes every section's figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(not (ROOT.parent / "shared" / "eval" / "scifact").is_dir(), reason="needs ../shared/eval/scifact")
def test_bench_runs_on_a_tiny_input(tmp_path):
    out = tmp_path / "results.json"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    run = subprocess.run([sys.executable, "-m", "bench", "--quick", "--out", str(out)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(out.read_text())
    assert results["indexing"]["product_chunks_per_s"] > 0
    assert all(s["p50_ms"] > 0 for s in results["query"]["sizes"].values())
    assert results["evidence"]["added_p50_ms"] > 0 and results["evidence"]["model_files_ms"] > 0
    stores = [s for size in results["store"]["sizes"].values() for s in size.values()]
    assert len(stores) == 6 and all(s["p50_ms"] > 0 and s["disk_mb"] > 0 for s in stores), stores
    assert results["store"]["ingest"]["ray_local_chunks_per_s"] > 0
    assert results["generation"]["decode_tok_s"] > 0 and results["generation"]["four_passages"]["ttft_s"] > 0
    assert results["serving"]["server"]["peak_rss_mb"] > 0
    assert results["api"]["direct_total_median_s"] > 0 and "overhead_median_ms" in results["api"]
    assert results["mcp"]["same_as_answer_stdio"] == results["mcp"]["same_as_answer_http"] == 2
    load = results["load"]
    assert load["batched"]["levels"]["2"]["answers"] == 4 and load["batched"]["peak_rss_mb"] > 0
    assert 0 < load["batched"]["levels"]["2"]["client_cpu_ms_per_answer"] < 1000  # the load generator's own CPU
    assert load["in_process"]["levels"]["2"]["answers"] == 4 and load["in_process"]["levels"]["2"]["p50_s"] > 0
    assert "| what | measured | beside | run |" in run.stdout
