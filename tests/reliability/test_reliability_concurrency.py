"""Concurrent use: readers during writes see one consistent version; writers take turns.

tests/integration/test_api.py checks that a few asks succeed during one upload; here several readers query
a real uvicorn server while a writer replaces, adds and deletes documents, and every response
is checked for coming from a single index version. Then three `rag index` processes meet on one
index directory whose write lock is held.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from api.app import create_app
from bench.soak import free_port, rag_command, server_env
from index.lock import IndexLock
from index.stores.faiss.store import current_version, load_store
from rag.engine import Engine, EngineConfig
from rag.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CORPUS = PROJECT_ROOT / "corpus"
MODEL = "all-MiniLM-L6-v2"
FUND_Q = "how big is the capacity fund?"
# answered with confidence; the fund question abstains below the threshold (README)
LOANS_Q = "How much did China earmark in loans for capacity cooperation?"
CABINS_Q = "How many cabins does the Zhetysu cable car have?"
ROUNDS = 5
READERS = 3
MAX_READS = 200  # per reader: a bound, should the writer hang
WAIT_S = 300.0


def bulletin(number: int) -> dict:
    """Version `number` of one document: its title and its text name the same number."""
    text = (
        f"Cable car bulletin number {number}. The Zhetysu cable car now has {30 + number} cabins, "
        "the operator said on Monday. It links the city with the mountain resort and carried "
        "thousands of passengers in its first season."
    )
    return {"doc_id": "cable-car", "title": f"Cable car bulletin {number}", "text": text}


def temporary(number: int) -> dict:
    text = (
        f"Temporary note {number}. The Zhetysu cable car depot stores spare cabins and parts, "
        "and its crews inspect the cable every night before the first run."
    )
    return {"doc_id": f"temp-{number}", "title": f"Depot note {number}", "text": text}


@contextmanager
def serve_in_thread(app: FastAPI) -> Iterator[str]:
    """Real uvicorn on 127.0.0.1 in a thread of this process; yields the base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def check_cable_car(passages: list[dict], seen: set[int]) -> None:
    """Each cable-car passage has the title and the text of the same version."""
    for passage in passages:
        if passage["doc_id"] == "cable-car":
            number = int(passage["title"].removeprefix("Cable car bulletin "))
            assert f"{30 + number} cabins" in passage["text"], passage
            seen.add(number)


def read_until(
    base_url: str, done: threading.Event, base_docs: set[str], seen: set[int], counts: list
) -> None:
    """One reader: asks and searches until the writer is done, checking every response."""
    known = base_docs | {"cable-car"} | {f"temp-{n}" for n in range(ROUNDS)}
    with httpx.Client(base_url=base_url, timeout=WAIT_S) as client:
        for _ in range(MAX_READS):
            if done.is_set():
                return
            fund = client.post("/ask", json={"question": LOANS_Q})
            assert fund.status_code == 200 and fund.json()["answer"] == "$15 billion", fund.text
            cabins = client.post("/ask", json={"question": CABINS_Q}).json()
            check_cable_car(cabins["citations"], seen)
            if cabins["quantity"] and cabins["citations"][0]["doc_id"] == "cable-car":
                number = int(cabins["citations"][0]["title"].removeprefix("Cable car bulletin "))
                assert cabins["quantity"]["value"] == 30 + number, cabins
            found = client.get("/search", params={"q": "Zhetysu cable car cabins", "k": 10})
            assert found.status_code == 200, found.text
            hits = found.json()["hits"]
            check_cable_car(hits, seen)
            doc_ids = {hit["doc_id"] for hit in hits}
            assert doc_ids <= known, doc_ids
            assert len({d for d in doc_ids if d.startswith("temp-")}) <= 1, doc_ids  # one lives at a time
            counts.append(3)


@pytest.mark.slow
def test_readers_see_one_consistent_version_while_documents_change(built_index, embedder, tmp_path):
    index_dir = tmp_path / "index"
    shutil.copytree(built_index[0], index_dir)
    base_docs = set(load_store(index_dir).documents)
    engine = Engine(EngineConfig(index_dir=index_dir, model=MODEL), embedder=embedder)
    settings = Settings(index_dir=index_dir, model=MODEL, api_key=None, cors_origins="")
    failures: list[BaseException] = []
    seen: set[int] = set()
    counts: list[int] = []
    done = threading.Event()

    def reader(base_url: str) -> None:
        try:
            read_until(base_url, done, base_docs, seen, counts)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)
            done.set()

    with serve_in_thread(create_app(settings, engine=engine)) as base_url:
        readers = [threading.Thread(target=reader, args=(base_url,)) for _ in range(READERS)]
        for thread in readers:
            thread.start()
        statuses = []
        with httpx.Client(base_url=base_url, timeout=WAIT_S) as writer:
            for number in range(ROUNDS):
                if done.is_set():
                    break
                statuses.append(writer.post("/documents", json=bulletin(number)).status_code)
                statuses.append(writer.post("/documents", json=temporary(number)).status_code)
                statuses.append(writer.delete(f"/documents/temp-{number}").status_code)
        done.set()
        for thread in readers:
            thread.join(timeout=WAIT_S)
    if failures:
        raise failures[0]
    assert statuses == [201, 201, 200] + [200, 201, 200] * (ROUNDS - 1)
    assert len(counts) >= READERS and len(seen) >= 2, (counts, seen)  # reads overlapped the writes
    store = load_store(index_dir, model=MODEL, dim=384)
    assert set(store.documents) == base_docs | {"cable-car"}
    assert store.documents["cable-car"].title == f"Cable car bulletin {ROUNDS - 1}"


def wait_for_text(path: Path, text: str, deadline: float) -> None:
    while text not in path.read_text():
        assert time.monotonic() < deadline, f"{path.name} never said {text!r}:\n{path.read_text()[-2000:]}"
        time.sleep(0.1)


@pytest.mark.slow
def test_rag_index_runs_at_once_take_turns_or_give_up_clearly(tmp_path):
    index_dir = tmp_path / "index"
    env = {**server_env(index_dir), "COLUMNS": "500"}
    command = [*rag_command(), "index", str(CORPUS), "--index-dir", str(index_dir)]
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    deadline = time.monotonic() + WAIT_S
    with IndexLock(index_dir, timeout=1):  # a writer already at work
        patient = []
        for log_path in logs:
            with log_path.open("w") as log:
                patient.append(subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log, stderr=log))
        hasty = subprocess.run(
            [*command, "--lock-timeout", "1"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=WAIT_S,
        )
        for log_path in logs:
            wait_for_text(log_path, "waiting for another writer", deadline)
    for process in patient:
        process.wait(timeout=WAIT_S)

    assert hasty.returncode == 1
    [line] = [line for line in hasty.stderr.splitlines() if line.startswith("error:")]
    assert f"another process (pid {os.getpid()}) is writing the index" in line and "Try again" in line
    assert "Traceback" not in hasty.stderr

    outputs = [log_path.read_text() for log_path in logs]
    assert [process.returncode for process in patient] == [0, 0], outputs
    written = sorted("index written" in output for output in outputs)
    assert written == [False, True], outputs  # one built it, the other found it up to date
    assert sum("index unchanged" in output for output in outputs) == 1
    store = load_store(index_dir, model=MODEL, dim=384)
    assert len(store.documents) == 5 and current_version(index_dir).name == store.version
    assert [path.name for path in index_dir.iterdir() if path.name.startswith(("v-", "tmp-"))] == [
        store.version
    ]
