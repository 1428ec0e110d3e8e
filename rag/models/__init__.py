"""The two models and the one thread they run on.

    compute.py    every model call runs on one long-lived thread (one OpenMP team)
    hardware.py   whether this CPU computes bfloat16 natively
    embed.py      MiniLM sentence embeddings (the `Embedder` protocol)
    generate.py   SmolLM2 replies, streamed, with prompt-lookup drafts (the `Generator` protocol)
    attention.py  attention for a packed pass: each answer over its own cache
    batching.py   continuous batching: the answers in flight share each forward pass

Loaded on first use; importing this package loads neither torch nor a model (it only caps
oneDNN below AMX, see the end of this file).
"""

import os

# oneDNN's AMX kernels (Sapphire Rapids and later) block a matrix product by its row count, so a
# token's bf16 product depends on how many tokens share the pass; its AVX-512 BF16 kernels do not,
# and continuous batching relies on that (batching.py; checked by tests/test_integration.py). Set
# before torch makes its first oneDNN call; a value the user sets wins.
os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_BF16")
