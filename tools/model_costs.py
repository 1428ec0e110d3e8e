"""What the generator's forward passes cost here: the figures behind rag/models/batching.py and the
README's "Many users at once".

    python tools/model_costs.py

For the generator in bf16 and in fp32 (`Config.generate_bf16`), the median time of one packed
pass (rag/models/batching.py) over caches of 150 tokens:
1. decode: 1, 2, 4 and 8 answers feeding 1, 5 and 9 tokens each (the token and its guesses);
2. prompt: a chunk of 64 and of 128 tokens alone, and a chunk of 64 folded into a pass of 8
   answers feeding 5 tokens each (beside the two passes it saves);
3. one attention call as `_attend` makes it, per answer and layer: 5 queries over 155 keys.
"""

from __future__ import annotations

import statistics
import time

import torch

from rag.config import Config
from rag.models.generate import SmolLM


def timed(batcher, feeds, pasts, keep, repeats: int = 7) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        batcher._forward(feeds, pasts, keep)
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times[1:])


def report(batcher) -> None:
    torch.manual_seed(0)
    with torch.inference_mode():
        cache = batcher._forward([(None, torch.randint(0, 30000, (150,)).tolist())], [None], [])[1][0]
        for rows in (1, 2, 4, 8):
            cells = []
            for width in (1, 5, 9):
                feeds = [(None, torch.randint(0, 30000, (width,)).tolist()) for _ in range(rows)]
                ms = timed(batcher, feeds, [cache] * rows, list(range(rows * width)))
                cells.append(f"{width} tokens {ms:.0f} ms")
            print(f"  decode pass, {rows} answer(s): " + ", ".join(cells))
        for n in (64, 128):
            chunk = torch.randint(0, 30000, (n,)).tolist()
            print(f"  prompt chunk of {n} tokens alone: {timed(batcher, [(None, chunk)], [cache], [n - 1]):.0f} ms")
        decode = [(None, torch.randint(0, 30000, (5,)).tolist()) for _ in range(8)]
        chunk = (None, torch.randint(0, 30000, (64,)).tolist())
        apart = timed(batcher, decode, [cache] * 8, list(range(40))) + timed(batcher, [chunk], [cache], [63])
        folded = timed(batcher, [*decode, chunk], [cache] * 9, [*range(40), 103])
        print(f"  8 answers x 5 tokens with a 64-token chunk folded in: {folded:.0f} ms (two passes: {apart:.0f} ms)")
        config, dtype = batcher.model.config, batcher.model.dtype
        dim = config.hidden_size // config.num_attention_heads
        q = torch.randn(1, config.num_attention_heads, 5, dim, dtype=dtype)
        k = torch.randn(1, config.num_key_value_heads, 155, dim, dtype=dtype)
        visible = torch.ones(5, 155, dtype=torch.bool).tril(150)
        calls = []
        for _ in range(200):
            t = time.perf_counter()
            torch.nn.functional.scaled_dot_product_attention(q, k, k, attn_mask=visible, enable_gqa=True)
            calls.append(time.perf_counter() - t)
        print(f"  one attention call (an answer's, one layer; {config.num_hidden_layers} layers a pass): "
              f"{1e6 * statistics.median(calls):.0f} us")


def main() -> None:
    for bf16 in (True, False):
        gen = SmolLM(Config().cache_dir, bf16=bf16)
        gen.load()
        print(f"generator in {str(gen._model.dtype).removeprefix('torch.')}:")
        report(gen._batcher)


if __name__ == "__main__":
    main()
