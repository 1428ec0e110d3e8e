"""Whether this CPU computes bfloat16 natively (avx512_bf16 or AMX): there bf16 runs the
models at about twice fp32's speed; elsewhere it is emulated, and slow. Read once from
/proc/cpuinfo; the config (RAG_EMBED_BF16, RAG_GENERATE_BF16) may decide instead."""

from __future__ import annotations

import functools


@functools.cache
def native_bf16() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def use_bf16(setting: bool | None) -> bool:
    """`setting` when the config sets it, else what the CPU does natively."""
    return native_bf16() if setting is None else setting
