"""The two models and the one thread they run on.

    compute.py    every model call runs on one long-lived thread (one OpenMP team)
    hardware.py   whether this CPU computes bfloat16 natively
    embed.py      MiniLM sentence embeddings (the `Embedder` protocol)
    generate.py   SmolLM2 replies, streamed, with prompt-lookup drafts (the `Generator` protocol)
    attention.py  attention for a packed pass: each answer over its own cache
    batching.py   continuous batching: the answers in flight share each forward pass

Loaded on first use; importing this package loads neither torch nor a model.
"""
