"""The bundled eval set agrees with the bundled articles, read by the project's quantity parser."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from eval.questions import BUNDLED_QUESTIONS
from qadata.questions import KEYS, UNANSWERABLE, EvalItem, load_eval_set
from rag.quantities import parse_quantities, parse_quantity, quantities_match

KIND_TAGS = {"money", "count", "percent", "length", "date", "year", "ordinal", "range", "number"}
OTHER_TAGS = {"paraphrase", UNANSWERABLE, "time", "conflict"}
# Mentions no question asks about: "the two countries" and years that only date another figure.
UNASKED = {"two countries", "two governments", "two states", "first"}
ITEMS = load_eval_set(BUNDLED_QUESTIONS)
ANSWERABLE = [item for item in ITEMS if item.answerable]


@pytest.fixture(scope="module")
def documents(corpus_documents):
    return {document.doc_id: document for document in corpus_documents}


def test_every_line_has_exactly_the_schema_keys():
    for number, line in enumerate(BUNDLED_QUESTIONS.read_text(encoding="utf-8").splitlines(), 1):
        record = json.loads(line)
        assert list(record) == list(KEYS), f"line {number}"
        assert record["answer"] is None or isinstance(record["answer"], str), f"line {number}"


def test_ids_are_unique():
    counts = Counter(item.id for item in ITEMS)
    assert [i for i, n in counts.items() if n > 1] == []


def test_the_set_meets_its_minimums():
    tags = Counter(tag for item in ITEMS for tag in item.tags)
    assert len(ITEMS) >= 60
    assert tags["paraphrase"] >= 12
    assert tags[UNANSWERABLE] >= 8
    assert sum(1 for item in ITEMS if {"time", "conflict"} & set(item.tags)) >= 6


def test_tags_come_from_the_known_vocabulary():
    unknown = {tag for item in ITEMS for tag in item.tags} - KIND_TAGS - OTHER_TAGS
    assert unknown == set()


@pytest.mark.parametrize("item", ANSWERABLE, ids=lambda item: item.id)
def test_kind_tag_is_the_parsed_kind_of_the_gold_answer(item: EvalItem):
    kinds = [tag for tag in item.tags if tag in KIND_TAGS]
    gold = parse_quantity(item.answer or "")
    assert gold is not None
    assert kinds == [gold.kind]


@pytest.mark.parametrize("item", ANSWERABLE, ids=lambda item: item.id)
def test_gold_answer_is_in_every_named_source(item: EvalItem, documents):
    gold = parse_quantity(item.answer or "")
    assert gold is not None and item.sources
    for doc_id in item.sources:
        assert doc_id in documents, f"{doc_id} is not a bundled article"
        found = parse_quantities(documents[doc_id].text)
        assert any(quantities_match(gold, q) for q in found), f"{item.answer!r} not in {doc_id}"


def test_unanswerable_items_have_no_answer_and_real_near_miss_sources(documents):
    unanswerable = [item for item in ITEMS if UNANSWERABLE in item.tags]
    assert unanswerable == [item for item in ITEMS if not item.answerable]
    assert all(set(item.sources) <= set(documents) for item in unanswerable)


def test_every_number_in_the_articles_is_asked_about(documents):
    missing = []
    for doc_id, document in documents.items():
        golds = [q for item in ANSWERABLE if doc_id in item.sources for q in item.gold_quantities]
        for mention in parse_quantities(document.text):
            if mention.text not in UNASKED and not any(quantities_match(g, mention) for g in golds):
                missing.append(f"{doc_id}: {mention.text}")
    assert missing == []


def test_the_capacity_fund_question_is_there():
    item = next(i for i in ITEMS if i.question.lower() == "how big is the capacity fund?")
    assert (item.answer, item.sources) == ("$2 billion", ("002_158f33fd42f0f3d5",))


@pytest.mark.parametrize(
    ("question_part", "answer", "source"),
    [
        ("trade turnover between Kazakhstan and China in 2018", "$11.7 billion", "003_f70ee63ae281a647"),
        ("trade turnover between Kazakhstan and China in 2022", "$24.2 billion", "004_c370dfeada57f66a"),
        ("What is the trade turnover between Kazakhstan and China?", "$24.2 billion", "004_c370dfeada57f66a"),
        ("How many joint Kazakh-Chinese projects", "55 projects", "003_f70ee63ae281a647"),
    ],
)
def test_time_questions_want_the_named_or_the_latest_value(question_part, answer, source):
    item = next(i for i in ITEMS if question_part in i.question)
    assert (item.answer, source in item.sources) == (answer, True)
    assert {"time", "conflict"} & set(item.tags)
