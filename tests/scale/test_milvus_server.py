"""The Milvus store's write protocol on a real Milvus server, not milvus-lite.

The PyPI package `milvus` 2.3.5 runs the Milvus 2.3.5 standalone server (a Go binary with an
embedded etcd) on a 127.0.0.1 port. Milvus 2.3 predates BM25 Functions, sparse vectors and
hybrid_search, so it cannot host the chunk collection; it can host the records collection, and
with it what a server shows and milvus-lite cannot: several processes over the network, with
Strong consistency, sharing the state rows and the writer leases, and a writer SIGKILLed while it
holds the lease.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest

from index.errors import IndexLockedError

pytestmark = [
    pytest.mark.scale,
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("milvus") is None or importlib.util.find_spec("pymilvus") is None,
        reason="the Milvus 2.3 server package is missing: make install-scale",
    ),
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STARTS = 2  # the 2.3.5 binary has been seen to panic on start once in a while; try once more
TOKEN = "root:Milvus"  # the server's first user, made when authorization is on


@pytest.fixture(scope="module")
def server_uri(tmp_path_factory):
    from milvus import MilvusServer

    errors = []
    for attempt in range(STARTS):
        server = MilvusServer()
        server.set_base_dir(str(tmp_path_factory.mktemp(f"milvus-server-{attempt}")))
        server.listen_port = free_port()
        server.config.set("authorization_enabled", True)  # users and passwords, as in production
        try:
            server.start()
        except Exception as exc:  # the package raises bare exceptions on a failed start
            errors.append(repr(exc))
            server.stop()
            continue
        try:
            yield f"http://127.0.0.1:{server.listen_port}"
        finally:
            server.stop()
        return
    pytest.fail(f"the Milvus 2.3.5 server did not start in {STARTS} tries: {errors}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def records_location(uri: str, name: str):
    from index.stores.milvus.client import MilvusLocation, connect
    from index.stores.milvus.rows import create_records_collection

    location = MilvusLocation(uri=uri, token=TOKEN, collection=name)
    create_records_collection(connect(location), location)
    return location


def python(code: str, **kwargs) -> subprocess.Popen:
    """Another process of this project, running code."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def read_committed(uri: str, name: str) -> str:
    process = python(
        f"""
        from index.stores.milvus.client import MilvusLocation, connect, stored_state
        location = MilvusLocation(uri={uri!r}, token={TOKEN!r}, collection={name!r})
        state = stored_state(connect(location), location)
        print(state.committed, state.serial)
        """
    )
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return out.strip()


def test_a_refused_token_is_named_with_the_fix(server_uri):
    from index.errors import StoreConnectionError
    from index.stores.milvus.client import MilvusLocation, connect

    with pytest.raises(StoreConnectionError, match="refused the credentials.*RAG_MILVUS_TOKEN"):
        connect(MilvusLocation(uri=server_uri, token="root:not-the-password", collection="any"))
    client = connect(MilvusLocation(uri=server_uri, token=TOKEN, collection="any"))
    assert isinstance(client.list_collections(), list)  # the right token is let in


def test_a_committed_state_is_seen_at_once_by_another_process(server_uri):
    """Strong consistency: the state row one process inserts is the state the next process reads
    (Milvus 2.3's default Bounded consistency would not see a write made a moment before)."""
    from index.stores.milvus.client import STATE, State, connect
    from index.stores.milvus.write import save_state

    location = records_location(server_uri, "state_rows")
    client = connect(location)
    state = save_state(client, location, State("model", 384, "cl100k_base", 192, 32, committed=1))
    assert read_committed(server_uri, "state_rows") == "1 1"
    for committed in (2, 3):
        state = save_state(client, location, replace(state, committed=committed))
        assert read_committed(server_uri, "state_rows") == f"{committed} {committed}"
    rows = client.query(
        location.records, filter=f"kind == {STATE}", output_fields=["count(*)"], consistency_level="Strong"
    )
    assert rows[0]["count(*)"] == 1  # older state rows are deleted after the new one is in


def test_a_second_writer_waits_and_a_killed_holder_blocks_nobody(server_uri):
    from index.stores.milvus.client import LEASE, connect
    from index.stores.milvus.lease import WriterLease

    location = records_location(server_uri, "leases")
    holder = python(
        f"""
        import time
        from index.stores.milvus.client import MilvusLocation, connect
        from index.stores.milvus.lease import WriterLease
        location = MilvusLocation(uri={server_uri!r}, token={TOKEN!r}, collection="leases")
        with WriterLease(connect(location), location, timeout=30):
            print("held", flush=True)
            time.sleep(600)
        """
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        second = WriterLease(connect(location), location, timeout=1.0)
        with pytest.raises(IndexLockedError, match=f"pid {holder.pid} "), second:
            pass
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        started = time.monotonic()
        with WriterLease(connect(location), location, timeout=30.0):
            waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.communicate(timeout=30)
    assert waited < 5.0  # the dead holder's lease lapsed at once (same host, process gone)
    rows = connect(location).query(
        location.records, filter=f"kind == {LEASE}", output_fields=["count(*)"], consistency_level="Strong"
    )
    assert rows[0]["count(*)"] == 0  # released leases and the dead one's are deleted


def test_writers_that_ask_together_write_in_turn(server_uri, tmp_path):
    """Three processes ask for the lease at the same moment; their writing spells never overlap."""
    records_location(server_uri, "queue")
    start_at = time.time() + 8.0  # after each process has imported and connected
    log = tmp_path / "spells"
    code = f"""
        import time
        from index.stores.milvus.client import MilvusLocation, connect
        from index.stores.milvus.lease import WriterLease
        location = MilvusLocation(uri={server_uri!r}, token={TOKEN!r}, collection="queue")
        client = connect(location)
        time.sleep(max(0.0, {start_at!r} - time.time()))
        with WriterLease(client, location, timeout=60):
            began = time.time()
            time.sleep(1.0)
            ended = time.time()
        with open({str(log)!r}, "a") as out:
            out.write(f"{{began}} {{ended}}\\n")
        """
    writers = [python(code) for _ in range(3)]
    for writer in writers:
        _, err = writer.communicate(timeout=180)
        assert writer.returncode == 0, err
    spells = sorted(tuple(map(float, line.split())) for line in log.read_text().splitlines())
    assert len(spells) == 3
    for (_, ended), (began, _) in zip(spells, spells[1:], strict=False):
        assert began >= ended, f"two writers held the lease at once: {spells}"
