"""Continuous batching: the answers being written share each forward pass of the generator.

A decode step reads all 540 MB of weights whether it advances one sequence or eight, so the
sequences in flight are stepped together: one batch, one KV cache with a row per sequence.
A newcomer is prefilled alone (its prompt, last position's logits only) and joins the batch at
the next step; a finished or abandoned sequence leaves it, and the others go on. Every step
runs on the model thread (rag/compute.py), so embeddings asked for meanwhile slip in between
steps.

The rows have different lengths. The cache is left-padded to the longest, and the padding is
masked; each row keeps its own positions (position_ids), so a row's attention and rotary
embeddings are the ones it would have alone. Prompt-lookup drafts (rag/generate.py) work per
row: a row feeds its token and its guesses, the batch is padded to the longest feed, and what a
row does not keep (wrong guesses, padding) stays in the cache masked out, as holes. A row alone
with no holes runs without a mask, exactly the single-sequence loop. The seed questions get the
same text alone and eight at a time (tests/test_integration.py; tests/test_batching.py does the
same on a tiny model). What a step and a prefill cost: `python tools/model_costs.py`.

Compared: transformers' own continuous batching (`generate_batch`, paged attention) has no
prompt-lookup drafting, which is what makes a lone answer decode at 30-50 tokens/s here instead
of 17, and no per-token stop callback; so the loop stays ours, with drafting kept per row and
the number of guesses per row shrinking as the batch grows (a step's cost grows with the
positions it computes once the batch is large).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from . import compute

DRAFT_POSITIONS = 32  # positions a step may compute for guesses, shared by the rows of the batch


@dataclass
class Row:
    """One answer being written."""

    prompt: list[int]
    prefix: int  # the first `prefix` tokens are shared by every prompt (template and system message): cached
    max_new: int
    choose: Callable  # (logits row, generated so far) -> token: greedy, with the copy bias
    drafts: Callable  # (generated so far, k) -> up to k guessed tokens
    stop: Callable[[str], bool] | None
    out: queue.Queue = field(default_factory=queue.Queue)  # text pieces, then None (or an exception)
    new: list[int] = field(default_factory=list)
    sent: str = ""
    token: int | None = None  # chosen, emitted, not yet fed to the model
    length: int = 0  # tokens of this row in the cache that count (its next position)
    cancelled: bool = False
    done: bool = False


class Batcher:
    """Steps every row in flight together, on the model thread, from a scheduler thread."""

    def __init__(self, model, tokenizer, eos: set[int], max_batch: int) -> None:
        self.model, self.tok, self.eos, self.max_batch = model, tokenizer, eos, max(1, max_batch)
        self.waiting: list[Row] = []
        self.joining: list[Row] = []  # taken from `waiting` by the step under way
        self.rows: list[Row] = []  # in the order of the cache's batch rows
        self.cache = None
        self.mask = None  # [rows, cache length] 1 where a cache entry counts
        self.holes = False
        self.prefixes: dict[tuple[int, ...], list] = {}  # shared prompt prefix -> its (keys, values) per layer
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None

    def stream(self, row: Row) -> Iterator[str]:
        """Yield `row`'s text as it is written; leaving early cancels it at the next step."""
        with self._cv:
            self.waiting.append(row)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="rag-batcher", daemon=True)
                self._thread.start()
            self._cv.notify()
        try:
            while (piece := row.out.get()) is not None:
                if isinstance(piece, BaseException):
                    raise piece
                yield piece
        finally:
            row.cancelled = True

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not self.waiting and not self.rows:
                    self._cv.wait()
            try:
                compute.run(self._step)
            except BaseException as e:  # noqa: BLE001 - every row in flight hears it, the loop goes on
                with self._cv:
                    for row in {id(r): r for r in self.rows + self.joining + self.waiting}.values():
                        row.out.put(e)
                    self.rows, self.joining, self.waiting, self.cache, self.mask = [], [], [], None, None
                    self.holes = False

    # ---- on the model thread ----

    def _step(self) -> None:
        import torch

        with torch.inference_mode():
            self._leave()
            with self._cv:
                room = self.max_batch - len(self.rows)
                self.joining, self.waiting = self.waiting[:room], self.waiting[room:]
            for row in self.joining:
                if not row.cancelled:
                    self._join(row)
            self.joining = []
            self._leave()
            if self.rows:
                self._decode()
            self._leave()

    def _emit(self, row: Row, tokens: list[int]) -> None:
        """Append chosen tokens one by one, sending the text; stop at eos, the limit or `stop`.
        The last token kept is the one to feed next."""
        for token in tokens:
            if token in self.eos or len(row.new) >= row.max_new:
                row.done = True
                return
            row.new.append(token)
            text = self.tok.decode(row.new, skip_special_tokens=True)
            if not text.endswith("\ufffd"):  # wait for the rest of a multi-byte char
                piece, row.sent = text[len(row.sent):], text
                if piece:
                    row.out.put(piece)
                if row.stop is not None and row.stop(text):
                    row.done = True
                    return
            row.token = token

    def _prefill(self, row: Row):
        """The row's prompt through the model, its shared prefix from the cache of prefixes."""
        import torch
        from transformers import DynamicCache

        head = tuple(row.prompt[:row.prefix])
        if head and head not in self.prefixes:
            if len(self.prefixes) >= 4:  # a few system prompts at most; never grows without bound
                self.prefixes.pop(next(iter(self.prefixes)))
            out = self.model(input_ids=torch.tensor([head]), use_cache=True, logits_to_keep=1)
            self.prefixes[head] = [(layer.keys, layer.values) for layer in out.past_key_values.layers]
        cache = DynamicCache(ddp_cache_data=[(k.clone(), v.clone()) for k, v in self.prefixes[head]]) if head else None
        return self.model(input_ids=torch.tensor([row.prompt[len(head):]]), past_key_values=cache, use_cache=True,
                          logits_to_keep=1)

    def _join(self, row: Row) -> None:
        import torch

        out = self._prefill(row)
        row.length = len(row.prompt)
        self._emit(row, [row.choose(out.logits[0, -1], [])])
        if row.done:
            row.out.put(None)
            return
        layers = [(layer.keys, layer.values) for layer in out.past_key_values.layers]
        mask = torch.ones(1, len(row.prompt), dtype=torch.long)
        if self.cache is None:
            from transformers import DynamicCache

            self.cache, self.mask, self.rows = DynamicCache(ddp_cache_data=layers), mask, [row]
            return
        width = max(self.mask.shape[1], mask.shape[1])
        for layer, (k, v) in zip(self.cache.layers, layers, strict=True):
            layer.keys = torch.cat([_left_pad(layer.keys, width), _left_pad(k, width)])
            layer.values = torch.cat([_left_pad(layer.values, width), _left_pad(v, width)])
        self.mask = torch.cat([_left_pad(self.mask, width, dim=1), _left_pad(mask, width, dim=1)])
        self.holes = True  # rows of different lengths: the padding is masked from now on
        self.rows.append(row)

    def _leave(self) -> None:
        """Drop finished and abandoned rows from the batch and the cache; trim padding no row needs."""
        gone = [i for i, row in enumerate(self.rows) if row.done or row.cancelled]
        if not gone:
            return
        import torch

        for i in gone:
            if self.rows[i].done:
                self.rows[i].out.put(None)
        keep = [i for i in range(len(self.rows)) if i not in gone]
        self.rows = [self.rows[i] for i in keep]
        if not keep:
            self.cache = self.mask = None
            self.holes = False
            return
        index = torch.tensor(keep)
        self.mask = self.mask[index]
        first = int(self.mask.any(0).long().argmax())  # leading columns masked in every row
        for layer in self.cache.layers:
            layer.keys = layer.keys[index, :, first:]
            layer.values = layer.values[index, :, first:]
        self.mask = self.mask[:, first:]
        self.holes = not bool(self.mask.all())

    def _decode(self) -> None:
        import torch

        k = max(0, min(8, DRAFT_POSITIONS // len(self.rows) - 1))
        feeds = [[row.token, *row.drafts(row.new, k)[:max(0, row.max_new - len(row.new))]] for row in self.rows]
        width = max(len(f) for f in feeds)
        ids = torch.tensor([f + [0] * (width - len(f)) for f in feeds])
        positions = torch.tensor([[row.length + i for i in range(width)] for row in self.rows])
        fed = torch.tensor([[1] * len(f) + [0] * (width - len(f)) for f in feeds])
        mask = torch.cat([self.mask, fed], dim=1)
        holes = self.holes or width > min(len(f) for f in feeds)
        out = self.model(input_ids=ids, position_ids=positions, attention_mask=mask if holes else None,
                         past_key_values=self.cache, use_cache=True)
        kept = []
        for b, (row, feed) in enumerate(zip(self.rows, feeds, strict=True)):
            chosen = [row.choose(out.logits[b, 0], row.new)]
            for i, guess in enumerate(feed[1:]):
                if chosen[-1] != guess or guess in self.eos:
                    break
                chosen.append(row.choose(out.logits[b, i + 1], row.new + feed[1:i + 2]))
            kept.append(len(chosen))  # the fed token and the guesses that held are in the cache
            row.length += len(chosen)
            self._emit(row, chosen)
        if len(self.rows) == 1 and not self.holes:  # alone: drop what was not kept, as one sequence does
            wrong = width - kept[0]
            if wrong:
                self.cache.crop(-wrong)
            self.mask = torch.ones(1, self.cache.get_seq_length(), dtype=torch.long)
            return
        for b, n in enumerate(kept):
            fed[b, n:] = 0
        self.mask = torch.cat([self.mask, fed], dim=1)
        self.holes = not bool(self.mask.all())


def _left_pad(t, width: int, dim: int = 2):
    """`t` padded with zeros on the left of `dim` up to `width`."""
    import torch

    missing = width - t.shape[dim]
    if missing <= 0:
        return t
    shape = list(t.shape)
    shape[dim] = missing
    return torch.cat([torch.zeros(shape, dtype=t.dtype), t], dim=dim)
