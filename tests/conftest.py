"""Session fixtures: the real model and a real index over the bundled corpus, built once.

Tests sit in four folders, and each test is marked with its folder's name so `-m` can pick them:
unit (pure functions, no model or index: `make test-fast`), integration (the real model, index,
API, CLI and browser), reliability (crashes, concurrency, bad files, fuzzing, security) and scale
(Milvus and Ray; these carry their own `scale` marks, which `make test-scale` selects).
"""

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
TESTS_DIR = Path(__file__).resolve().parent
FOLDER_MARKS = ("unit", "integration", "reliability")  # not "scale": that mark is set test by test


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
    """Mark each test with its folder (unit, integration, reliability), and a test run on the Milvus
    backend `scale`: it needs the scale extra (fixture params' own marks do not take part in `-m`)."""
    for item in items:
        folder = folder_of(item.path)
        if folder in FOLDER_MARKS:
            item.add_marker(getattr(pytest.mark, folder))
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("backend") == "milvus":
            item.add_marker(pytest.mark.scale)


def folder_of(path: Path) -> str | None:
    """The folder under tests/ that holds a test file, or None for a file outside tests/."""
    try:
        parts = path.resolve().relative_to(TESTS_DIR).parts
    except ValueError:
        return None
    return parts[0] if len(parts) > 1 else None
