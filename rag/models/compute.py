"""One thread runs every model call in the process.

torch parallelises a CPU kernel with OpenMP, whose worker team belongs to the thread that
calls it. A server calls from many threads (one per request, Gradio's pool, the API's): each
gets a team of its own, and a team left idle spins on the cores the busy one needs (what it
cost: docs/speed.md). So every model call is handed to one long-lived thread, in the order
the calls come; a call made on that thread runs inline. Callers still run concurrently between model calls (retrieval,
checks, serving).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor

NAME = "rag-compute"
_pool: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def run(fn, *args, **kwargs):
    """`fn(*args, **kwargs)` on the model thread; its result or its exception."""
    if threading.current_thread().name.startswith(NAME):
        return fn(*args, **kwargs)
    return submit(fn, *args, **kwargs).result()


def submit(fn, *args, **kwargs) -> Future:
    """Queue `fn(*args, **kwargs)` for the model thread, behind the calls already queued."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(1, thread_name_prefix=NAME)
    return _pool.submit(fn, *args, **kwargs)
