"""Security: path traversal, body limits, the API key, secrets in logs and CORS (see SECURITY.md).

Already covered in tests/integration/test_api.py and not repeated here: unsafe doc_ids in paths and JSON
uploads (BAD_DOC_PATHS, UPLOAD_BAD_JSON), upload size limits through TestClient, missing and
wrong keys, RAG_PROTECT_READS, and CORS through TestClient.
"""

from __future__ import annotations

import hmac
import http.client
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from bench.soak import free_port, start_server, stop_server, wait_until_healthy
from index.stores.faiss.store import load_store
from rag.engine import Engine, EngineConfig
from rag.settings import Settings

MODEL = "all-MiniLM-L6-v2"
KEY = "k3y-for-the-security-tests-0042"
LLM_KEY = "llm-k3y-that-must-stay-secret-77"
ARTICLE = (
    b"The Zhetysu cable car has 37 cabins and cost $48 million. It links the city with the "
    b"mountain resort and opened this summer after two years of work, officials said."
)
UPLOAD_LIMIT = 4000
WITH_KEY = {"X-API-Key": KEY}


def make_settings(index_dir: Path, **overrides: object) -> Settings:
    base = {
        "index_dir": index_dir,
        "model": MODEL,
        "api_key": KEY,
        "protect_reads": False,
        "cors_origins": "",
    }
    return Settings(**{**base, **overrides})


def files_outside(root: Path, index_dir: Path) -> set[Path]:
    """Every file under root that is not inside index_dir."""
    return {path for path in root.rglob("*") if path.is_file() and index_dir not in path.parents}


@pytest.fixture
def sandbox(built_index, tmp_path) -> Path:
    """A copy of the session index two folders deep, so an escape would land inside tmp_path."""
    index_dir = tmp_path / "a" / "b" / "index"
    shutil.copytree(built_index[0], index_dir)
    return index_dir


@pytest.fixture
def keyed(sandbox, embedder) -> Iterator[TestClient]:
    engine = Engine(EngineConfig(index_dir=sandbox, model=MODEL), embedder=embedder)
    settings = make_settings(sandbox, max_upload_bytes=UPLOAD_LIMIT)
    with TestClient(create_app(settings, engine=engine)) as client:
        yield client


# --- path traversal ----------------------------------------------------------------------


TRAVERSAL_NAMES = ["../../evil.txt", "..\\..\\evil.txt", "/tmp/evil.txt", "sub/evil.txt", "../../../evil"]


@pytest.mark.parametrize("filename", TRAVERSAL_NAMES)
def test_upload_file_names_with_a_path_are_refused_and_write_nothing(keyed, sandbox, tmp_path, filename):
    before = files_outside(tmp_path, sandbox)
    response = keyed.post("/documents", files={"file": (filename, ARTICLE)}, headers=WITH_KEY)
    assert response.status_code == 422, response.text
    assert "path" in response.json()["error"]["message"]
    assert files_outside(tmp_path, sandbox) == before
    assert not [path for path in tmp_path.rglob("*evil*")]
    assert "evil" not in load_store(sandbox).documents


@pytest.mark.parametrize("doc_id", ["../../evil", "..", "a/../../evil", "/etc/evil", "C:\\evil"])
def test_upload_doc_id_fields_with_a_path_are_refused(keyed, sandbox, tmp_path, doc_id):
    before = files_outside(tmp_path, sandbox)
    upload = {"file": ("ok.txt", ARTICLE)}
    response = keyed.post("/documents", files=upload, data={"doc_id": doc_id}, headers=WITH_KEY)
    assert response.status_code == 422 and response.json()["error"]["type"] == "InvalidDocIdError"
    assert files_outside(tmp_path, sandbox) == before


def test_an_accepted_upload_is_a_record_in_the_index_not_a_file(keyed, sandbox, tmp_path):
    before = files_outside(tmp_path, sandbox)
    assert (
        keyed.post("/documents", files={"file": ("evil.txt", ARTICLE)}, headers=WITH_KEY).status_code == 201
    )
    assert files_outside(tmp_path, sandbox) == before
    assert not [path for path in sandbox.rglob("*evil*")]  # only a line in documents.jsonl
    assert "evil" in load_store(sandbox).documents


