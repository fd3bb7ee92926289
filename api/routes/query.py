"""`POST /ask` and `GET /search`: the read paths, run in a worker thread."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.deps import EngineDep, KnownQuery, ReadAccess, SettingsDep
from api.routes.common import error_responses, to_filters
from api.schemas import MAX_TOP_K, AnswerOut, AskRequest, DigitsInt, FiltersIn, IsoDate, SearchOut
from rag.answer import validated_question
from rag.serialize import answer_to_dict, hit_to_dict

router = APIRouter(tags=["query"], dependencies=[ReadAccess, KnownQuery])


def checked_question(question: str, max_chars: int) -> str:
    """The question as sent, or QuestionError when it is blank or longer than max_chars."""
    validated_question(question, max_chars, setting="RAG_MAX_QUESTION_CHARS")
    return question


@router.post("/ask", response_model=AnswerOut, responses=error_responses(400, 401, 403, 404, 413, 422, 503))
async def ask(body: AskRequest, engine: EngineDep, settings: SettingsDep) -> JSONResponse:
    """Answer a question with a number and the sentences it rests on, or abstain and say why."""
    question = checked_question(body.question, settings.max_question_chars)
    filters = to_filters(body.filters, engine.store)
    # an answer this index version gave before needs no worker thread
    answer = engine.cached_answer(question, body.top_k, filters)
    if answer is None:
        answer = await run_in_threadpool(engine.ask, question, body.top_k, filters)
    # answer_to_dict is AnswerOut's shape already (the schema tests check it): no second validation
    return JSONResponse(answer_to_dict(answer))


@router.get("/search", response_model=SearchOut, responses=error_responses(401, 403, 404, 422, 503))
async def search(
    engine: EngineDep,
    settings: SettingsDep,
    q: Annotated[str, Query(description="what to search for")],
    k: Annotated[DigitsInt, Query(ge=1, le=MAX_TOP_K, description="passages to return")] = 5,
    doc_id: Annotated[list[str] | None, Query(description="only these documents (repeatable)")] = None,
    published_after: Annotated[IsoDate | None, Query()] = None,
    published_before: Annotated[IsoDate | None, Query()] = None,
) -> SearchOut:
    """Passages ranked for a query, with fused, dense and BM25 scores and document metadata."""
    query = checked_question(q, settings.max_question_chars)
    given = None
    if doc_id is not None or published_after or published_before:
        given = FiltersIn(doc_ids=doc_id, published_after=published_after, published_before=published_before)
    filters = to_filters(given, engine.store)
    hits = await run_in_threadpool(engine.search, query, k, filters)
    return SearchOut.model_validate({"query": query, "k": k, "hits": [hit_to_dict(hit) for hit in hits]})
