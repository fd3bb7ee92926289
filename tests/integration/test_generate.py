"""Generative mode against a real OpenAI-shaped HTTP server on 127.0.0.1, over the real index."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from index.stores.contract import ChunkParams, WriteRequest
from index.stores.faiss.build import update_index
from rag.engine import Engine, EngineConfig
from rag.generate import GenerativeAnswerer, LLMConfig, chat_url, cited_numbers, strip_markers
from tests.tables import acme_documents

QUESTION = "How much did China earmark in loans for capacity cooperation?"
FUND_DOC = "002_158f33fd42f0f3d5"
ABSENT = "How much money does the Silk Road Fund hold?"  # the corpus never names that fund
HANG_S = 5.0  # longer than the 1 s client timeout, short enough to bound the test

Reply = Callable[[dict], tuple[int, dict]]


def _completion(content: str) -> dict:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": "local",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
    }


def _passage_with(prompt: str, phrase: str) -> int | None:
    """The number of the passage in the prompt whose text holds phrase."""
    for number, body in re.findall(r"^\[(\d+)\] (.*?)(?=^\[\d+\] |\Z)", prompt, flags=re.M | re.S):
        if phrase in body:
            return int(number)
    return None


def faithful(body: dict) -> tuple[int, dict]:
    """Answers from the passages it was sent: cites the one that states the loans."""
    number = _passage_with(body["messages"][-1]["content"], "15 billion dollars")
    if number is None:
        return 200, _completion("The passages do not say.")
    return 200, _completion(f"The loans for capacity cooperation come to $15 billion [{number}].")


def unfaithful(body: dict) -> tuple[int, dict]:
    return 200, _completion("The fund is $3.5 billion [1].")


def failing(body: dict) -> tuple[int, dict]:
    return 500, {"error": {"message": "internal error"}}


@contextmanager
def chat_server(reply: Reply, hang: bool = False) -> Iterator[tuple[str, list[dict]]]:
    """A chat-completions server on a free port: (its base URL, the request bodies it received)."""
    received: list[dict] = []
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # the name http.server calls
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
            if hang:
                release.wait(HANG_S)
            status, payload = reply(body) if self.path == "/v1/chat/completions" else (404, {})
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up waiting
                pass

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=HANG_S)


@pytest.fixture(scope="module")
def engine(built_index, embedder) -> Engine:
    index_dir, _ = built_index
    return Engine(EngineConfig(index_dir=index_dir, model="all-MiniLM-L6-v2"), embedder=embedder)


def _ask(engine: Engine, url: str, question: str = QUESTION, **config: Any):
    generative = GenerativeAnswerer(engine.answerer, LLMConfig(url=url, **config))
    try:
        return generative.ask(question, k=5)
    finally:
        generative.close()


def test_faithful_completion_is_the_answer(engine):
    with chat_server(faithful) as (url, _):
        answer = _ask(engine, url)
    assert answer.mode == "generative"
    assert not answer.abstained and answer.reason is None
    assert "$15 billion" in answer.answer
    assert FUND_DOC in {c.doc_id for c in answer.citations}


def test_faithful_answer_is_grounded_in_its_citations(engine):
    with chat_server(faithful) as (url, _):
        answer = _ask(engine, url)
    documents = engine.store.documents
    for citation in answer.citations:
        assert documents[citation.doc_id].text[citation.start : citation.end] == citation.text
    quantity = answer.quantity
    assert quantity is not None and quantity.value == 15e9 and quantity.unit == "USD"
    assert any(c.start <= quantity.start and quantity.end <= c.end for c in answer.citations)


def test_request_holds_question_and_numbered_passages(engine):
    with chat_server(faithful) as (url, received):
        _ask(engine, url + "/v1/chat/completions", api_key="sk-test")
    assert len(received) == 1
    request = received[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == "Bearer sk-test"
    assert request["temperature"] == 0 and request["model"] == "local"
    system, user = request["messages"]
    assert system["role"] == "system" and "[1]" in system["content"]
    assert QUESTION in user["content"]
    assert re.search(r"^\[1\] ", user["content"], flags=re.M)
    assert re.search(r"^\[5\] ", user["content"], flags=re.M)
    assert "15 billion dollars" in user["content"]


def test_unfaithful_completion_falls_back_to_extractive(engine):
    with chat_server(unfaithful) as (url, _):
        answer = _ask(engine, url)
    assert answer.mode == "extractive"
    assert answer.answer == "$15 billion"
    assert "3.5" in answer.reason and "extractive" in answer.reason
    assert FUND_DOC in {c.doc_id for c in answer.citations}


def test_server_error_falls_back_to_extractive(engine):
    with chat_server(failing) as (url, _):
        answer = _ask(engine, url)
    assert answer.mode == "extractive"
    assert answer.answer == "$15 billion"
    assert "HTTP 500" in answer.reason and "127.0.0.1" in answer.reason


def test_timeout_falls_back_to_extractive(engine):
    with chat_server(faithful, hang=True) as (url, _):
        answer = _ask(engine, url, timeout_s=1.0)
    assert answer.mode == "extractive"
    assert answer.answer == "$15 billion"
    assert "no answer within 1 s" in answer.reason


def test_unreachable_endpoint_falls_back_to_extractive(engine):
    with chat_server(faithful) as (url, _):
        pass  # the port is closed again once the server is gone
    answer = _ask(engine, url, timeout_s=1.0)
    assert answer.mode == "extractive" and answer.answer == "$15 billion"
    assert "failed" in answer.reason


@pytest.mark.parametrize(
    "url",
    ["http://h:8000", "http://h:8000/", "http://h:8000/v1", "http://h:8000/v1/chat/completions"],
)
def test_chat_url_accepts_base_or_full_url(url):
    assert chat_url(url) == "http://h:8000/v1/chat/completions"


def test_citation_markers_are_read_and_stripped():
    text = "It is $2 billion [2], up from 1 [1, 3] and [4-5]."
    assert cited_numbers(text) == [2, 1, 3, 4, 5]
    assert strip_markers(text) == "It is $2 billion, up from 1 and."


def test_abstention_is_kept_without_asking_the_model(engine):
    with chat_server(faithful) as (url, received):
        answer = _ask(engine, url, ABSENT)
    assert answer.abstained and answer.mode == "extractive"
    assert "Silk" in answer.reason
    assert received == []


def test_abstention_keeps_its_reason_when_the_model_fails(engine):
    with chat_server(failing) as (url, received):
        answer = _ask(engine, url, ABSENT, keep_abstentions=False)
    assert len(received) == 1
    assert answer.abstained and answer.answer is None and answer.citations == []
    assert answer.reason.startswith("no quantity is supported well enough") and "Silk" in answer.reason
    assert answer.reason.endswith("failed: HTTP 500; showing the extractive answer")


def test_abstention_may_be_answered_when_allowed(engine):
    """Opt-in only: the numbers check passes, yet "$15 billion" are the capacity loans, not Silk Road."""
    with chat_server(faithful) as (url, _):
        answer = _ask(engine, url, ABSENT, keep_abstentions=False)
    assert answer.mode == "generative" and not answer.abstained
    assert FUND_DOC in {c.doc_id for c in answer.citations}


def test_rag_settings_reach_the_engine_of_the_api_and_the_cli(tmp_path):
    from api.state import engine_config
    from rag.settings import Settings

    settings = Settings(index_dir=tmp_path, llm_url="http://127.0.0.1:9/v1", llm_model="m", fusion="weighted")
    config = engine_config(settings)
    assert config.llm is not None and config.llm.url == "http://127.0.0.1:9/v1" and config.llm.model == "m"
    assert config.fusion == "weighted" and config.index_dir == tmp_path
    assert engine_config(Settings(index_dir=tmp_path)).llm is None


@pytest.fixture(scope="module")
def table_engine(embedder, tmp_path_factory) -> Engine:
    """An engine over pages that hold tables (tests/tables.py)."""
    index_dir = tmp_path_factory.mktemp("generate-tables")
    update_index(index_dir, embedder, WriteRequest(files=acme_documents(), params=ChunkParams()))
    return Engine(EngineConfig(index_dir=index_dir, model=embedder.name), embedder=embedder)


def reads_the_table(body: dict) -> tuple[int, dict]:
    """Answers from the results table in the table's unit: "210" under "$ millions"."""
    number = _passage_with(body["messages"][-1]["content"], "Operating profit | 2004: 210")
    if number is None:
        return 200, _completion("The passages do not say.")
    return 200, _completion(f"Acme's operating profit in 2004 was $210 million [{number}].")


def test_a_generated_number_read_from_a_table_cell_cites_the_cell(table_engine):
    with chat_server(reads_the_table) as (url, _):
        answer = _ask(table_engine, url, "What was Acme's operating profit in 2004?", keep_abstentions=False)
    assert answer.mode == "generative" and "$210 million" in answer.answer, answer.reason
    cell = next(c for c in answer.citations if c.table is not None)
    assert (cell.table.row, cell.table.column) == ("Operating profit", "2004")
    assert answer.quantity.value == 210e6 and answer.quantity.text == "210"
    assert cell.table.start <= answer.quantity.start and answer.quantity.end <= cell.table.end
