"""The store contract, on both backends: FAISS + bm25s on disk, and Milvus (milvus-lite here).

Add, replace, delete, filters, hybrid search, what a reader sees while a writer works, a
writer killed midway, and the errors a user can meet. The Milvus half needs the scale extra
(`pip install 'numrag[scale]'`); without pymilvus it is skipped and says why.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from bench.soak import rag_command
from index.errors import (
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexMissingError,
    NotFoundError,
    StoreConnectionError,
)
from index.ingest import document_from_text
from index.lock import IndexLock
from index.stores import ChunkParams, StoreLocation, open_store, update_store
from index.stores.contract import Manifest, Store
from index.types import Chunk, TableCell
from rag.retrieve import Retriever
from rag.types import Filters
from tests.tables import acme_documents

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FUND_Q = "how big is the capacity fund?"
# answered with confidence; the fund question abstains below the threshold (README)
LOANS_Q = "How much did China earmark in loans for capacity cooperation?"
HAS_MILVUS = importlib.util.find_spec("pymilvus") is not None and importlib.util.find_spec("milvus_lite")
BACKENDS = [
    "faiss",
    pytest.param(
        "milvus",
        marks=pytest.mark.skipif(
            not HAS_MILVUS, reason="pymilvus/milvus-lite missing: pip install 'numrag[scale]'"
        ),
    ),
]


def location_in(folder: Path, kind: str) -> StoreLocation:
    return StoreLocation(kind=kind, index_dir=folder, milvus_uri=str(folder / "milvus.db"))  # type: ignore[arg-type]  # kind is one of the StoreKind strings the tests parametrize


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def built(tmp_path, backend, embedder, corpus_documents):
    """A fresh index of the bundled corpus in the backend: (location, store)."""
    location = location_in(tmp_path / "index", backend)
    store, report = update_store(location, embedder, files=corpus_documents, params=ChunkParams())
    assert report.written and report.documents == len(corpus_documents)
    return location, store


def fund_article(text: str) -> str:
    return f"Capacity fund update\n\n{text}\n"


def test_each_store_offers_every_member_of_the_contract(built):
    """The retriever, engine, API and CLI call these on whichever store RAG_STORE names."""
    _, store = built
    members = {name for name in vars(Store) if not name.startswith("_")}
    assert {"hybrid_search", "newer_generation", "scope", "prefetch"} <= members
    assert [name for name in sorted(members) if not hasattr(store, name)] == []
    assert store.newer_generation() is False  # nothing was committed since it was written
    assert isinstance(store.manifest, Manifest) and store.manifest.n_chunks == store.n_chunks


def test_build_lists_every_document_and_chunk(built, corpus_documents, built_index):
    location, store = built
    _, faiss_store = built_index
    assert set(store.documents) == {d.doc_id for d in corpus_documents}
    assert store.n_chunks == faiss_store.n_chunks  # the same chunker on both
    assert store.chunk_counts() == faiss_store.chunk_counts()
    reopened = open_store(location, model="all-MiniLM-L6-v2", dim=384)
    assert reopened.version == store.version
    assert (
        reopened.documents["002_158f33fd42f0f3d5"].text == faiss_store.documents["002_158f33fd42f0f3d5"].text
    )


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_search_finds_the_fund_sentence_in_002(built, embedder, mode):
    _, store = built
    hits = Retriever(store, embedder, mode=mode).search(FUND_Q, k=5)
    assert any(
        h.document.doc_id == "002_158f33fd42f0f3d5" and "2-billion-dollar" in h.chunk.text for h in hits
    )
    assert all(h.chunk.text == h.document.text[h.chunk.start : h.chunk.end] for h in hits)


def test_filters_admit_the_same_documents_on_both_backends(built, embedder, built_index):
    _, store = built
    _, faiss_store = built_index
    ids = sorted(faiss_store.documents)
    cases = [
        Filters(doc_ids=frozenset(ids[3:])),
        Filters(published_after="2019-01-01"),
        Filters(published_before="2017-12-31"),
        Filters(
            published_after="2019-06-01", published_before="2019-06-30"
        ),  # a year-precision date overlaps
    ]
    for filters in cases:
        expected = {d for d, doc in faiss_store.documents.items() if filters.admits(doc)}
        hits = Retriever(store, embedder).search("trade between China and Kazakhstan", k=20, filters=filters)
        assert hits, filters
        assert {h.document.doc_id for h in hits} <= expected, filters
    nothing = Filters(published_after="2030-01-01")
    assert Retriever(store, embedder).search(FUND_Q, k=5, filters=nothing) == []


def test_add_replace_and_delete_a_document(built, embedder):
    location, _ = built
    added = document_from_text("fund-note", fund_article("The Zephyr fund grew to 71.5 billion dollars."))
    store, report = update_store(location, embedder, upserts=[added])
    assert report.embedded_documents == 1 and "fund-note" in store.documents
    assert report.reused_documents == 5
    replaced = document_from_text(
        "fund-note", fund_article("The Zephyr fund shrank to 3.25 billion dollars.")
    )
    store, _ = update_store(location, embedder, upserts=[replaced])
    texts = [h.chunk.text for h in Retriever(store, embedder).search("Zephyr fund", k=10)]
    assert any("3.25 billion" in t for t in texts) and not any("71.5 billion" in t for t in texts)
    assert "71.5" not in store.documents["fund-note"].text
    store, report = update_store(location, embedder, deletes=["fund-note"])
    assert "fund-note" not in store.documents and report.removed == ["fund-note"]
    assert all(
        h.document.doc_id != "fund-note" for h in Retriever(store, embedder).search("capacity fund", k=20)
    )
    with pytest.raises(NotFoundError, match="fund-note"):
        update_store(location, embedder, deletes=["fund-note"])


def test_unchanged_files_write_nothing(built, embedder, corpus_documents):
    location, store = built
    again, report = update_store(location, embedder, files=corpus_documents)
    assert not report.written and report.embedded_chunks == 0
    assert again.version == store.version


def test_a_reader_keeps_whole_documents_while_a_writer_replaces_them(built, embedder):
    location, before = built
    doc_id = "002_158f33fd42f0f3d5"
    old_text = before.documents[doc_id].text
    replacement = document_from_text(
        doc_id, fund_article("The bilateral capacity fund holds 9 billion dollars.")
    )
    after, _ = update_store(location, embedder, upserts=[replacement])
    # the reader that loaded the old version still sees the old document, chunks and text together
    old_hits = Retriever(before, embedder).search(FUND_Q, k=5)
    assert before.documents[doc_id].text == old_text
    for hit in old_hits:
        assert hit.chunk.text == hit.document.text[hit.chunk.start : hit.chunk.end]
    assert any("2-billion-dollar" in h.chunk.text for h in old_hits if h.document.doc_id == doc_id)
    new_hits = Retriever(after, embedder).search(FUND_Q, k=5)
    of_doc = [h for h in new_hits if h.document.doc_id == doc_id]
    assert of_doc and all("9 billion" in h.chunk.text for h in of_doc)
    assert after.documents[doc_id].text != old_text


def test_an_index_of_another_model_is_refused_with_the_fix(built):
    location, _ = built
    with pytest.raises(IndexMismatchError, match="rag index --rebuild"):
        open_store(location, model="another-model", dim=768)


def test_a_missing_index_says_how_to_build_one(tmp_path, backend):
    with pytest.raises(IndexMissingError, match="rag index"):
        open_store(location_in(tmp_path / "nothing", backend))


def test_a_second_writer_waits_then_fails_clearly(built, embedder):
    location, _ = built
    added = document_from_text("late-note", fund_article("A late note of 4 billion dollars."))
    if location.kind == "faiss":
        holder = IndexLock(location.index_dir)
    else:
        from index.stores.milvus.client import MilvusLocation, connect
        from index.stores.milvus.lease import WriterLease

        milvus = MilvusLocation.of(location)
        holder = WriterLease(connect(milvus), milvus, timeout=5)
    with holder, pytest.raises(IndexLockedError, match="another (process|writer)"):
        update_store(location, embedder, upserts=[added], lock_timeout=0.5)
    store, _ = update_store(location, embedder, upserts=[added])  # released: the write goes through
    assert "late-note" in store.documents


@pytest.mark.scale
@pytest.mark.skipif(not HAS_MILVUS, reason="pymilvus missing: pip install 'numrag[scale]'")
def test_an_unreachable_milvus_is_named_with_the_fix():
    location = StoreLocation(kind="milvus", milvus_uri="http://127.0.0.1:9")
    with pytest.raises(StoreConnectionError, match=r"127\.0\.0\.1:9.*RAG_MILVUS_URI"):
        open_store(location)


@pytest.mark.scale
@pytest.mark.skipif(not HAS_MILVUS, reason="pymilvus missing: pip install 'numrag[scale]'")
def test_a_second_process_on_a_milvus_lite_file_is_told_why(tmp_path, embedder, corpus_documents):
    location = location_in(tmp_path / "index", "milvus")
    update_store(location, embedder, files=corpus_documents[:1])
    env = {**os.environ, "RAG_STORE": "milvus", "RAG_MILVUS_URI": location.milvus_address}
    result = subprocess.run(
        [*rag_command(), "info"], env=env, capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT
    )
    assert result.returncode != 0
    assert "milvus-lite lets one process use a file" in result.stdout + result.stderr


@pytest.mark.scale
@pytest.mark.skipif(not HAS_MILVUS, reason="pymilvus missing: pip install 'numrag[scale]'")
def test_collections_left_by_a_writer_killed_while_creating_them_are_made_again(
    tmp_path, embedder, corpus_documents
):
    """Killed after creating the collections, before the first state row: the next write starts over."""
    from index.stores.milvus.client import MilvusLocation, connect, stored_state
    from index.stores.milvus.rows import create_collection

    location = location_in(tmp_path / "index", "milvus")
    milvus = MilvusLocation.of(location)
    client = connect(milvus)
    create_collection(client, milvus, 384)
    assert stored_state(client, milvus) is None
    with pytest.raises(IndexCorruptError, match="not made by `rag index`"):
        open_store(location)
    store, report = update_store(location, embedder, files=corpus_documents[:2])
    assert report.written and set(store.documents) == {d.doc_id for d in corpus_documents[:2]}


@pytest.mark.scale
@pytest.mark.skipif(not HAS_MILVUS, reason="pymilvus missing: pip install 'numrag[scale]'")
def test_rows_of_a_killed_write_stay_invisible_and_are_removed(built, embedder):
    """What a writer killed after inserting and before committing leaves: rows above `committed`."""
    location, before = built
    if location.kind != "milvus":
        pytest.skip("the FAISS store writes a version folder; tests/test_reliability_crash.py kills it")
    from index.stores.milvus.client import MilvusLocation, connect
    from index.stores.milvus.rows import chunk_row, document_rows
    from index.stores.milvus.store import open_milvus

    milvus = MilvusLocation.of(location)
    client = connect(milvus)
    ghost = document_from_text("ghost", fund_article("A ghost fund of 99 billion dollars."))
    gen = before.state.committed + 1
    client.insert(milvus.records, document_rows(ghost, gen))
    vector = embedder.embed_batch(["A ghost fund of 99 billion dollars."])[0]
    ghost_chunk = Chunk("ghost", "ghost#0", ghost.text, 0, len(ghost.text), n_tokens=9)
    client.insert(milvus.collection, [chunk_row(ghost, ghost_chunk, ghost.text, vector, gen)])
    reader = open_milvus(milvus)
    assert "ghost" not in reader.documents
    assert all(h.document.doc_id != "ghost" for h in Retriever(reader, embedder).search("ghost fund", k=10))
    added = document_from_text("real-note", fund_article("A real fund of 5 billion dollars."))
    store, _ = update_store(location, embedder, upserts=[added])
    assert "ghost" not in store.documents and "real-note" in store.documents
    for name in (milvus.collection, milvus.records):
        rows = client.query(name, filter='doc_id == "ghost"', output_fields=["count(*)"])
        assert rows[0]["count(*)"] == 0


def written_bytes(db: Path) -> int:
    """What milvus-lite has written of rows: its file (2.5), or its write-ahead log (3.x, a folder)."""
    if db.is_file():
        return db.stat().st_size
    return sum(p.stat().st_size for p in db.rglob("*") if p.is_file() and "wal" in p.parts)


@pytest.mark.slow
@pytest.mark.scale
@pytest.mark.skipif(not HAS_MILVUS, reason="pymilvus missing: pip install 'numrag[scale]'")
def test_killing_rag_index_on_milvus_keeps_the_previous_version(tmp_path, embedder, corpus_documents):
    """SIGKILL `rag index` while it inserts rows: the old version stays whole, the next write cleans up."""
    from index.stores.milvus.client import MilvusLocation, disconnect, stored_state
    from tests.reliability.test_reliability_crash import make_large_corpus

    location = location_in(tmp_path / "index", "milvus")
    update_store(location, embedder, files=corpus_documents)
    milvus = MilvusLocation.of(location)
    db = Path(milvus.uri)
    disconnect(milvus)  # milvus-lite lets one process open the file: the writer's turn
    baseline = written_bytes(db)
    corpus = make_large_corpus(tmp_path / "corpus")
    env = {**os.environ, "RAG_STORE": "milvus", "RAG_MILVUS_URI": str(db)}
    process = subprocess.Popen(
        [*rag_command(), "index", str(corpus)],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None and written_bytes(db) <= baseline + 20_000:
        time.sleep(0.05)  # rows are being inserted once the stored bytes grow
    assert process.poll() is None, "the writer finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    store = open_store(location, model="all-MiniLM-L6-v2", dim=384)
    assert set(store.documents) == {d.doc_id for d in corpus_documents}
    assert store.n_chunks == sum(store.chunk_counts().values())
    hits = Retriever(store, embedder).search("harvest bulletin wheat tonnes", k=10)
    assert all(not h.document.doc_id.startswith("harvest") for h in hits)
    store, report = update_store(location, embedder, files=corpus_documents)
    state = stored_state(store.client, milvus)
    for name, where in (
        (milvus.collection, f"gen > {state.committed}"),
        (milvus.records, f"kind == 1 and gen > {state.committed}"),
    ):
        leftovers = store.client.query(name, filter=where, output_fields=["count(*)"])
        assert leftovers[0]["count(*)"] == 0
    assert set(store.documents) == {d.doc_id for d in corpus_documents}


@pytest.mark.slow
@pytest.mark.scale
@pytest.mark.skipif(not HAS_MILVUS, reason="pymilvus missing: pip install 'numrag[scale]'")
def test_rag_serve_on_milvus_answers_the_canonical_question_with_the_faiss_citation(tmp_path, built_index):
    """`RAG_STORE=milvus RAG_MILVUS_URI=./milvus.db`, built on start, answers over HTTP as FAISS does."""
    import httpx

    from bench.soak import free_port, start_server, stop_server, wait_until_healthy
    from rag.engine import Engine, EngineConfig

    faiss_dir, _ = built_index
    expected = Engine(EngineConfig(index_dir=faiss_dir, model="all-MiniLM-L6-v2")).ask(LOANS_Q)
    port = free_port()
    log = tmp_path / "serve.log"
    settings = {
        "store": "milvus",
        "milvus_uri": str(tmp_path / "milvus.db"),
        "corpus_dir": str(PROJECT_ROOT / "corpus"),
        "build_index_on_start": "true",
    }
    process = start_server(tmp_path / "unused", port, log, **settings)
    try:
        health = wait_until_healthy(process, f"http://127.0.0.1:{port}", log, timeout_s=600)
        assert health["documents"] == 5
        answer = httpx.post(f"http://127.0.0.1:{port}/ask", json={"question": LOANS_Q}, timeout=120).json()
    finally:
        stop_server(process)
    assert answer["answer"] == expected.answer == "$15 billion"
    cited = answer["citations"][0]
    assert (cited["doc_id"], cited["start"], cited["end"]) == (
        expected.citations[0].doc_id,
        expected.citations[0].start,
        expected.citations[0].end,
    )


@pytest.mark.scale
@pytest.mark.skipif(not HAS_MILVUS, reason="pymilvus missing: pip install 'numrag[scale]'")
def test_a_serving_engine_picks_up_another_writers_commit(tmp_path, embedder, corpus_documents):
    """Several `rag serve` processes share one Milvus: each sees the others' writes within a second."""
    from rag.engine import Engine, EngineConfig

    location = location_in(tmp_path / "index", "milvus")
    update_store(location, embedder, files=corpus_documents)
    config = EngineConfig(
        index_dir=location.index_dir, model="all-MiniLM-L6-v2", store="milvus", milvus_uri=location.milvus_uri
    )
    engine = Engine(config, embedder=embedder)
    before = engine.store.version
    note = document_from_text("quarry-note", fund_article("The Quarry fund holds 6.75 billion dollars."))
    update_store(location, embedder, upserts=[note])  # another writer: not through this engine
    time.sleep(1.1)
    hits = engine.search("Quarry fund", k=5)
    assert engine.store.version != before
    assert any(h.document.doc_id == "quarry-note" for h in hits)


