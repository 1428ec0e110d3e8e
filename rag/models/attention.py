"""Attention for a packed pass (rag/models/batching.py): every answer's queries attend over
its own KV cache plus the keys it feeds, causally, in one call each: the very call the
answer makes alone, so batching never changes its numbers.

Registered with transformers as the model's attention implementation; a call without a
`Pack` (tools, tests) gets transformers' own SDPA attention. Leaves out: scheduling (which
answers share a pass), done in rag/models/batching.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ATTENTION = "rag_rows"  # the name `_attend` is registered under


@dataclass
class Pack:
    """The answers of one forward pass, in order: their caches before it and how many tokens
    each feeds. `_attend` fills `kv` with each answer's cache after it, layer by layer."""

    past: list[list | None]
    sizes: list[int]
    pad: int = 0  # filler tokens after the answers' (attention gives them zeros)
    kv: list[list] = field(init=False)  # per answer, per layer (keys, values) after the pass: filled by `_attend`
    visible: list = field(init=False)  # per answer, [its tokens, its cache after]: what each token sees

    def __post_init__(self) -> None:
        import torch

        self.kv, self.visible = [[] for _ in self.sizes], []
        for past, size in zip(self.past, self.sizes, strict=True):
            n = size + (0 if past is None else past[0][0].shape[2])
            self.visible.append(torch.ones(size, n, dtype=torch.bool).tril(n - size))


def _attend(module, query, key, value, attention_mask, scaling=None, dropout=0.0, rag_pack: Pack | None = None,
            **kwargs):
    """Attention for a packed pass: each answer's queries over its own cache plus the keys it
    feeds, causally; the same call, on the same tensors, as when the answer is alone."""
    import torch
    import torch.nn.functional as F

    if rag_pack is None:  # an ordinary call (tools, tests): transformers' own attention
        from transformers.integrations.sdpa_attention import sdpa_attention_forward

        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      **kwargs)
    outs, at, layer = [], 0, module.layer_idx
    for past, size, kv, visible in zip(rag_pack.past, rag_pack.sizes, rag_pack.kv, rag_pack.visible, strict=True):
        k, v = key[:, :, at:at + size], value[:, :, at:at + size]
        if past is not None:
            k, v = torch.cat([past[layer][0], k], 2), torch.cat([past[layer][1], v], 2)
        kv.append((k, v))
        outs.append(F.scaled_dot_product_attention(query[:, :, at:at + size], k, v, attn_mask=visible, scale=scaling,
                                                   enable_gqa=True))
        at += size
    if rag_pack.pad:
        outs.append(query.new_zeros(1, query.shape[1], rag_pack.pad, query.shape[3]))
    return torch.cat(outs, 2).transpose(1, 2).contiguous(), None


def use_packed_attention(model) -> None:
    """Make `model` attend through `_attend` (ordinary calls still get transformers' attention)."""
    from transformers import AttentionInterface

    AttentionInterface.register(ATTENTION, _attend)
    model.set_attn_implementation(ATTENTION)
