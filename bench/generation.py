"""Generation speed inside `stream_answer`, beside a bare `model.generate` and the hardware.

For each seed question the pipeline runs as the product does; a thin wrapper around its
generator records the prompt, the time to the first piece of text and the time to the
last. The bare reference is `model.generate(do_sample=False)` of the same model on the same
prompt for the same number of tokens: its time to first token is a 1-token run, its decode
rate (n - 1) / (T(n) - T(1)). The same is done for a prompt of 4 whole passages.

Physical bounds, measured in the same run: decoding one token reads every weight once
(memory-bound), so tokens/s <= read bandwidth / weight bytes; prefill is compute-bound,
so its time >= (2 * non-embedding parameters * prompt tokens + causal attention,
2 * layers * tokens^2 * hidden) / peak matmul FLOP/s at the model's precision.
"""

from __future__ import annotations

import time

from . import SEED_QUESTIONS, median


class Recorder:
    """Wraps a generator; keeps the messages, token count and timings of each stream."""

    def __init__(self, inner):
        self.inner, self.name, self.calls = inner, inner.name, []

    def load(self):
        self.inner.load()

    def stream(self, messages, max_new_tokens, stop=None):
        t0, first, text = time.perf_counter(), None, ""
        for piece in self.inner.stream(messages, max_new_tokens, stop):
            first = first if first is not None else time.perf_counter() - t0
            text += piece
            yield piece
        self.calls.append({"messages": messages, "text": text, "ttft": first, "total": time.perf_counter() - t0})


def hardware(torch, dtype) -> dict:
    """Read bandwidth (GB/s, summing a 1 GB tensor) and peak matmul GFLOP/s at `dtype` (the model's)."""
    big = torch.ones(256 * 1024 * 1024)
    reads = []
    for _ in range(5):
        t = time.perf_counter()
        big.sum()
        reads.append(time.perf_counter() - t)
    del big
    a, b = torch.randn(2048, 2048, dtype=dtype), torch.randn(2048, 2048, dtype=dtype)
    mms = []
    for _ in range(5):
        t = time.perf_counter()
        a @ b
        mms.append(time.perf_counter() - t)
    return {"read_gb_per_s": 4 * 256 * 1024 * 1024 / min(reads) / 1e9,
            "matmul_gflop_per_s": 2 * 2048**3 / min(mms) / 1e9}


def bare(model, ids, n: int, torch) -> tuple[float, float]:
    """(time to first token, decode tokens/s) of model.generate on `ids` for `n` tokens."""
    with torch.inference_mode():
        one = min(timed_generate(model, ids, 1) for _ in range(2))
        full = timed_generate(model, ids, n)
    return one, (n - 1) / max(1e-9, full - one)


def timed_generate(model, ids, n: int) -> float:
    t = time.perf_counter()
    model.generate(ids, attention_mask=ids.new_ones(ids.shape), max_new_tokens=n, min_new_tokens=n,
                   do_sample=False, pad_token_id=0)
    return time.perf_counter() - t