@pytest.mark.scale
@pytest.mark.skipif(not HAS_MILVUS, reason="pymilvus missing: pip install 'numrag[scale]'")
def test_a_cached_answer_is_not_served_after_another_writers_commit(tmp_path, embedder, corpus_documents):
    """A repeated question after another process's commit gets the new generation's answer, not the
    cached one of the old generation (which may cite a document since deleted)."""
    from rag.engine import Engine, EngineConfig

    location = location_in(tmp_path / "index", "milvus")
    update_store(location, embedder, files=corpus_documents)
    config = EngineConfig(
        index_dir=location.index_dir, model="all-MiniLM-L6-v2", store="milvus", milvus_uri=location.milvus_uri
    )
    engine = Engine(config, embedder=embedder)
    question = "How big is the Quarry fund?"
    note = document_from_text("quarry-note", fund_article("The Quarry fund holds 6.75 billion dollars."))
    update_store(location, embedder, upserts=[note])
    time.sleep(1.1)
    first = engine.ask(question)
    assert engine.cached_answer(question) is first
    update_store(location, embedder, deletes=["quarry-note"])  # another writer removes the cited source
    time.sleep(1.1)
    cached = engine.cached_answer(question)
    assert cached is None  # the old generation's answer is gone with it
    again = engine.ask(question)
    assert all(c.doc_id != "quarry-note" for c in again.citations)


