"""Ingestion on a Ray cluster: `python -m rag index [FOLDER] --ray [ADDRESS]`.

The files are read, chunked and embedded by Ray Data, then written by this process to the
configured store (rag/storage/), document by document. The work is the
single process' work (rag/storage/base.py `Workers`), spread out:

- read: one Ray task per batch of files (`read_or_error`: a file that cannot be read comes
  back as its error, as it does here);
- chunk: one task per batch of documents (`chunk_document`);
- embed: a pool of actors that load MiniLM once each; an actor embeds one block of
  `embed_batch` x 16 texts at a time, the blocks this process would embed (shortest texts
  first, rag/storage/build.py `blocks`) with the same call, so the vectors are the same: under bf16
  autocast, a text embedded in a different batch moved by up to 5e-4, in the same batch not
  at all, whatever the thread count (a one-off check on 600 SciFact chunks during the change;
  tests/test_distributed.py asserts the equality to 1e-5).

An actor that dies (a worker killed, a node lost) is restarted by Ray and its block run
again; a block's result is written once, by this process, in block order, and chunks are
keyed by document and offsets (rag/storage/milvus_build.py), so nothing is indexed twice or lost.

Without an address a local cluster starts for the run, listening on loopback only
(`RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`: without it Ray's listeners bind every interface),
without dashboard or usage statistics, and stops at the end. With one (`ray://host:10001`,
`host:6379` or `auto`) the cluster's nodes need this project installed, and the files on a
path they share. On one 2-core machine Ray is slower than one process (`python -m bench
--only store`): it pays off across machines.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..config import Config
from ..errors import RagError
from ..types import Chunk, Document


def _ray():
    try:
        import ray
    except ImportError as e:
        raise RagError("--ray needs ray[data]: run `make install`") from e
    return ray


def start(address: str | None = None, cpus: int | None = None):
    """Connect to the cluster at `address`, or start a local one bound to loopback."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # local listeners on 127.0.0.1 only
    ray = _ray()
    if ray.is_initialized():
        return ray
    try:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:  # "local": never join a cluster a killed run left behind
            ray.init(address="local", num_cpus=cpus or os.cpu_count(), include_dashboard=False, log_to_driver=False)
    except Exception as e:  # ray raises ConnectionError, RuntimeError, ValueError...
        raise RagError(f"cannot start or reach the Ray cluster{' at ' + address if address else ''}: {e}") from None
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False  # the index has its own bar
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # one INFO line per dataset otherwise
    return ray


def _read(row: dict) -> dict:
    from ..ingest.read import read_or_error

    doc = read_or_error(Path(row["path"]))
    if isinstance(doc, Exception):
        return {"i": row["i"], "doc": None, "error": str(doc)}
    return {"i": row["i"], "doc": _row(doc), "error": None}


def _row(doc: Document) -> dict:
    """A Document as a Ray row."""
    return {**vars(doc), "pages": json.dumps(doc.pages)}


def _document(row: dict) -> Document:
    """The Document of a row `_read` made (its pages travel as JSON: Arrow types empty lists badly)."""
    return Document(**{**row, "pages": tuple(json.loads(row["pages"]))})


def _chunk(row: dict, tokens: int, overlap: int) -> dict:
    from ..ingest.chunk import chunk_document

    return {"i": row["i"], "chunks": [vars(c) for c in chunk_document(_document(row["doc"]), tokens, overlap)]}


class _Encoder:
    """One per actor: loads MiniLM once, embeds one block per call."""

    def __init__(self, bf16: bool | None = None) -> None:
        from ..models.embed import MiniLM

        self.model = MiniLM(bf16)
        self.model.load()

    def __call__(self, batch: dict, size: int) -> dict:
        (texts,) = batch["texts"]  # batch_size=1: one block
        return {"i": batch["i"], "vectors": self.model.encode(list(texts), batch_size=size)[None]}


class RayWorkers:
    """rag/storage/base.py `Workers` on a Ray cluster."""

    def __init__(self, config: Config, address: str | None = None, actors: int | None = None,
                 dim: int = 384) -> None:
        self.ray = start(address)
        self.config = config
        self.dim = dim  # MiniLM's
        cpus = int(self.ray.cluster_resources().get("CPU", 1))
        self.actors = actors or max(1, cpus)

    def _blocks(self, items: list) -> int:
        return max(1, min(len(items), 4 * self.actors))  # a few tasks per worker, not one per file

    def _rows(self, ds) -> list[dict]:
        return sorted(ds.take_all(), key=lambda r: r["i"])

    def read(self, paths: list[Path]) -> list[Document | Exception]:
        if not paths:
            return []
        items = [{"i": i, "path": str(p.resolve())} for i, p in enumerate(paths)]
        rows = self._rows(self.ray.data.from_items(items, override_num_blocks=self._blocks(items)).map(_read))
        return [_document(r["doc"]) if r["doc"] is not None else ValueError(r["error"]) for r in rows]

    def chunk(self, docs: list[Document]) -> list[list[Chunk]]:
        if not docs:
            return []
        items = [{"i": i, "doc": _row(d)} for i, d in enumerate(docs)]
        ds = self.ray.data.from_items(items, override_num_blocks=self._blocks(items)).map(
            _chunk, fn_kwargs={"tokens": self.config.chunk_tokens, "overlap": self.config.chunk_overlap})
        return [[Chunk(**c) for c in r["chunks"]] for r in self._rows(ds)]

    def embed(self, blocks: list[list[str]]) -> Iterator[np.ndarray]:
        """Each block's vectors, in block order, as soon as the blocks before it are done."""
        if not blocks:
            return
        items = [{"i": i, "texts": b} for i, b in enumerate(blocks)]
        # an actor pool restarts a dead actor and runs its block again (Ray Data's defaults:
        # max_restarts=-1, max_task_retries=-1)
        ds = self.ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
            _Encoder, fn_kwargs={"size": self.config.embed_batch},
            fn_constructor_kwargs={"bf16": self.config.embed_bf16}, batch_size=1, batch_format="numpy",
            compute=self.ray.data.ActorPoolStrategy(size=min(self.actors, len(items))), num_cpus=1)
        waiting, next_block = {}, 0
        for row in ds.iter_rows():
            waiting[int(row["i"])] = np.asarray(row["vectors"], np.float32).reshape(-1, self.dim)
            while next_block in waiting:
                yield waiting.pop(next_block)
                next_block += 1
        if next_block != len(blocks):
            raise RagError(f"the Ray cluster returned {next_block} of {len(blocks)} embedding blocks")


def stop() -> None:
    ray = _ray()
    if ray.is_initialized():
        ray.shutdown()
