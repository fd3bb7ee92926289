"""Session fixtures: the real model and a real index over the bundled corpus, built once."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path

import pytest

from index.embed import Embedder, load_embedder
from index.ingest import discover_files, load_documents
from index.stores.contract import ChunkParams, WriteRequest
from index.stores.faiss.build import update_index
from index.stores.faiss.store import IndexStore

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CORPUS = PROJECT_ROOT / "corpus"
MODEL = "all-MiniLM-L6-v2"
ARTIFACTS = PROJECT_ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real all-MiniLM-L6-v2, loaded once."""
    return load_embedder(MODEL, "cpu")


@pytest.fixture(scope="session")
def corpus_documents():
    """The five bundled articles, cleaned."""
    documents, skipped = load_documents(discover_files([CORPUS]))
    assert not skipped, skipped
    return documents


@pytest.fixture(scope="session")
def built_index(tmp_path_factory, embedder, corpus_documents) -> tuple[Path, IndexStore]:
    """A real index over the bundled corpus: (its folder, the loaded store)."""
    index_dir = tmp_path_factory.mktemp("index")
    store, _ = update_index(index_dir, embedder, WriteRequest(files=corpus_documents, params=ChunkParams()))
    return index_dir, store


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests leave screenshots and reports for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test run on the Milvus backend needs the scale extra: mark it `scale` (fixture params'
    own marks do not take part in `-m` selection)."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("backend") == "milvus":
            item.add_marker(pytest.mark.scale)
