"""Continuous batching: the answers being written share each forward pass of the generator.

A forward pass reads all the weights whether it advances one answer or eight, so the answers
in flight are stepped together. The tokens every answer feeds at a step (its last token and its
prompt-lookup guesses, or a chunk of a newcomer's prompt) are packed into one sequence: the
linear layers run once over all of them, with no padding, and attention runs per answer over
that answer's own KV cache (rag/models/attention.py). A newcomer's prompt is fed in chunks
inside the running steps; a finished or abandoned answer leaves, and the others go on. Every
step runs on the model thread (rag/models/compute.py), so embeddings asked for meanwhile slip
in between steps.

Same answers alone and in a batch, bit for bit. In bf16 which positions are computed together
changes rounding, so what an answer computes never depends on the others: its guesses per
step, its prompt chunks (`CHUNK` tokens from the end of the shared prefix) and its cache are
its own, and its attention is one call over exactly its cache. What is shared, the matrix
products of the linear layers, gives a token the same bits whether 2 or `MAX_TOKENS` tokens
share the pass (tests/test_integration.py checks it on the model's own activations); a single
token would be a matrix-vector product, which sums in another order. So a pass is padded with
filler tokens to a multiple of `ROWS` (and the logits it keeps likewise): never one token, and
few distinct sizes for oneDNN's kernel cache. Leaves out: sampling (decoding is greedy), and
the alternatives compared (docs/speed.md, with what a pass costs).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from . import compute
from .attention import Pack, use_packed_attention

CHUNK = 128  # prompt tokens an answer feeds per step while it is read
MAX_TOKENS = 384  # tokens in one forward pass at most (the row-invariance is checked up to it: see above)
ROWS = 16  # a pass's tokens, and the logits it keeps, are padded to a multiple of this (see above)


@dataclass
class Row:
    """One answer being written."""

    prompt: list[int]
    prefix: int  # the first `prefix` tokens are shared by every prompt (template and system message): cached
    max_new: int
    choose: Callable  # (logits row, generated so far) -> token: greedy, with the copy bias
    drafts: Callable  # (generated so far) -> the tokens guessed to follow
    stop: Callable[[str], bool] | None
    out: queue.Queue = field(default_factory=queue.Queue)  # text pieces, then None (or an exception)
    new: list[int] = field(default_factory=list)
    sent: str = ""
    token: int | None = None  # chosen, emitted, not yet fed to the model
    kv: list | None = None  # this answer's cache: per layer (keys, values), [1, kv heads, length, head dim]
    fed: int = 0  # prompt tokens in the cache
    cancelled: bool = False
    done: bool = False

    @property
    def length(self) -> int:
        return 0 if self.kv is None else self.kv[0][0].shape[2]


class Batcher:
    """Steps every answer in flight together, one step after another on the model thread."""

    def __init__(self, model, tokenizer, eos: set[int], max_batch: int) -> None:
        self.model, self.tok, self.eos, self.max_batch = model, tokenizer, eos, max(1, max_batch)
        self.waiting: list[Row] = []
        self.rows: list[Row] = []  # being read or written
        self.prefixes: dict[tuple[int, ...], list] = {}  # shared prompt prefix -> its cache
        self._lock = threading.Lock()
        self._stepping = False  # a step is queued or running on the model thread
        use_packed_attention(model)

    def stream(self, row: Row) -> Iterator[str]:
        """Yield `row`'s text as it is written (what came since the last piece, as one piece);
        leaving early cancels it at the next step."""
        with self._lock:
            self.waiting.append(row)
            if not self._stepping:  # steps follow one another on the model thread while there is work
                self._stepping = True
                compute.submit(self._tick)
        try:
            while True:
                items = [row.out.get()]
                while isinstance(items[-1], str) and not row.out.empty():
                    items.append(row.out.get_nowait())
                text = "".join(i for i in items if isinstance(i, str))
                if text:
                    yield text
                if isinstance(items[-1], BaseException):
                    raise items[-1]
                if items[-1] is None:
                    return
        finally:
            row.cancelled = True

    def _tick(self) -> None:
        """One step, then the next one queued behind whatever else waits for the model thread
        (embeddings): no other thread in between."""
        with self._lock:
            room = self.max_batch - len(self.rows)
            joining, self.waiting = self.waiting[:room], self.waiting[room:]
            self.rows += joining
        try:
            self._step()
        except BaseException as e:  # noqa: BLE001 - every row in flight hears it, the batcher goes on
            with self._lock:
                for row in self.rows + self.waiting:
                    row.out.put(e)
                self.rows, self.waiting = [], []
        with self._lock:
            self._stepping = bool(self.rows or self.waiting)
            if self._stepping:
                compute.submit(self._tick)

    # ---- on the model thread ----

    def _step(self) -> None:
        """One step: every answer feeds its next tokens, in as few passes as `MAX_TOKENS` allows."""
        import torch

        with torch.inference_mode():
            self._leave()
            feeds = []
            for row in self.rows:
                if row.kv is None and row.prefix:
                    row.kv, row.fed = self._prefix(tuple(row.prompt[:row.prefix])), row.prefix
                if row.fed < len(row.prompt):
                    feeds.append((row, row.prompt[row.fed:row.fed + CHUNK]))
                else:
                    guesses = row.drafts(row.new)[:max(0, row.max_new - len(row.new))]
                    feeds.append((row, [row.token, *guesses]))
            feeds.sort(key=lambda f: f[0].fed < len(f[0].prompt))  # answers being written first
            while feeds:
                n, size = 0, 0
                while n < len(feeds) and size + len(feeds[n][1]) <= MAX_TOKENS:
                    size += len(feeds[n][1])
                    n += 1
                self._pass(feeds[:n])
                feeds = feeds[n:]
            self._leave()

    def _forward(self, feeds: list[tuple[Row | None, list[int]]], pasts: list, keep: list[int]):
        """One packed pass: the logits at positions `keep` and each feed's cache after it."""
        import torch

        ids, positions = [], []
        for (_, tokens), past in zip(feeds, pasts, strict=True):
            start = 0 if past is None else past[0][0].shape[2]
            ids += tokens
            positions += range(start, start + len(tokens))
        pad = -len(ids) % ROWS  # filler tokens: attended by nothing, their results dropped
        pack = Pack(pasts, [len(t) for _, t in feeds], pad)
        rows = keep + [0] * (-len(keep) % ROWS)
        out = self.model(input_ids=torch.tensor([ids + [0] * pad]), position_ids=torch.tensor([positions + [0] * pad]),
                         use_cache=False, logits_to_keep=torch.tensor(rows, dtype=torch.long), rag_pack=pack)
        return out.logits[0, :len(keep)].float(), pack.kv  # fp32: an argmax over bf16 is 4x slower here

    def _prefix(self, head: tuple[int, ...]) -> list:
        """The cache of a shared prompt prefix, computed once (in `CHUNK`s, as a prompt is)."""
        if head not in self.prefixes:
            if len(self.prefixes) >= 4:  # a few system prompts at most; never grows without bound
                self.prefixes.pop(next(iter(self.prefixes)))
            kv = None
            for at in range(0, len(head), CHUNK):
                _, (kv,) = self._forward([(None, list(head[at:at + CHUNK]))], [kv], [])
            self.prefixes[head] = kv
        return self.prefixes[head]

    def _pass(self, feeds: list[tuple[Row, list[int]]]) -> None:
        keep, at = [], 0
        for row, tokens in feeds:
            if row.fed < len(row.prompt):  # a prompt chunk: logits only after its last token
                if row.fed + len(tokens) == len(row.prompt):
                    keep.append(at + len(tokens) - 1)
            else:
                keep += range(at, at + len(tokens))
            at += len(tokens)
        logits, caches = self._forward(feeds, [row.kv for row, _ in feeds], keep)
        i = 0
        for (row, tokens), kv in zip(feeds, caches, strict=True):
            if row.fed < len(row.prompt):
                row.kv, row.fed = kv, row.fed + len(tokens)
                if row.fed == len(row.prompt):
                    self._emit(row, [row.choose(logits[i], [])])
                    i += 1
                continue
            chosen = [row.choose(logits[i], row.new)]
            for j, guess in enumerate(tokens[1:]):
                if chosen[-1] != guess or guess in self.eos:
                    break
                chosen.append(row.choose(logits[i + j + 1], row.new + tokens[1:j + 2]))
            i += len(tokens)
            length = row.length + len(chosen)  # the fed token and the guesses that held
            row.kv = [(k[:, :, :length], v[:, :, :length]) for k, v in kv]
            self._emit(row, chosen)

    def _emit(self, row: Row, tokens: list[int]) -> None:
        """Append the tokens a pass chose, one by one, and send their text as one piece; stop at
        eos, the limit or `stop`. The last token kept is the one to feed next."""
        text = row.sent
        for token in tokens:
            if token in self.eos or len(row.new) >= row.max_new:
                row.done = True
                break
            row.new.append(token)
            decoded = self.tok.decode(row.new, skip_special_tokens=True)
            if not decoded.endswith("\ufffd"):  # wait for the rest of a multi-byte char
                text = decoded
                if row.stop is not None and row.stop(text):
                    row.done = True
                    break
            row.token = token
        if len(text) > len(row.sent):
            row.out.put(text[len(row.sent):])
            row.sent = text

    def _leave(self) -> None:
        """Drop finished and abandoned answers (their caches go with them)."""
        with self._lock:
            for row in self.rows:
                if row.done:
                    row.out.put(None)
            self.rows = [row for row in self.rows if not (row.done or row.cancelled)]