@pytest.mark.skipif(
    bool(HAS_MILVUS), reason="the scale extra is installed here; this checks the lean install"
)
def test_milvus_without_the_scale_extra_says_how_to_install_it(tmp_path):
    env = {**os.environ, "RAG_STORE": "milvus", "RAG_INDEX_DIR": str(tmp_path)}
    result = subprocess.run(
        [*rag_command(), "info"], env=env, capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT
    )
    assert result.returncode == 1
    assert "pip install 'numrag[scale]'" in result.stderr  # brackets and all: not eaten as markup


RESULTS_PAGE = """<h1>Acme results</h1><p>Acme Corporation reported its annual results on Tuesday.</p>
<table><caption>Group results ($ millions)</caption><tr><th></th><th>2004</th><th>2003</th></tr>
<tr><th>Revenue</th><td>1,234</td><td>1,100</td></tr>
<tr><th>Operating profit</th><td>210</td><td>180</td></tr></table>"""


def test_a_documents_tables_come_back_from_the_store_as_ingested(tmp_path, backend, embedder):
    document = document_from_text("results", RESULTS_PAGE, fmt="html")
    assert len(document.tables[0].cells) == 4
    location = location_in(tmp_path / "index", backend)
    update_store(location, embedder, files=[document], params=ChunkParams())
    stored = open_store(location, model="all-MiniLM-L6-v2", dim=384).documents["results"]
    assert stored == document
    cell = stored.tables[0].cells[2]
    assert (cell.row, cell.column, stored.text[cell.start : cell.end]) == ("Operating profit", "2004", "210")


def test_a_documents_tables_come_back_as_tables(built, embedder):
    location, _ = built
    results = acme_documents()[0]
    update_store(location, embedder, upserts=[results])
    again = open_store(location).documents[results.doc_id]
    assert again.tables == results.tables and isinstance(again.tables[0].cells[0], TableCell)
