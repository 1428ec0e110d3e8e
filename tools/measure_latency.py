"""Cold start, warm per-stage latency and peak memory of answer() on the seed corpus.

    .venv/bin/python tools/measure_latency.py

Run it with the model cache warm (after one `make test` or `make serve`). A single run on
a shared two-core machine: read the figures as indicative; `make bench` (issue 6) is
where speed targets will be checked with repeats and ratios.
"""

import resource
import statistics
import time

t0 = time.perf_counter()
from rag import answer  # noqa: E402  (the import is part of the cold start)

first = answer("What is SoULS?")
print(f"process start to first answer: {time.perf_counter() - t0:.1f} s; "
      f"stages {({k: round(v, 2) for k, v in first.timings.items()})}")
QUESTIONS = ["What is SoULS?", "What is relocalization?", "Who are the primary beneficiaries of SoULS?",
             "What did efficiency cost communities?", "Who wrote Localization: A Global Manifesto?"]
per_stage: dict[str, list[float]] = {}
for q in QUESTIONS:
    for stage, seconds in answer(q).timings.items():
        per_stage.setdefault(stage, []).append(seconds)
print("warm medians (s):", {k: round(statistics.median(v), 3) for k, v in per_stage.items()})
print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
