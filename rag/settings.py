"""All settings in one place: environment variables prefixed RAG_, overridable by CLI flags."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from index.paths import bundled_corpus_dir

if TYPE_CHECKING:
    from rag.generate import LLMConfig

DEFAULT_MODEL = "all-MiniLM-L6-v2"


class Settings(BaseSettings):
    """Runtime configuration; each field reads the env var RAG_<FIELD NAME>."""

    model_config = SettingsConfigDict(env_prefix="RAG_", extra="ignore")

    # the working directory's .rag_index: never inside the installed package
    index_dir: Path = Field(default_factory=lambda: Path.cwd() / ".rag_index")
    # the store: "faiss" (local files in index_dir) or "milvus" (docs/scale.md)
    store: Literal["faiss", "milvus"] = "faiss"
    # a *.db path runs milvus-lite; http://host:19530 a server; None: index_dir/milvus.db
    milvus_uri: str | None = None
    milvus_token: str | None = None  # "user:password" or an API key
    milvus_collection: str = "numrag"
    corpus_dir: Path = Field(default_factory=bundled_corpus_dir)  # what `rag index` with no path indexes
    model: str = DEFAULT_MODEL  # name or local path of a sentence-transformers model
    device: str = "cpu"
    chunk_tokens: int = 192
    chunk_overlap: int = 32
    batch_size: int = 32
    top_k: int = 5
    fusion: Literal["rrf", "weighted"] = "weighted"  # how dense and BM25 rankings combine (README)
    answer_cache: int = Field(default=2048, ge=0)  # answers kept per index version; 0 turns the cache off
    reader_dir: Path | None = None  # the learned reader's weights; None: those shipped in rag/models/reader
    # public QA data for `rag train`; None: ../shared/datasets beside a source checkout (index.paths)
    datasets_dir: Path | None = None
    # the API
    api_key: str | None = None
    protect_reads: bool = False  # require the API key for GET endpoints too
    cors_origins: str = ""  # comma separated; empty means CORS off
    max_question_chars: int = 2000
    max_upload_bytes: int = 10 * 1024 * 1024
    build_index_on_start: bool = False
    # optional generative mode
    llm_url: str | None = None
    llm_model: str = "local"
    llm_timeout_s: float = 30.0
    llm_api_key: str | None = None  # sent to the LLM endpoint; not the API's own key


def llm_config(settings: Settings) -> LLMConfig | None:
    """The generative-mode configuration, or None when RAG_LLM_URL is not set."""
    if not settings.llm_url:
        return None
    from rag.generate import LLMConfig

    return LLMConfig(
        url=settings.llm_url,
        model=settings.llm_model,
        timeout_s=settings.llm_timeout_s,
        api_key=settings.llm_api_key,
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings built once from the environment (only the CLI entry and the API call this)."""
    return Settings()
