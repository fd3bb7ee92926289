"""One object that holds a loaded index, the model and the answerer, and swaps in updates.

The CLI and the API both use it. Reads take a reference to the current state and use it to
the end, so an update swapped in meanwhile never mixes two index versions in one answer.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index.embed import Embedder, load_embedder
from index.stores import BuildReport, ChunkParams, Store, StoreKind, StoreLocation, open_store, update_store
from index.types import Document
from rag.answer import Answerer, Reading
from rag.cache import LRUCache, VectorCache
from rag.generate import GenerativeAnswerer, LLMConfig
from rag.reader import DEFAULT_READER_DIR, SpanReader, load_reader
from rag.retrieve import QUERY_CACHE_SIZE, Fusion, Retriever
from rag.types import Answer, Filters, Hit, RetrievalMode

if TYPE_CHECKING:
    from rag.settings import Settings


@dataclass(frozen=True)
class EngineConfig:
    """What an engine needs to know; built from Settings at the edges."""

    index_dir: Path
    model: str
    device: str = "cpu"
    chunk_tokens: int = 192
    chunk_overlap: int = 32
    batch_size: int = 32
    mode: RetrievalMode = "hybrid"
    fusion: Fusion = "weighted"  # chosen by rag eval --compare (README)
    time_aware: bool = True
    llm: LLMConfig | None = None  # phrase answers with an LLM; numbers still checked against sources
    answer_cache: int = 2048  # extractive answers kept per index version (a few kB each); 0: none
    reader_dir: Path = DEFAULT_READER_DIR  # the learned reader's weights (shipped as package data)
    store: StoreKind = "faiss"
    milvus_uri: str | None = None
    milvus_token: str | None = None
    milvus_collection: str = "numrag"

    @property
    def location(self) -> StoreLocation:
        """Where the index lives, in the chosen backend."""
        return StoreLocation(
            self.store, self.index_dir, self.milvus_uri, self.milvus_token, self.milvus_collection
        )

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> EngineConfig:
        """The configuration the RAG_* settings describe (CLI flags arrive as overrides)."""
        from rag.settings import llm_config

        config = cls(
            index_dir=settings.index_dir,
            model=settings.model,
            device=settings.device,
            chunk_tokens=settings.chunk_tokens,
            chunk_overlap=settings.chunk_overlap,
            batch_size=settings.batch_size,
            fusion=settings.fusion,
            answer_cache=settings.answer_cache,
            reader_dir=settings.reader_dir or DEFAULT_READER_DIR,
            store=settings.store,
            milvus_uri=settings.milvus_uri,
            milvus_token=settings.milvus_token,
            milvus_collection=settings.milvus_collection,
            llm=llm_config(settings),
        )
        return replace(config, **overrides)


@dataclass(frozen=True)
class _State:
    store: Store
    retriever: Retriever
    answerer: Answerer
    answers: LRUCache[Answer]  # extractive answers of this index version, by question, k and filters


class Engine:
    """A loaded index with its retriever and answerer; thread-safe reads, serialised writes."""

    def __init__(
        self, config: EngineConfig, embedder: Embedder | None = None, reader: SpanReader | None = None
    ) -> None:
        self.config = config
        self.embedder = embedder or load_embedder(config.model, config.device)
        self.reader = reader or load_reader(config.reader_dir, config.device)
        self._write_lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        # shared by every index version this engine swaps in: an upload keeps the vectors computed so far
        self._query_cache = VectorCache(QUERY_CACHE_SIZE)
        self._state = self._make_state(
            open_store(config.location, model=self.embedder.name, dim=self.embedder.dim)
        )

    def _make_state(self, store: Store) -> _State:
        retriever = Retriever(
            store,
            self.embedder,
            mode=self.config.mode,
            fusion=self.config.fusion,
            query_cache=self._query_cache,
        )
        answerer = Answerer(retriever, self.reader, time_aware=self.config.time_aware)
        return _State(store, retriever, answerer, LRUCache(self.config.answer_cache))

    def _current(self) -> _State:
        """The state to read from: reloaded first when another process has committed a newer
        generation of a shared store (Milvus; a FAISS folder is reloaded by restarting)."""
        state = self._state
        if not state.store.newer_generation() or not self._refresh_lock.acquire(blocking=False):
            return state
        try:
            store = open_store(self.config.location, model=self.embedder.name, dim=self.embedder.dim)
            if store.version != self._state.store.version:  # not overtaken by a write of its own
                self._state = self._make_state(store)
        finally:
            self._refresh_lock.release()
        return self._state

    @property
    def store(self) -> Store:
        return self._state.store

    @property
    def answerer(self) -> Answerer:
        return self._state.answerer

    @property
    def retriever(self) -> Retriever:
        return self._state.retriever

    def ask(self, question: str, k: int = 5, filters: Filters | None = None) -> Answer:
        """Answer a question from the current index version (through the LLM when configured)."""
        state = self._current()
        if self.config.llm is not None:  # not cached: a reply that failed this time may work next time
            return GenerativeAnswerer(state.answerer, self.config.llm).ask(question, k=k, filters=filters)
        key = (question, k, filters)
        answer = state.answers.get(key)
        if answer is None:
            answer = state.answerer.ask(question, k=k, filters=filters)
            state.answers.put(key, answer)  # a no-op when RAG_ANSWER_CACHE is 0
        return answer

    def ask_and_read(
        self, question: str, k: int = 5, filters: Filters | None = None
    ) -> tuple[Answer, Reading | None]:
        """The answer `ask` gives, uncached, with the reading it came from (None through an LLM)."""
        state = self._current()
        if self.config.llm is not None:
            return self.ask(question, k=k, filters=filters), None
        return state.answerer.ask_and_read(question, k=k, filters=filters)

    def cached_answer(self, question: str, k: int = 5, filters: Filters | None = None) -> Answer | None:
        """The answer `ask` would return if the current index version has answered this already.

        The same reload check as an uncached answer comes first: after another process's commit to
        a shared store, the old generation's answers (which may cite a deleted document) are gone."""
        return None if self.config.llm is not None else self._current().answers.get((question, k, filters))

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[Hit]:
        """Ranked chunks for a query from the current index version."""
        return self._current().retriever.search(query, k=k, filters=filters)

    def upsert(self, documents: list[Document]) -> BuildReport:
        """Add or replace documents; the new version is written atomically, then swapped in."""
        return self._update(upserts=documents, deletes=())

    def delete(self, doc_ids: list[str]) -> BuildReport:
        """Remove documents; NotFoundError when one is not in the index."""
        return self._update(upserts=(), deletes=doc_ids)

    def _update(self, upserts: Sequence[Document], deletes: Sequence[str]) -> BuildReport:
        with self._write_lock:
            store, report = update_store(
                self.config.location,
                self.embedder,
                upserts=upserts,
                deletes=deletes,
                params=ChunkParams(self.config.chunk_tokens, self.config.chunk_overlap),
                batch_size=self.config.batch_size,
            )
            self._state = self._make_state(store)
            return report