# --- body size limits ----------------------------------------------------------------------


def test_an_oversized_ask_body_is_refused_with_413(keyed):
    question = "how big is the capacity fund? " + "x" * (UPLOAD_LIMIT + 200_000)
    response = keyed.post("/ask", json={"question": question})
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "UploadTooLargeError"


def test_an_oversized_ask_body_without_content_length_is_refused_with_413(keyed):
    body = (b'{"question": "' + b"x" * 50_000 + b'"}' for _ in range(5))
    response = keyed.post("/ask", content=body, headers={"content-type": "application/json"})
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert "limit" in response.json()["error"]["message"]


# --- the API key ---------------------------------------------------------------------------


def test_the_api_key_is_compared_with_hmac_compare_digest(keyed, monkeypatch):
    seen: list[tuple[bytes, bytes]] = []
    compare = hmac.compare_digest

    def recording(given: bytes, expected: bytes) -> bool:
        seen.append((given, expected))
        return compare(given, expected)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    same_length = KEY[:-1] + ("0" if KEY[-1] != "0" else "1")
    response = keyed.delete("/documents/002_158f33fd42f0f3d5", headers={"X-API-Key": same_length})
    assert response.status_code == 403 and response.json()["error"]["type"] == "WrongApiKeyError"
    assert seen == [(same_length.encode(), KEY.encode())]
    assert same_length not in response.text


@pytest.mark.parametrize("key", ["", " ", "clé", KEY.upper(), KEY[:-1], KEY + "0"])
@pytest.mark.parametrize("header", ["X-API-Key", "Authorization"])
def test_near_miss_keys_are_refused(keyed, sandbox, header, key):
    value = f"Bearer {key}" if header == "Authorization" else key
    response = keyed.delete("/documents/002_158f33fd42f0f3d5", headers={header: value.encode("latin-1")})
    assert response.status_code in (401, 403), response.text
    assert len(load_store(sandbox).documents) == 5


# --- cross-site writes ------------------------------------------------------------------------


@pytest.fixture
def keyless(sandbox, embedder) -> Iterator[TestClient]:
    """No API key configured, one extra origin allowed."""
    engine = Engine(EngineConfig(index_dir=sandbox, model=MODEL), embedder=embedder)
    settings = make_settings(sandbox, api_key=None, cors_origins="http://allowed.example")
    with TestClient(create_app(settings, engine=engine)) as client:
        yield client


def test_a_form_post_from_another_site_is_refused_even_without_a_key(keyless, sandbox):
    evil = {"Origin": "http://evil.example"}
    response = keyless.post("/documents", files={"file": ("planted.txt", ARTICLE)}, headers=evil)
    assert response.status_code == 403 and response.json()["error"]["type"] == "CrossSiteWriteError"
    assert keyless.delete("/documents/002_158f33fd42f0f3d5", headers=evil).status_code == 403
    assert keyless.delete("/documents/002_158f33fd42f0f3d5", headers={"Origin": "null"}).status_code == 403
    assert len(load_store(sandbox).documents) == 5
    assert (
        keyless.post("/ask", json={"question": "fund?"}, headers=evil).status_code == 200
    )  # reads stay open


@pytest.mark.parametrize("origin", ["http://testserver", "http://allowed.example", None])
def test_writes_from_this_site_an_allowed_origin_or_no_browser_are_accepted(keyless, origin):
    headers = {"Origin": origin} if origin else {}
    response = keyless.post("/documents", files={"file": ("planted.txt", ARTICLE)}, headers=headers)
    assert response.status_code == 201, response.text


# --- a real `rag serve` with a key, a small upload limit and debug logging ----------------------


@dataclass
class Served:
    base_url: str
    log_path: Path
    index_dir: Path
    root: Path