def run(args, shared: dict) -> dict:
    import torch

    from rag.answering.prompt import prompt
    from rag.config import Config
    from rag.pipeline import Pipeline

    pipe = Pipeline(Config.from_env(), embedder=shared.get("embedder"), log=lambda *_: None)
    pipe.generator = rec = Recorder(pipe.generator)
    pipe.warm()
    gen = rec.inner
    tok, model = gen._tokenizer, gen._model
    pipe.answer(SEED_QUESTIONS[0])  # warm-up
    rec.calls.clear()
    for q in SEED_QUESTIONS[: args.questions]:
        pipe.answer(q)
    hits = pipe.retrieve("What is relocalization?")
    four = prompt("What is relocalization?", [(i, h.chunk.text) for i, h in enumerate(hits[:4], 1)])
    t0 = time.perf_counter()
    text = "".join(gen.stream(four, 64))  # the product's generator, without the pipeline's early stop
    rec.calls.append({"messages": four, "text": text, "total": time.perf_counter() - t0, "four": True})
    t0 = time.perf_counter()
    next(iter(gen.stream(four, 1)))
    rec.calls[-1]["ttft"] = time.perf_counter() - t0
    rows = []
    for call in rec.calls:
        ids = tok.apply_chat_template(call["messages"], add_generation_prompt=True, return_tensors="pt",
                                      return_dict=True)["input_ids"]
        n = len(tok(call["text"])["input_ids"])
        if n < 4:
            continue
        decode = (n - 1) / max(1e-9, call["total"] - call["ttft"])
        bare_ttft, bare_decode = bare(model, ids, n, torch)
        rows.append({"prompt_tokens": ids.shape[1], "tokens": n, "ttft_s": call["ttft"], "decode_tok_s": decode,
                     "bare_ttft_s": bare_ttft, "bare_decode_tok_s": bare_decode,
                     "four_passages": bool(call.get("four"))})
    hw = hardware(torch, model.dtype)
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    embedding = model.get_input_embeddings().weight.numel()
    body = sum(p.numel() for p in model.parameters()) - embedding
    seeds = [r for r in rows if not r["four_passages"]]
    four_row = next(r for r in rows if r["four_passages"])
    bound_decode = hw["read_gb_per_s"] * 1e9 / weights

    def prefill_bound(tokens: int) -> float:
        attention = 2 * model.config.num_hidden_layers * tokens**2 * model.config.hidden_size
        return (2 * body * tokens + 2 * embedding + attention) / (hw["matmul_gflop_per_s"] * 1e9)

    return {
        "hardware": hw, "weight_mb": weights / 1e6, "seed_answers": len(seeds),
        "ttft_s": median([r["ttft_s"] for r in seeds]), "bare_ttft_s": median([r["bare_ttft_s"] for r in seeds]),
        "decode_tok_s": median([r["decode_tok_s"] for r in seeds]),
        "bare_decode_tok_s": median([r["bare_decode_tok_s"] for r in seeds]),
        "decode_ratio_to_bare": median([r["decode_tok_s"] / r["bare_decode_tok_s"] for r in seeds]),
        "prompt_tokens": median([r["prompt_tokens"] for r in seeds]),
        "four_passages": four_row, "decode_bound_tok_s": bound_decode,
        "prefill_bound_s": prefill_bound(int(median([r["prompt_tokens"] for r in seeds]))),
        "four_prefill_bound_s": prefill_bound(four_row["prompt_tokens"]),
        "rows": rows, "targets": {"decode_tok_s": 20, "ttft_s_four_passages": 1.0, "ratio_to_bare": 0.95},
    }


def table(r: dict) -> list[tuple[str, str, str]]:
    f, hw = r["four_passages"], r["hardware"]
    return [
        (f"decode, median of {r['seed_answers']} seed answers",
         f"{r['decode_tok_s']:.1f} tokens/s; bare model.generate {r['bare_decode_tok_s']:.1f}",
         f"ratio {r['decode_ratio_to_bare']:.2f} (target >= 0.95); memory bound {r['decode_bound_tok_s']:.1f} "
         f"({r['weight_mb']:.0f} MB at {hw['read_gb_per_s']:.1f} GB/s); target >= 20"),
        ("first token, seed answers",
         f"{r['ttft_s']:.2f} s ({r['prompt_tokens']:.0f}-token prompt); bare {r['bare_ttft_s']:.2f} s",
         f"compute bound {r['prefill_bound_s']:.2f} s at {hw['matmul_gflop_per_s']:.0f} GFLOP/s"),
        ("4 whole passages",
         f"first token {f['ttft_s']:.2f} s ({f['prompt_tokens']} tokens), decode {f['decode_tok_s']:.1f} tokens/s; "
         f"bare {f['bare_ttft_s']:.2f} s, {f['bare_decode_tok_s']:.1f} tokens/s",
         f"target first token <= 1.0 s; compute bound {r['four_prefill_bound_s']:.2f} s"),
    ]
