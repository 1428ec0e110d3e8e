"""`make bench`: speed and memory of every stage, each beside its own reference.

Run as `python -m bench [--quick] [--only SECTION ...]`. Each section is a module with a
`run(args, shared) -> dict`; figures are medians over repeats and every comparison is a
ratio measured in the same run, so a busy machine slows both sides alike. Results go to
bench/results.json and a Markdown table on stdout. Not a test: `tests/test_bench.py` only
checks that `--quick` runs.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SCIFACT = SHARED / "eval" / "scifact"
SEED_QUESTIONS = [
    "What is SoULS?", "What is relocalization?", "Who are the primary beneficiaries of SoULS?",
    "What did efficiency cost communities?", "Who wrote Localization: A Global Manifesto?",
    "What is glocalization?", "What is Haqdarshak?", "What are the main goals of relocalization?",
    "Why do companies adapt products to local markets?", "What does the factory produce?",
]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def median(values: list[float]) -> float:
    return statistics.median(values)


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t, out


def rss_mb(pid: int | str = "self") -> tuple[float, float]:
    """(current, peak) resident memory of a process in MB, from /proc."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024
