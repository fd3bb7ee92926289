"""`rag serve` as a real uvicorn process, asked over real HTTP."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.http_load import stop

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RAG = Path(sys.executable).parent / "rag"
START_TIMEOUT_S = 60.0

pytestmark = pytest.mark.slow


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_health(process: subprocess.Popen, log: Path, base_url: str, timeout_s: float) -> dict:
    """Poll /health until the server answers; fail with its output if it dies or takes too long."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"rag serve exited with status {process.returncode}:\n{log.read_text()}")
        try:
            return httpx.get(f"{base_url}/health", timeout=2.0).json()
        except httpx.TransportError:
            time.sleep(0.25)
    pytest.fail(f"rag serve did not answer /health within {timeout_s:.0f} s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def server(built_index, tmp_path_factory) -> Iterator[str]:
    """`rag serve` on a free port over a copy of the session index; yields its base URL."""
    if not RAG.exists():
        pytest.skip(f"the `rag` console script is not installed at {RAG}; run `make install`")
    tmp_path = tmp_path_factory.mktemp("serve")
    index_dir = tmp_path / "index"
    shutil.copytree(built_index[0], index_dir)
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("RAG_")},
        "RAG_INDEX_DIR": str(index_dir),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        # the project root first, so the `rag` script imports this checkout's packages
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
    }
    command = [str(RAG), "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    log = tmp_path / "serve.log"
    with log.open("w") as output:  # a file, not a pipe: a full pipe would block the server
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        base_url = f"http://127.0.0.1:{port}"
        health = wait_for_health(process, log, base_url, START_TIMEOUT_S)
        assert health["index_loaded"] is True, health
        yield base_url
    finally:
        stop(process)


def test_rag_serve_answers_over_http(server):
    response = httpx.post(
        f"{server}/ask",
        json={"question": "How much did China earmark in loans for capacity cooperation?"},
        timeout=30.0,
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["answer"] == "$15 billion"
    assert answer["citations"][0]["doc_id"] == "002_158f33fd42f0f3d5"


def test_rag_serve_serves_the_page_and_json_errors(server):
    assert "<form" in httpx.get(f"{server}/", timeout=10.0).text
    error = httpx.post(f"{server}/ask", json={"question": "  "}, timeout=10.0)
    assert error.status_code == 422 and error.json()["error"]["type"] == "QuestionError"
