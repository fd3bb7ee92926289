"""The index pipeline on the real corpus, model and FAISS: chunking, round trip, increments, errors."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest

from index.chunk import chunk_document
from index.errors import IndexCorruptError, IndexLockedError, IndexMismatchError, IndexMissingError
from index.ingest import discover_files, load_documents
from index.lock import IndexLock
from index.stores.contract import ChunkParams, WriteRequest, embedding_text
from index.stores.faiss.build import update_index
from index.stores.faiss.store import current_version, load_store
from index.types import Document
from tests.conftest import CORPUS, MODEL


def copy_corpus(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for path in CORPUS.glob("*.txt"):
        shutil.copy(path, target / path.name)
    return target


def index_folder(folder: Path, index_dir: Path, embedder, **kwargs):
    documents, _ = load_documents(discover_files([folder]))
    return update_index(index_dir, embedder, WriteRequest(files=documents, **kwargs))


@pytest.mark.parametrize("size,overlap", [(192, 32), (64, 16), (32, 0)])
def test_chunks_stay_within_the_token_limit_and_slice_the_text(corpus_documents, size, overlap):
    for document in corpus_documents:
        chunks = chunk_document(document, size, overlap)
        assert chunks, document.doc_id
        for chunk in chunks:
            assert chunk.n_tokens <= size, (chunk.chunk_id, chunk.n_tokens)
            assert document.text[chunk.start : chunk.end] == chunk.text


def test_chunks_cover_every_sentence(corpus_documents):
    document = next(d for d in corpus_documents if d.doc_id.startswith("003"))
    chunks = chunk_document(document, 64, 16)
    covered = "".join(c.text for c in chunks)
    for sentence in [
        "Eleven projects worth $5.5 billion are under implementation now;",
        "In 2018, the trade turnover between Kazakhstan and China increased by 11.1%",
    ]:
        assert sentence in covered


def test_a_sentence_longer_than_a_chunk_is_cut_on_token_boundaries():
    text = " ".join(f"word{i}" for i in range(400)) + "."
    document = Document(doc_id="long", text=text, title="long")
    chunks = chunk_document(document, 50, 10)
    assert len(chunks) > 5
    assert all(c.n_tokens <= 50 and text[c.start : c.end] == c.text for c in chunks)


def test_default_chunks_fit_the_model_window(built_index, embedder):
    _, store = built_index
    longest = max(
        embedder.count_model_tokens(embedding_text(store.documents[c.doc_id], c)) for c in store.chunks
    )
    assert longest <= embedder.max_tokens == 256
    assert store.manifest.max_model_tokens == longest
    assert store.manifest.model_window == 256


def test_manifest_describes_the_index(built_index):
    index_dir, store = built_index
    manifest = json.loads((current_version(index_dir) / "manifest.json").read_text())
    assert manifest["model"] == MODEL and manifest["dim"] == 384
    assert manifest["tokenizer"] == "cl100k_base"
    assert manifest["chunk_tokens"] == ChunkParams().tokens
    assert manifest["format_version"] == 1 and manifest["created"]
    assert set(manifest["documents"]) == {p.stem for p in CORPUS.glob("*.txt")}
    assert all(len(h) == 64 for h in manifest["documents"].values())


def test_round_trip_nearest_chunk_to_the_fund_is_from_002(built_index, embedder):
    index_dir, _ = built_index
    store = load_store(index_dir, model=MODEL, dim=384)
    scores, rows = store.dense.search(embedder.embed_batch(["capacity cooperation fund"])[0], 1)
    assert store.chunks[rows[0]].doc_id == "002_158f33fd42f0f3d5"
    assert 0.3 < scores[0] <= 1.0001


def test_reindex_is_incremental(tmp_path, embedder):
    corpus = copy_corpus(tmp_path / "corpus")
    index_dir = tmp_path / "index"
    _, first = index_folder(corpus, index_dir, embedder)
    assert first.embedded_documents == 5 and first.written

    _, unchanged = index_folder(corpus, index_dir, embedder)
    assert (unchanged.embedded_chunks, unchanged.embedded_documents) == (0, 0)
    assert unchanged.reused_chunks == first.chunks and not unchanged.written

    changed = corpus / "003_f70ee63ae281a647.txt"
    changed.write_text(changed.read_text() + "\nA further 7 projects worth $1.2 billion were announced.\n")
    store, touched = index_folder(corpus, index_dir, embedder)
    assert touched.embedded_documents == 1
    assert touched.embedded_chunks == len(store.chunks_of("003_f70ee63ae281a647"))
    assert touched.reused_documents == 4

    (corpus / "000_3f9b3e589f18f68f.txt").unlink()
    store, removed = index_folder(corpus, index_dir, embedder)
    assert removed.removed == ["000_3f9b3e589f18f68f"] and removed.embedded_chunks == 0
    assert "000_3f9b3e589f18f68f" not in load_store(index_dir).documents


def test_other_model_in_manifest_gives_a_clear_error(tmp_path, built_index):
    index_dir = tmp_path / "index"
    shutil.copytree(built_index[0], index_dir)
    with pytest.raises(IndexMismatchError, match=r"rag index --rebuild"):
        load_store(index_dir, model="intfloat/e5-small-v2", dim=384)
    with pytest.raises(IndexMismatchError, match=r"384 dims.*768 dims"):
        load_store(index_dir, model=MODEL, dim=768)


def test_other_format_version_gives_a_clear_error(tmp_path, built_index):
    index_dir = tmp_path / "index"
    shutil.copytree(built_index[0], index_dir)
    manifest_path = current_version(index_dir) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format_version"] = 99
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match=r"format version 99.*rag index --rebuild"):
        load_store(index_dir, model=MODEL, dim=384)


@pytest.mark.parametrize("damage", ["truncate_faiss", "drop_chunks", "garble_manifest", "short_vectors"])
def test_damaged_index_gives_a_clear_error_and_rebuild_recovers(tmp_path, built_index, embedder, damage):
    index_dir = tmp_path / "index"
    shutil.copytree(built_index[0], index_dir)
    folder = current_version(index_dir)
    if damage == "truncate_faiss":
        data = (folder / "dense.faiss").read_bytes()
        (folder / "dense.faiss").write_bytes(data[: len(data) // 3])
    elif damage == "drop_chunks":
        (folder / "chunks.jsonl").unlink()
    elif damage == "garble_manifest":
        (folder / "manifest.json").write_text("{not json")
    else:
        lines = (folder / "chunks.jsonl").read_text().splitlines()
        (folder / "chunks.jsonl").write_text("\n".join(lines[:-2]) + "\n")
    with pytest.raises(IndexCorruptError, match=r"rag index --rebuild"):
        load_store(index_dir, model=MODEL, dim=384)
    with pytest.raises(IndexCorruptError):
        index_folder(CORPUS, index_dir, embedder)
    _, report = index_folder(CORPUS, index_dir, embedder, rebuild=True)
    assert report.embedded_documents == 5
    assert len(load_store(index_dir, model=MODEL, dim=384).documents) == 5


def test_missing_index_says_how_to_build_one(tmp_path):
    with pytest.raises(IndexMissingError, match="rag index"):
        load_store(tmp_path / "nothing-here")


def test_leftovers_of_a_killed_build_are_removed_and_the_live_index_kept(tmp_path, built_index, embedder):
    index_dir = tmp_path / "index"
    shutil.copytree(built_index[0], index_dir)
    live = current_version(index_dir).name
    leftover = index_dir / "tmp-deadbeef0000"
    leftover.mkdir()
    (leftover / "vectors.npy").write_bytes(b"half written")
    assert load_store(index_dir).version == live
    _, report = index_folder(CORPUS, index_dir, embedder)
    assert not leftover.exists() and not report.written
    assert current_version(index_dir).name == live


def test_a_second_writer_waits_then_fails_clearly(tmp_path):
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with IndexLock(tmp_path, timeout=1):
            held.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(5)
    try:
        with pytest.raises(IndexLockedError, match="another process"), IndexLock(tmp_path, timeout=0.3):
            pass
    finally:
        release.set()
        thread.join()
    with IndexLock(tmp_path, timeout=0.3):
        pass
