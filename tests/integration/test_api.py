"""The HTTP API through TestClient, with the real model and the index of the bundled corpus."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import index.errors as index_errors
from api.app import create_app
from api.errors import ERROR_STATUS, status_for
from api.schemas import AnswerOut
from index.errors import InputError, RagError
from index.stores.faiss.store import load_store
from rag.engine import Engine, EngineConfig
from rag.quantities import Quantity
from rag.serialize import answer_to_dict
from rag.settings import Settings
from rag.types import Answer, Citation, Reported

MODEL = "all-MiniLM-L6-v2"
FUND_DOC = "002_158f33fd42f0f3d5"
ZHETYSU = {
    "doc_id": "zhetysu-cable-car",
    "title": "Zhetysu cable car opens in Almaty",
    "published": "2017-06-01",
    "text": "The Zhetysu cable car has 37 cabins and cost $48 million. It links the city with the "
    "mountain resort and opened this summer after two years of work, officials said.",
}
CABINS = "How many cabins does the Zhetysu cable car have?"
FUND_Q = "how big is the capacity fund?"
# answered with confidence; the fund question abstains below the threshold (README)
LOANS_Q = "How much did China earmark in loans for capacity cooperation?"
KEY = "s3cret-key-for-tests"


def make_settings(index_dir: Path, **overrides: object) -> Settings:
    """Settings for a test, independent of RAG_* variables in the environment."""
    base = {"index_dir": index_dir, "model": MODEL, "api_key": None, "protect_reads": False}
    return Settings(**{**base, "cors_origins": "", **overrides})


@pytest.fixture(scope="module")
def engine(built_index, embedder) -> Engine:
    """An engine over the session index (read-only tests)."""
    return Engine(EngineConfig(index_dir=built_index[0], model=MODEL), embedder=embedder)


@pytest.fixture(scope="module")
def client(engine) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(engine.config.index_dir), engine=engine)) as test_client:
        yield test_client


@pytest.fixture
def writable_engine(built_index, embedder, tmp_path) -> Engine:
    """An engine over a copy of the session index, for tests that change it."""
    index_dir = tmp_path / "index"
    shutil.copytree(built_index[0], index_dir)
    return Engine(EngineConfig(index_dir=index_dir, model=MODEL), embedder=embedder)


def client_for(engine: Engine, **overrides: object) -> TestClient:
    return TestClient(create_app(make_settings(engine.config.index_dir, **overrides), engine=engine))


@pytest.fixture
def writer(writable_engine) -> Iterator[TestClient]:
    with client_for(writable_engine, max_upload_bytes=4000) as test_client:
        yield test_client


def assert_error(response, status: int, kind: str | None = None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"type", "message"} and error["message"]
    if kind:
        assert error["type"] == kind
    return error


# --- reads -------------------------------------------------------------------------------


def test_health_reports_the_loaded_index(client, engine):
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["index_loaded"] is True and health["message"] is None
    assert health["model"] == MODEL
    assert health["documents"] == len(engine.store.documents) == 5
    assert health["chunks"] == len(engine.store.chunks)
    assert health["index_version"] == engine.store.version
    assert health["api_key_required"] is False


def test_ask_answers_with_the_cited_number(client):
    answer = client.post("/ask", json={"question": LOANS_Q}).json()
    assert answer["answer"] == "$15 billion" and answer["abstained"] is False
    assert answer["citations"][0]["doc_id"] == FUND_DOC


def test_ask_returns_exactly_what_rag_ask_json_prints(client, engine):
    response = client.post("/ask", json={"question": FUND_Q, "top_k": 5})
    expected = json.loads(json.dumps(answer_to_dict(engine.ask(FUND_Q, k=5))))
    assert response.json() == expected
    assert list(response.json()) == list(expected)


def test_answer_model_mirrors_the_serialised_contract():
    quantity = Quantity(value=2e9, unit="USD", kind="money", text="$2 billion", start=10, end=20)
    citation = Citation("d", "T", "2017-01-02", "a $2 billion fund", 8, 25, "d#0", 0.5)
    reported = Reported("$3 billion", quantity, "2016-01-01", citation)
    answer = Answer("q?", "$2 billion", quantity, False, None, [citation], [reported], "extractive", 0.7)
    contract = answer_to_dict(answer)
    assert AnswerOut.model_validate(contract).model_dump(mode="json") == contract
    assert set(AnswerOut.model_fields) == set(contract)


def test_ask_honours_document_and_date_filters(client):
    body = {"question": LOANS_Q, "filters": {"published_before": "2000-01-01"}}
    assert client.post("/ask", json=body).json()["abstained"] is True
    body["filters"] = {"doc_ids": [FUND_DOC], "published_after": "2017-01-01"}
    answer = client.post("/ask", json=body).json()
    assert {c["doc_id"] for c in answer["citations"]} == {FUND_DOC}


def test_search_returns_ranked_passages_with_metadata(client, engine):
    hits = client.get("/search", params={"q": "capacity cooperation fund", "k": 3}).json()["hits"]
    assert [hit["rank"] for hit in hits] == [1, 2, 3]
    assert [hit["score"] for hit in hits] == sorted((hit["score"] for hit in hits), reverse=True)
    first = hits[0]
    document = engine.store.documents[first["doc_id"]]
    assert first["title"] == document.title and first["published"] == document.published
    assert document.text[first["start"] : first["end"]] == first["text"]
    only = client.get("/search", params={"q": "fund", "k": 5, "doc_id": FUND_DOC}).json()["hits"]
    assert only and {hit["doc_id"] for hit in only} == {FUND_DOC}


def test_list_documents_gives_every_document_and_its_chunks(client, engine):
    listing = client.get("/documents").json()
    assert listing["count"] == 5
    assert [d["doc_id"] for d in listing["documents"]] == sorted(engine.store.documents)
    assert sum(d["chunks"] for d in listing["documents"]) == len(engine.store.chunks)
    assert {d["origin"] for d in listing["documents"]} == {"file"}


def test_get_document_gives_metadata_and_cleaned_text(client, engine):
    document = client.get(f"/documents/{FUND_DOC}").json()
    stored = engine.store.documents[FUND_DOC]
    assert document["title"] == "China-Kazakhstan capacity cooperation on fast track: official"
    assert document["text"] == stored.text and document["published"] == stored.published
    assert document["chunks"] == len(engine.store.chunks_of(FUND_DOC))


# --- bad input ---------------------------------------------------------------------------


REVERSED_DATES = {"published_after": "2018-01-01", "published_before": "2017-01-01"}


def _ask(**fields: object) -> dict:
    return {"question": "fund?", **fields}


ASK_BAD_BODIES = [
    pytest.param({"question": ""}, 422, "QuestionError", id="empty"),
    pytest.param({"question": " \n\t "}, 422, "QuestionError", id="whitespace"),
    pytest.param({"question": "x" * 2001}, 422, "QuestionError", id="too-long"),
    pytest.param({"question": 42}, 422, "ValidationError", id="question-int"),
    pytest.param({"question": None}, 422, "ValidationError", id="question-null"),
    pytest.param({}, 422, "ValidationError", id="no-question"),
    pytest.param(_ask(top_k=0), 422, "ValidationError", id="top-k-0"),
    pytest.param(_ask(top_k=51), 422, "ValidationError", id="top-k-51"),
    pytest.param(_ask(top_k="many"), 422, "ValidationError", id="top-k-text"),
    pytest.param(_ask(topk=3), 422, "ValidationError", id="unknown-field"),
    pytest.param(_ask(filters={"doc_ids": ["nope"]}), 404, "NotFoundError", id="unknown-doc"),
    pytest.param(_ask(filters={"doc_ids": ["../x"]}), 422, "InvalidDocIdError", id="path-doc"),
    pytest.param(_ask(filters={"doc_ids": []}), 422, "InputError", id="no-docs"),
    pytest.param(_ask(filters={"published_after": "soon"}), 422, "ValidationError", id="bad-date"),
    pytest.param(_ask(filters=REVERSED_DATES), 422, "InputError", id="dates-reversed"),
    pytest.param(["how big is the capacity fund?"], 422, "ValidationError", id="list-body"),
]


@pytest.mark.parametrize(("body", "status", "kind"), ASK_BAD_BODIES)
def test_ask_rejects_bad_input_with_a_json_4xx(client, body, status, kind):
    assert_error(client.post("/ask", json=body), status, kind)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(b"{bad json", "application/json"), (b"", "application/json"), (b"how big?", "text/plain")],
    ids=["malformed", "empty", "not-json"],
)
def test_ask_rejects_a_body_that_is_not_json(client, content, content_type):
    response = client.post("/ask", content=content, headers={"content-type": content_type})
    assert_error(response, 422, "ValidationError")


SEARCH_BAD_QUERIES = [
    "",
    "q=",
    "q=%20%20",
    "q=x&k=0",
    "q=x&k=51",
    "q=x&k=two",
    "q=x&published_after=May",
    "q=x&doc_id=a%2Fb",
]


@pytest.mark.parametrize("query", SEARCH_BAD_QUERIES)
def test_search_rejects_bad_parameters(client, query):
    assert_error(client.get(f"/search?{query}"), 422)


BAD_DOC_PATHS = [
    pytest.param("no-such-doc", 404, "NotFoundError", id="unknown"),
    pytest.param("..%2F..%2Fetc%2Fpasswd", 422, "InvalidDocIdError", id="dot-dot-slash"),
    pytest.param("a%2Fb", 422, "InvalidDocIdError", id="slash"),
    pytest.param("a%00b", 422, "InvalidDocIdError", id="nul"),
    pytest.param("%2E%2E", 422, "InvalidDocIdError", id="dot-dot"),
]


@pytest.mark.parametrize(("doc_id", "status", "kind"), BAD_DOC_PATHS)
def test_get_document_rejects_unknown_and_unsafe_ids(client, doc_id, status, kind):
    assert_error(client.get(f"/documents/{doc_id}"), status, kind)


@pytest.mark.parametrize(("doc_id", "status", "kind"), BAD_DOC_PATHS)
def test_delete_document_rejects_unknown_and_unsafe_ids(writer, doc_id, status, kind):
    assert_error(writer.delete(f"/documents/{doc_id}"), status, kind)


UPLOAD_BAD_JSON = [
    pytest.param({**ZHETYSU, "doc_id": "../evil"}, 422, "InvalidDocIdError", id="dot-dot"),
    pytest.param({**ZHETYSU, "doc_id": "a/b"}, 422, "InvalidDocIdError", id="slash"),
    pytest.param({**ZHETYSU, "doc_id": "a\x00b"}, 422, "InvalidDocIdError", id="nul"),
    pytest.param({**ZHETYSU, "text": ""}, 422, "UnsupportedFileError", id="empty-text"),
    pytest.param({**ZHETYSU, "text": "Hi."}, 422, "UnsupportedFileError", id="no-article"),
    pytest.param({**ZHETYSU, "text": 37}, 422, "ValidationError", id="text-int"),
    pytest.param({**ZHETYSU, "published": "last week"}, 422, "ValidationError", id="bad-date"),
    pytest.param({**ZHETYSU, "format": "pdf"}, 422, "ValidationError", id="bad-format"),
    pytest.param({"doc_id": "x"}, 422, "ValidationError", id="no-text"),
    pytest.param({**ZHETYSU, "text": "word " * 1000}, 413, "UploadTooLargeError", id="too-large"),
]


@pytest.mark.parametrize(("body", "status", "kind"), UPLOAD_BAD_JSON)
def test_post_document_rejects_bad_json(writer, body, status, kind):
    assert_error(writer.post("/documents", json=body), status, kind)


UPLOAD_BAD_FILES = [
    pytest.param("a.txt", "café au lait".encode("latin-1"), 415, "UnsupportedEncodingError", id="latin-1"),
    pytest.param("a.txt", b"\x00\x01binary" * 10, 422, "UnsupportedFileError", id="binary"),
    pytest.param("a.pdf", b"%PDF-1.4", 422, "UnsupportedFileError", id="corrupt-pdf"),
    pytest.param("a.docx", b"PK\x03\x04", 415, "UnsupportedMediaTypeError", id="docx"),
    pytest.param("..txt", b"The Zhetysu cable car has 37 cabins.", 422, "InvalidDocIdError", id="bad-stem"),
    pytest.param("big.txt", b"word " * 1000, 413, "UploadTooLargeError", id="too-large"),
]


@pytest.mark.parametrize(("filename", "data", "status", "kind"), UPLOAD_BAD_FILES)
def test_post_document_rejects_bad_files(writer, filename, data, status, kind):
    assert_error(writer.post("/documents", files={"file": (filename, data)}), status, kind)


def test_post_document_checks_the_bytes_read_not_only_content_length(writer):
    chunks = (b'{"doc_id": "x", "text": "' + b"word " * 2000 + b'"}' for _ in range(1))
    response = writer.post("/documents", content=chunks, headers={"content-type": "application/json"})
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "UploadTooLargeError")


def test_post_document_rejects_other_bodies(writer):
    assert_error(writer.post("/documents", content=b"x", headers={"content-type": "text/plain"}), 415)
    assert_error(writer.post("/documents", files={"other": ("a.txt", b"x")}), 422, "InputError")


def test_unknown_routes_and_methods_get_the_json_error_shape(client):
    assert_error(client.get("/nowhere"), 404, "HTTPError")
    assert_error(client.put("/ask", json={}), 405, "HTTPError")


# --- writes ------------------------------------------------------------------------------


def test_added_document_is_answered_then_forgotten_when_deleted(writer, writable_engine):
    created = writer.post("/documents", json=ZHETYSU)
    assert created.status_code == 201 and created.json()["action"] == "created"
    answer = writer.post("/ask", json={"question": CABINS}).json()
    assert "37" in answer["answer"] and answer["citations"][0]["doc_id"] == ZHETYSU["doc_id"]
    assert writer.get("/health").json()["documents"] == 6
    deleted = writer.delete(f"/documents/{ZHETYSU['doc_id']}")
    assert deleted.status_code == 200 and deleted.json()["documents"] == 5
    assert writer.post("/ask", json={"question": CABINS}).json()["abstained"] is True
    assert_error(writer.get(f"/documents/{ZHETYSU['doc_id']}"), 404, "NotFoundError")


def test_uploads_are_marked_so_that_rag_index_keeps_them(writer, writable_engine):
    writer.post("/documents", json=ZHETYSU)
    on_disk = load_store(writable_engine.config.index_dir).documents[ZHETYSU["doc_id"]]
    assert on_disk.extra["origin"] == "upload"
    assert writer.get(f"/documents/{ZHETYSU['doc_id']}").json()["origin"] == "upload"


def test_file_upload_takes_its_id_from_the_stem_and_replaces_on_repeat(writer):
    text = "# Zhetysu\n\nThe Zhetysu cable car has 37 cabins and cost $48 million, officials said in Almaty."
    first = writer.post("/documents", files={"file": ("zhetysu.md", text.encode())}, data={"title": "Cable"})
    assert first.status_code == 201 and first.json()["doc_id"] == "zhetysu"
    again = writer.post("/documents", files={"file": ("zhetysu.md", (text + " It opened in June.").encode())})
    assert again.status_code == 200 and again.json()["action"] == "replaced"
    assert writer.get("/documents/zhetysu").json()["text"].endswith("It opened in June.")


def test_queries_keep_working_while_documents_are_added(writer):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        asks = [pool.submit(writer.post, "/ask", json={"question": LOANS_Q}) for _ in range(6)]
        upload = pool.submit(writer.post, "/documents", json=ZHETYSU)
        assert upload.result().status_code == 201
        assert {future.result().json()["answer"] for future in asks} == {"$15 billion"}


# --- API key, CORS, start-up -------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"X-API-Key": "wrong"}, 403), ({"Authorization": "Bearer wrong"}, 403)],
)
def test_writes_need_the_api_key_when_one_is_set(writable_engine, caplog, headers, status):
    with client_for(writable_engine, api_key=KEY) as keyed:
        assert_error(keyed.post("/documents", json=ZHETYSU, headers=headers), status)
        assert_error(keyed.delete(f"/documents/{FUND_DOC}", headers=headers), status)
        assert keyed.get("/documents").status_code == 200
        assert keyed.post("/ask", json={"question": FUND_Q}).status_code == 200
    assert KEY not in caplog.text


@pytest.mark.parametrize("headers", [{"X-API-Key": KEY}, {"Authorization": f"Bearer {KEY}"}])
def test_writes_succeed_with_the_api_key(writable_engine, headers):
    with client_for(writable_engine, api_key=KEY) as keyed:
        assert keyed.post("/documents", json=ZHETYSU, headers=headers).status_code == 201
        assert keyed.delete(f"/documents/{ZHETYSU['doc_id']}", headers=headers).status_code == 200


def test_protect_reads_closes_the_read_endpoints_too(engine):
    with client_for(engine, api_key=KEY, protect_reads=True) as keyed:
        assert_error(keyed.get("/documents"), 401)
        assert_error(keyed.post("/ask", json={"question": "fund?"}), 401)
        assert keyed.get("/documents", headers={"X-API-Key": KEY}).status_code == 200
        assert keyed.get("/health").json()["reads_protected"] is True


def test_cors_is_off_unless_origins_are_configured(engine, client):
    origin = {"Origin": "http://example.org"}
    assert "access-control-allow-origin" not in client.get("/health", headers=origin).headers
    with client_for(engine, cors_origins="http://example.org") as open_client:
        allowed = open_client.get("/health", headers=origin).headers
        assert allowed["access-control-allow-origin"] == "http://example.org"


def test_missing_index_starts_the_app_and_answers_503(tmp_path):
    with TestClient(create_app(make_settings(tmp_path / "no-index"))) as bare:
        health = bare.get("/health").json()
        assert health["index_loaded"] is False and "rag index" in health["message"]
        error = assert_error(bare.post("/ask", json={"question": "fund?"}), 503, "IndexMissingError")
        assert "rag index" in error["message"]
        assert_error(bare.get("/documents"), 503)


def test_build_index_on_start_indexes_the_corpus(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(Path(__file__).resolve().parents[2] / "corpus" / f"{FUND_DOC}.txt", corpus)
    settings = make_settings(tmp_path / "index", corpus_dir=corpus, build_index_on_start=True)
    with TestClient(create_app(settings)) as built:
        assert built.get("/health").json()["documents"] == 1
        assert built.post("/ask", json={"question": LOANS_Q}).json()["citations"][0]["doc_id"] == FUND_DOC


def test_docs_and_page_are_served(client):
    assert "/ask" in client.get("/openapi.json").json()["paths"]
    assert client.get("/docs").status_code == 200
    page = client.get("/")
    assert page.status_code == 200 and 'id="question"' in page.text
    assert client.get("/static/app.js").status_code == 200


# --- the error table ---------------------------------------------------------------------


def _subclasses(cls: type) -> set[type]:
    return {cls}.union(*(_subclasses(sub) for sub in cls.__subclasses__()))


def test_every_rag_error_of_index_errors_has_its_own_status():
    declared = {o for o in vars(index_errors).values() if isinstance(o, type) and issubclass(o, RagError)}
    assert declared - set(ERROR_STATUS) == set()


def test_every_rag_error_maps_to_an_error_status_and_input_errors_to_4xx():
    for cls in _subclasses(RagError):
        status = status_for(cls.__new__(cls))
        assert 400 <= status < 600, cls
        if issubclass(cls, InputError):
            assert 400 <= status < 500, cls
    assert status_for(index_errors.IndexMissingError("x")) == 503
    assert status_for(index_errors.NotFoundError("x")) == 404


class _CountingEmbedder:
    """Wraps the real embedder and counts the texts it is asked to embed."""

    def __init__(self, inner) -> None:
        self.inner, self.texts = inner, 0
        self.name, self.dim, self.max_tokens = inner.name, inner.dim, inner.max_tokens

    def embed_batch(self, texts):
        self.texts += len(texts)
        return self.inner.embed_batch(texts)

    def embed_many(self, texts, **options):
        self.texts += len(texts)
        return self.inner.embed_many(texts, **options)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_an_upload_keeps_the_vectors_already_computed(writable_engine):
    # every upload swaps in a new retriever and answerer; their caches are the engine's, so a
    # question asked before the upload costs no embedding after it (the soak's asks were slow)
    counting = _CountingEmbedder(writable_engine.embedder)
    engine = Engine(writable_engine.config, embedder=counting)
    first = engine.ask(LOANS_Q)
    assert counting.texts == 1  # the question: the reader reads the candidate sentences as text
    with client_for(engine) as client:
        assert client.post("/documents", json=ZHETYSU).status_code == 201
    before = counting.texts
    again = engine.ask(LOANS_Q)
    assert again.answer == first.answer == "$15 billion"
    assert counting.texts == before, "the question was embedded again after the upload"


def test_a_repeated_question_is_answered_from_the_answer_cache_of_its_index_version(writable_engine):
    counting = _CountingEmbedder(writable_engine.embedder)
    engine = Engine(writable_engine.config, embedder=counting)
    assert engine.cached_answer(CABINS) is None
    first = engine.ask(CABINS)
    assert first.abstained  # the cable car is not in the index yet
    before = counting.texts
    assert engine.ask(CABINS) is first and engine.cached_answer(CABINS) is first
    assert counting.texts == before  # nothing embedded, nothing recomputed
    assert engine.cached_answer(CABINS, k=3) is None  # other options are other answers
    with client_for(engine) as client:
        assert client.post("/documents", json=ZHETYSU).status_code == 201
        assert engine.cached_answer(CABINS) is None  # a new index version starts with no answers
        response = client.post("/ask", json={"question": CABINS})
        assert response.json()["answer"] == "37 cabins"
        assert client.post("/ask", json={"question": CABINS}).json() == response.json()
    assert engine.cached_answer(CABINS).answer == "37 cabins"


def test_rag_answer_cache_sets_the_answers_kept_and_0_turns_the_cache_off(built_index, embedder):
    from api.state import engine_config
    from rag.settings import Settings

    assert engine_config(Settings(index_dir=built_index[0], answer_cache=10)).answer_cache == 10
    with pytest.raises(ValueError, match="answer_cache"):
        Settings(answer_cache=-1)
    config = engine_config(Settings(index_dir=built_index[0], answer_cache=0, model=MODEL))
    engine = Engine(config, embedder=embedder)
    assert engine.ask(LOANS_Q).answer == "$15 billion"
    assert engine.cached_answer(LOANS_Q) is None


TESLA = {
    "doc_id": "tesla-obituary",
    "title": "Nikola Tesla dies in New York",
    "published": "1943-01-08",
    "text": "The inventor Nikola Tesla died on January 7, 1943 in a New York hotel. He was born on "
    "10 July 1856 in Smiljan and emigrated to the United States as a young engineer.",
}


def test_a_what_year_question_gets_the_year_of_the_date_it_cites(writer):
    assert writer.post("/documents", json=TESLA).status_code == 201
    died = writer.post("/ask", json={"question": "In what year did Nikola Tesla die?"}).json()
    assert died["answer"] == "1943" and died["quantity"]["kind"] == "year"
    cited = died["citations"][0]
    assert cited["doc_id"] == "tesla-obituary" and "January 7, 1943" in cited["text"]
    assert cited["text"][died["quantity"]["start"] - cited["start"] :].startswith("1943")


def test_a_pdf_upload_is_read_with_its_tables(writable_engine):
    pdf = Path(__file__).resolve().parents[1] / "fixtures" / "pdf" / "report.pdf"
    with client_for(writable_engine) as writer:
        created = writer.post("/documents", files={"file": ("report.pdf", pdf.read_bytes())})
    assert created.status_code == 201, created.json()
    document = writable_engine.store.documents["report"]
    assert document.extra["origin"] == "upload" and document.tables
    cells = {(c.row, c.column): document.text[c.start : c.end] for c in document.tables[0].cells}
    assert cells[("Operating profit", "2004")] == "210"


def test_an_encrypted_pdf_upload_is_refused_and_loses_nothing(writable_engine):
    before = set(writable_engine.store.documents)
    pdf = Path(__file__).resolve().parents[1] / "fixtures" / "pdf" / "encrypted.pdf"
    with client_for(writable_engine) as writer:
        response = writer.post("/documents", files={"file": ("locked.pdf", pdf.read_bytes())})
    assert_error(response, 422, "UnsupportedFileError")
    assert "encrypted" in response.json()["error"]["message"]
    assert set(writable_engine.store.documents) == before
