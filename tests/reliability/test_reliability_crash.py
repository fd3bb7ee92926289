"""Crash safety: SIGKILL a writer in the middle of its work and check nothing is lost or mixed.

A version is written into tmp-<id>/, renamed to v-<time>-<id>/ and only then named by CURRENT
(index/stores/faiss/store.py), so a killed writer must leave the previous version live and whole; its
leftovers are removed by the next writer, and the kernel drops its flock so nobody waits.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from bench.soak import free_port, rag_command, server_env, start_server, stop_server, wait_until_healthy
from index.stores.contract import WriteRequest
from index.stores.faiss.build import update_index
from index.stores.faiss.store import current_version, load_store
from rag.engine import Engine, EngineConfig

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CORPUS = PROJECT_ROOT / "corpus"
MODEL = "all-MiniLM-L6-v2"
FUND_Q = "how big is the capacity fund?"
# answered with confidence; the fund question abstains below the threshold (README)
LOANS_Q = "How much did China earmark in loans for capacity cooperation?"
N_GENERATED = 150
WAIT_S = 300.0  # generous: embedding on two busy cores is slow
REGIONS = ("Almaty", "Aktobe", "Karaganda", "Pavlodar", "Kostanay", "Shymkent", "Atyrau", "Turkestan")
CROPS = ("wheat", "barley", "sunflower seed", "rapeseed", "flax", "oats")

pytestmark = pytest.mark.slow


def make_harvest_article(number: int, rng: random.Random) -> str:
    """A short generated article (one chunk), about nothing the eval questions ask."""
    region, crop = rng.choice(REGIONS), rng.choice(CROPS)
    sentences = [
        f"Farm cooperative {number}-{n} in {region} region reported {rng.randint(100, 9000)} tonnes "
        f"of {crop} from {rng.randint(10, 900)} hectares."
        for n in range(4)
    ]
    return f"Harvest bulletin {number}: {crop} in {region}\n\n" + " ".join(sentences) + "\n"


def make_large_corpus(folder: Path) -> Path:
    """The five bundled articles and N_GENERATED generated ones."""
    shutil.copytree(CORPUS, folder)
    rng = random.Random(7)
    for number in range(N_GENERATED):
        (folder / f"harvest-{number:03d}.txt").write_text(make_harvest_article(number, rng))
    return folder


def kill_when_a_version_is_being_written(process: subprocess.Popen, index_dir: Path) -> bool:
    """SIGKILL the process as soon as a tmp-* folder appears; False if it never appeared."""
    deadline = time.monotonic() + WAIT_S
    polls = 0
    while time.monotonic() < deadline:
        if any(name.startswith("tmp-") for name in os.listdir(index_dir)):
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            return True
        polls += 1
        if polls % 2000 == 0 and process.poll() is not None:
            return False
    process.kill()
    process.wait(timeout=30)
    return False


def assert_whole(index_dir: Path) -> None:
    """The live version loads and its manifest matches every file in it."""
    store = load_store(index_dir, model=MODEL, dim=384)  # checks row counts, dims and document ids
    folder = current_version(index_dir)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["documents"] == {k: d.content_hash for k, d in store.documents.items()}
    assert manifest["n_chunks"] == len(store.chunks) == store.vectors.shape[0] == store.dense.size
    assert {chunk.doc_id for chunk in store.chunks} == set(store.documents)
    assert np.allclose(np.linalg.norm(store.vectors, axis=1), 1.0, atol=1e-3)


def test_killing_rag_index_while_it_writes_keeps_the_previous_index(built_index, embedder, tmp_path):
    index_dir = tmp_path / "index"
    shutil.copytree(built_index[0], index_dir)
    previous = load_store(index_dir)
    corpus = make_large_corpus(tmp_path / "large")
    log_path = tmp_path / "index.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*rag_command(), "index", str(corpus), "--rebuild", "--index-dir", str(index_dir)],
            cwd=tmp_path,
            env=server_env(index_dir),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    killed_mid_write = kill_when_a_version_is_being_written(process, index_dir)
    assert killed_mid_write, f"rag index never started writing:\n{log_path.read_text()[-3000:]}"
    assert process.returncode == -signal.SIGKILL

    leftovers = list(index_dir.glob("tmp-*"))
    assert leftovers, "the kill came after the new version was renamed into place"
    assert current_version(index_dir).name == previous.version
    assert_whole(index_dir)
    assert set(load_store(index_dir).documents) == set(previous.documents)
    engine = Engine(EngineConfig(index_dir=index_dir, model=MODEL), embedder=embedder)
    assert engine.ask(LOANS_Q).answer == "$15 billion"

    again = subprocess.run(
        [*rag_command(), "index", str(CORPUS), "--index-dir", str(index_dir), "--lock-timeout", "5"],
        cwd=tmp_path,
        env=server_env(index_dir),
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    assert again.returncode == 0, again.stderr[-2000:]
    assert not [path for path in index_dir.iterdir() if path.name.startswith(("tmp-", "CURRENT.tmp-"))]
    assert current_version(index_dir).name == previous.version  # the same corpus: nothing to write
    assert_whole(index_dir)


def large_document(words: int = 12_000) -> dict:
    """An upload big enough that embedding it takes a while (about 80 chunks)."""
    rng = random.Random(3)
    sentences = [
        f"Depot {n} in {rng.choice(REGIONS)} stored {rng.randint(100, 9000)} tonnes of {rng.choice(CROPS)}."
        for n in range(words // 9)
    ]
    return {"doc_id": "large-upload", "title": "Grain depots", "text": " ".join(sentences)}


def test_killing_the_server_during_an_upload_leaves_the_old_or_the_new_index(built_index, embedder, tmp_path):
    index_dir = tmp_path / "index"
    shutil.copytree(built_index[0], index_dir)
    old_docs = set(load_store(index_dir).documents)
    port = free_port()
    log_path = tmp_path / "serve.log"
    process = start_server(index_dir, port, log_path, max_upload_bytes=str(2_000_000))
    outcome: dict[str, object] = {}

    def upload() -> None:
        try:
            outcome["response"] = httpx.post(
                f"http://127.0.0.1:{port}/documents", json=large_document(), timeout=WAIT_S
            )
        except httpx.HTTPError as exc:
            outcome["error"] = exc

    try:
        wait_until_healthy(process, f"http://127.0.0.1:{port}", log_path)
        sender = threading.Thread(target=upload)
        sender.start()
        # the server writes its pid into .lock once it holds the write lock: it is now indexing
        deadline = time.monotonic() + WAIT_S
        while (index_dir / ".lock").read_text().strip() != f"pid {process.pid}":
            assert time.monotonic() < deadline and sender.is_alive(), log_path.read_text()[-3000:]
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        sender.join(timeout=60)
    finally:
        stop_server(process)

    assert "error" in outcome, f"the upload finished before the kill: {outcome}"
    assert_whole(index_dir)
    assert set(load_store(index_dir).documents) in (old_docs, old_docs | {"large-upload"})

    # the next writer is not kept waiting by the dead server's lock, and clears what it left
    _, report = update_index(index_dir, embedder, WriteRequest(lock_timeout=5))
    assert not report.written
    assert not [path for path in index_dir.iterdir() if path.name.startswith(("tmp-", "CURRENT.tmp-"))]
    assert_whole(index_dir)
