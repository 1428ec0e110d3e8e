"""`rag.stream_answer` handed from its thread to the event loop, under a cap on answers in
progress and a time limit.

`pieces` runs the answer on a thread of its own and yields its pieces as they come; leaving
early (a client that went away, the time limit) stops the answer at its next piece, which
frees the generator for the next request. `Streams` is the cap: more answers than it allows
get a 429. Leaves out: what is sent to the client (ui/api.py, ui/schema.py).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator

import rag

from .schema import ApiError

END = object()


class Streams:
    """At most `limit` answers in progress; `timeout` seconds each, waiting included."""

    def __init__(self, limit: int, timeout: float) -> None:
        self.limit, self.timeout = limit, timeout
        self._slots = threading.BoundedSemaphore(limit)

    def acquire(self) -> bool:
        return self._slots.acquire(blocking=False)

    def release(self) -> None:
        self._slots.release()

    def busy(self) -> ApiError:
        return ApiError(429, f"{self.limit} answers are already in progress; try again in a few seconds",
                        code="rate_limit_exceeded", type="rate_limit_error")


async def pieces(question: str, history: list[tuple[str, str]], timeout: float) -> AsyncIterator:
    """The pieces of `rag.stream_answer(question, history)`, as they come, for `timeout` seconds."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    stop = threading.Event()

    def work() -> None:
        gen = rag.stream_answer(question, history)
        try:
            for piece in gen:
                if stop.is_set():
                    break
                loop.call_soon_threadsafe(queue.put_nowait, piece)
        except BaseException as e:  # noqa: BLE001 - handed to the request, which answers with it
            loop.call_soon_threadsafe(queue.put_nowait, e)
        finally:
            gen.close()
            loop.call_soon_threadsafe(queue.put_nowait, END)

    threading.Thread(target=work, name="rag-answer", daemon=True).start()
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                raise ApiError(504, f"the answer took longer than {timeout:.0f} s; try again",
                               code="timeout", type="server_error") from None
            if item is END:
                return
            if isinstance(item, rag.RagError):
                raise ApiError(400, str(item), "messages")
            if isinstance(item, BaseException):
                raise ApiError(500, f"the answer failed ({type(item).__name__}); see the server log",
                               type="server_error") from item
            yield item
    finally:
        stop.set()
