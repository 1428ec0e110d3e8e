"""Continuous batching (rag/models/batching.py) on a tiny random Llama built in memory (no download):
rows written together get exactly the tokens they get alone, leave when done or abandoned, and
the batch never exceeds its cap. The real generator on the seed questions: test_integration."""

from __future__ import annotations

import threading

import pytest

torch = pytest.importorskip("torch")

from rag.models.batching import Batcher, Row  # noqa: E402
from rag.models.generate import draft, lookup_table  # noqa: E402

NEVER = {-1}  # no end-of-text token: the rows run to their limit


class Words:
    """A tokenizer stand-in: token i reads "wi "."""

    def decode(self, ids, skip_special_tokens=True):
        return "".join(f"w{i} " for i in ids)


@pytest.fixture(scope="module")
def model():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=48, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024)
    m = LlamaForCausalLM(config).eval()
    with torch.no_grad():
        m.lm_head.weight.mul_(30)  # spread the logits: no near-ties for arithmetic order to flip
    return m


def row(prompt: list[int], max_new: int = 24, stop=None, drafting: bool = True, prefix: int = 3) -> Row:
    where = lookup_table(prompt)

    def drafts(new):
        return draft(where, prompt + new, 8) if drafting else []

    return Row(prompt, prefix, max_new, lambda logits, _: int(logits.argmax()), drafts, stop)


PROMPTS = [[40, 41, 42] + [(7 * i + 3 * j) % 40 + 1 for j in range(2 + 4 * i)] for i in range(8)]  # 5..33 tokens,
# the first 3 shared (a system message)


def written(batcher: Batcher, rows: list[Row]) -> list[str]:
    """Every row's text, the rows submitted at once from threads of their own."""
    out = [None] * len(rows)

    def run(i):
        out[i] = "".join(batcher.stream(rows[i]))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(rows))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def test_rows_written_together_get_the_tokens_they_get_alone(model):
    alone = [written(Batcher(model, Words(), NEVER, 1), [row(p)])[0] for p in PROMPTS]
    together = written(Batcher(model, Words(), NEVER, 8), [row(p) for p in PROMPTS])
    assert together == alone and all(len(t.split()) == 24 for t in alone)
    plain = [written(Batcher(model, Words(), NEVER, 1), [row(p, drafting=False)])[0] for p in PROMPTS]
    assert plain == alone  # the guesses change the speed, never the text


def test_the_batch_never_exceeds_its_cap_and_everyone_is_answered(model, monkeypatch):
    sizes = []
    step = Batcher._step

    def spy(self):
        sizes.append(len(self.rows))
        return step(self)

    monkeypatch.setattr(Batcher, "_step", spy)
    alone = [written(Batcher(model, Words(), NEVER, 1), [row(p)])[0] for p in PROMPTS[:5]]
    sizes.clear()
    assert written(Batcher(model, Words(), NEVER, 2), [row(p) for p in PROMPTS[:5]]) == alone
    assert max(sizes) == 2


def test_a_row_that_stops_or_is_abandoned_leaves_and_the_others_go_on(model):
    batcher = Batcher(model, Words(), NEVER, 8)
    alone = written(Batcher(model, Words(), NEVER, 1), [row(PROMPTS[1], 40)])[0]
    short = row(PROMPTS[2], 40, stop=lambda text: len(text.split()) >= 3)
    left = batcher.stream(row(PROMPTS[3], 40))
    next(left)  # one piece, then its reader goes away
    out = written(batcher, [row(PROMPTS[1], 40), short])
    left.close()
    assert out[0] == alone and len(out[1].split()) == 3
    deadline = threading.Event()
    for _ in range(100):  # the abandoned row is gone at the next step
        if not batcher.rows:
            break
        deadline.wait(0.05)
    assert batcher.rows == []


def test_a_failing_step_reaches_every_row_and_the_batcher_recovers(model, monkeypatch):
    batcher = Batcher(model, Words(), NEVER, 8)
    real = model.forward

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(model, "forward", broken)
    with pytest.raises(RuntimeError, match="out of memory"):
        "".join(batcher.stream(row(PROMPTS[0])))
    monkeypatch.setattr(model, "forward", real)
    assert len("".join(batcher.stream(row(PROMPTS[0]))).split()) == 24