@pytest.fixture(scope="module")
def served(built_index, tmp_path_factory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("secure")
    index_dir = root / "a" / "b" / "index"
    shutil.copytree(built_index[0], index_dir)
    port = free_port()
    log_path = root / "serve.log"
    process = start_server(
        index_dir,
        port,
        log_path,
        log_level="debug",
        api_key=KEY,
        llm_api_key=LLM_KEY,
        max_upload_bytes=str(UPLOAD_LIMIT),
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_until_healthy(process, base_url, log_path)
        yield Served(base_url, log_path, index_dir, root)
    finally:
        stop_server(process)


def raw_request(served: Served, method: str, path: str, headers: dict | None = None) -> tuple[int, bytes]:
    """Send a path exactly as written (httpx would resolve the dot segments first)."""
    host, port = served.base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/static/../../pyproject.toml"),
        ("GET", "/static/%2e%2e/%2e%2e/pyproject.toml"),
        ("GET", "/documents/../../etc/passwd"),
        ("DELETE", "/documents/../../CURRENT"),
        ("DELETE", "/documents/..%2F..%2FCURRENT"),
    ],
)
def test_dot_segments_in_raw_paths_reach_nothing_outside(served, method, path):
    before = files_outside(served.root, served.index_dir)
    status, body = raw_request(served, method, path, {"X-API-Key": KEY})
    assert 400 <= status < 500, (status, body[:200])
    assert b"[project]" not in body and b"root:" not in body
    assert files_outside(served.root, served.index_dir) == before
    assert len(load_store(served.index_dir).documents) == 5


@pytest.mark.slow
def test_the_server_refuses_oversized_bodies_with_413(served):
    big = {"question": "fund? " + "x" * 300_000}
    assert httpx.post(f"{served.base_url}/ask", json=big, timeout=30).status_code == 413
    upload = httpx.post(
        f"{served.base_url}/documents",
        files={"file": ("big.txt", b"word " * UPLOAD_LIMIT)},
        headers={"X-API-Key": KEY},
        timeout=30,
    )
    assert upload.status_code == 413 and upload.json()["error"]["type"] == "UploadTooLargeError"


@pytest.mark.slow
def test_the_server_refuses_a_wrong_key_of_the_same_length(served):
    same_length = "x" * len(KEY)
    response = httpx.delete(
        f"{served.base_url}/documents/002_158f33fd42f0f3d5", headers={"X-API-Key": same_length}, timeout=30
    )
    assert response.status_code == 403
    assert len(load_store(served.index_dir).documents) == 5


@pytest.mark.slow
def test_cors_is_off_by_default_on_the_server(served):
    origin = {"Origin": "http://evil.example"}
    preflight = httpx.options(
        f"{served.base_url}/ask",
        headers={**origin, "Access-Control-Request-Method": "POST"},
        timeout=30,
    )
    assert "access-control-allow-origin" not in preflight.headers
    simple = httpx.get(f"{served.base_url}/health", headers=origin, timeout=30)
    assert simple.status_code == 200 and "access-control-allow-origin" not in simple.headers


@pytest.mark.slow
def test_the_keys_never_reach_the_server_log(served):
    url = served.base_url
    with httpx.Client(base_url=url, timeout=60) as client:
        article = {"doc_id": "log-probe", "text": ARTICLE.decode()}
        assert client.post("/documents", json=article, headers={"X-API-Key": KEY}).status_code == 201
        bearer = {"Authorization": f"Bearer {KEY}"}
        assert client.delete("/documents/log-probe", headers=bearer).status_code == 200
        assert client.post("/documents", json={"doc_id": "x"}, headers={"X-API-Key": KEY}).status_code == 422
        assert client.post("/documents", json=article, headers={"X-API-Key": KEY[::-1]}).status_code == 403
        assert client.get("/search", params={"q": "capacity fund"}, headers=bearer).status_code == 200
        assert client.get("/health").json()["api_key_required"] is True
    deadline = time.monotonic() + 20
    log = ""
    while time.monotonic() < deadline and "GET /health" not in log:  # access lines arrive as written
        time.sleep(0.2)
        log = served.log_path.read_text()
    assert "DELETE /documents/log-probe" in log  # the log was captured at all
    assert "POST /documents" in log and "GET /search" in log
    leaked = [line for line in log.splitlines() if KEY in line or LLM_KEY in line or KEY[::-1] in line]
    assert leaked == []
