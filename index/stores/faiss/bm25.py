"""BM25 over chunk texts (bm25s), persisted beside the dense index."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.errors import IndexCorruptError
from index.lexical import lexical_tokens

if TYPE_CHECKING:  # bm25s ships no type information; the name documents what is held
    import bm25s


class LexicalIndex:
    """A BM25 index over a fixed list of texts, addressed by position."""

    def __init__(self, retriever: bm25s.BM25, size: int) -> None:
        self._retriever = retriever
        self._vocab: dict[str, int] = getattr(retriever, "vocab_dict", {})  # none before any text
        self.size = size

    @classmethod
    def build(cls, texts: list[str]) -> LexicalIndex:
        """Index texts with BM25 (Lucene variant, k1=1.5, b=0.75)."""
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs each build at DEBUG
        retriever = bm25s.BM25()
        tokens = [lexical_tokens(t) or ["__empty__"] for t in texts]
        if texts:
            retriever.index(tokens, show_progress=False)
        return cls(retriever, len(texts))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every text for query (zeros when no query word is known)."""
        known = [t for t in lexical_tokens(query) if t in self._vocab]
        if not known or self.size == 0:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._retriever.get_scores(known), dtype=np.float32)

    def idf(self, term: str) -> float:
        """Inverse document frequency of a stemmed term; unseen terms get the highest value."""
        n_docs = max(self.size, 1)
        term_id = self._vocab.get(term)
        frequency = 0
        if term_id is not None:
            indptr = self._retriever.scores["indptr"]
            frequency = int(indptr[term_id + 1] - indptr[term_id])
        return float(np.log(1 + (n_docs - frequency + 0.5) / (frequency + 0.5)))

    def knows(self, term: str) -> bool:
        """True when a stemmed term occurs in at least one indexed text."""
        return term in self._vocab

    def save(self, folder: Path) -> None:
        """Write the index files into folder."""
        if self.size:
            self._retriever.save(str(folder), show_progress=False)
        else:
            folder.mkdir(parents=True, exist_ok=True)

    @classmethod
    def load(cls, folder: Path, size: int) -> LexicalIndex:
        """Read an index written by save."""
        if size == 0:
            return cls.build([])
        import bm25s

        try:
            retriever = bm25s.BM25.load(str(folder), mmap=False, show_progress=False)
        except Exception as exc:
            raise IndexCorruptError(f"BM25 files in {folder} cannot be read: {exc}") from exc
        return cls(retriever, size)
