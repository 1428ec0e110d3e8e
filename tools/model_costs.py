"""What the generator's forward passes cost here: the figures behind rag/compute.py and
rag/batching.py (README, "Many users at once").

    python tools/model_costs.py

1. steps: one decode step over a 150-token cache for 1, 2, 4 and 8 rows feeding 1, 2 and 4
   positions each (what a batched step with drafts costs).
2. prefill: a prompt of 60 and 120 tokens (compute-bound: ms per token).
"""

from __future__ import annotations

import statistics
import time

import torch

from rag.config import Config
from rag.generate import SmolLM


def steps(model) -> None:
    with torch.inference_mode():
        for rows in (1, 2, 4, 8):
            cells = []
            for width in (1, 2, 4):
                cache = model(input_ids=torch.randint(0, 1000, (rows, 150)), use_cache=True,
                              logits_to_keep=1).past_key_values
                mask = torch.ones(rows, 150 + width, dtype=torch.long)
                times = []
                for _ in range(6):
                    t = time.perf_counter()
                    model(input_ids=torch.randint(0, 1000, (rows, width)), past_key_values=cache, use_cache=True,
                          attention_mask=mask if rows > 1 else None)
                    times.append(time.perf_counter() - t)
                    cache.crop(-width)
                cells.append(f"{width} positions {1000 * statistics.median(times):.0f} ms")
            print(f"step, {rows} row(s): " + ", ".join(cells))


def prefill(model) -> None:
    with torch.inference_mode():
        for n in (60, 120):
            best = min(_timed(model, n) for _ in range(3))
            print(f"prefill {n} tokens: {1000 * best:.0f} ms ({1000 * best / n:.2f} ms a token)")


def _timed(model, n: int) -> float:
    t = time.perf_counter()
    model(input_ids=torch.randint(0, 1000, (1, n)), use_cache=True, logits_to_keep=1)
    return time.perf_counter() - t


def main() -> None:
    gen = SmolLM(Config().cache_dir)
    gen.load()
    model = gen._model
    steps(model)
    prefill(model)


if __name__ == "__main__":
    main()
