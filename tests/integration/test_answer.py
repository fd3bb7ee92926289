"""The answerer on the real corpus, model, FAISS and BM25: numbers, citations, time, abstention."""

from __future__ import annotations

import pytest

from index.errors import QuestionError
from rag.candidates import document_quantities, span_quantities
from rag.engine import Engine, EngineConfig
from rag.quantities import parse_quantity, quantities_match
from rag.question import analyse
from rag.types import Filters
from tests.conftest import MODEL

FUND_DOC = "002_158f33fd42f0f3d5"


@pytest.fixture(scope="module")
def engine(built_index, embedder) -> Engine:
    return Engine(EngineConfig(index_dir=built_index[0], model=MODEL), embedder=embedder)


def assert_answer(answer, expected: str, doc_prefix: str) -> None:
    assert not answer.abstained, answer.reason
    gold, got = parse_quantity(expected), parse_quantity(answer.answer)
    assert gold is not None and got is not None
    assert quantities_match(gold, got), (answer.answer, expected)
    assert answer.citations[0].doc_id.startswith(doc_prefix), answer.citations[0].doc_id


def test_the_capacity_loans_are_fifteen_billion_dollars_citing_002(engine):
    answer = engine.ask("How much did China earmark in loans for capacity cooperation?")
    assert answer.answer == "$15 billion" and answer.confidence >= engine.answerer.threshold
    citation = answer.citations[0]
    assert citation.doc_id == FUND_DOC and "15 billion dollars" in citation.text
    document = engine.store.documents[FUND_DOC]
    assert document.text[citation.start : citation.end] == citation.text
    assert document.text[answer.quantity.start : answer.quantity.end] == "15 billion dollars"
    assert citation.title == document.title and citation.published == "2017-05-13"


def test_the_capacity_fund_is_the_best_read_candidate_whatever_the_threshold(engine):
    # below the calibrated threshold the answerer abstains and names its best candidate (README)
    answer = _admitting_all(engine, "how big is the capacity fund?")
    assert answer.answer == "$2 billion" and answer.citations[0].doc_id == FUND_DOC
    assert "2-billion-dollar" in answer.citations[0].text
    plain = engine.ask("how big is the capacity fund?")
    assert plain.answer == "$2 billion" or "$2 billion" in (plain.reason or "")


CORPUS_CASES = [
    ("How many stations will the Astana light railway have?", "18 stations", "001"),
    ("How many depots will the light railway have?", "1 depot", "001"),
    ("How long is the light railway in Astana?", "22.4 km", "001"),
    ("How many bilateral early-harvest projects are there?", "52 projects", "001"),
    ("How many projects in steel, smelting and cement are expected to start next year?", "12", "001"),
    ("Which prime ministers' meeting of the SCO did Massimov attend?", "14th", "001"),
    ("When is the World Internet Conference held?", "Dec. 16-18", "001"),
    ("How many delegates represented Kazakhstan at the seminar?", "20 delegates", "000"),
    ("When does the seminar end?", "December 18", "000"),
    ("Which anniversary of independence was approaching?", "25th", "000"),
    ("How much were loans earmarked for capacity cooperation?", "15 billion dollars", "002"),
    ("How many dialogues on capacity cooperation have been held?", "12 dialogues", "002"),
    ("How many projects have been completed?", "34 projects", "002"),
    ("How many projects were under construction in 2017?", "43 projects", "002"),
    ("With how many countries has China signed capacity cooperation documents?", "30", "002"),
    (
        "How much did Chinese companies invest in Belt and Road countries from 2013 to 2016?",
        "60 billion dollars",
        "002",
    ),
    ("How many people will the projects employ?", "20 thousand people", "003"),
    ("How much are the remaining projects worth?", "$18.1 billion", "003"),
    ("How many projects worth $3.8 billion were commissioned from 2015 to 2018?", "12", "003"),
    ("How much was trade in the first two months of 2019?", "$2 billion", "003"),
    ("By how much did trade grow in 2018?", "11.1%", "003"),
    ("What share of goods from China to Europe goes through Kazakhstan?", "85%", "004"),
    ("By how much has mutual trade grown in 10 months?", "24%", "004"),
    ("When did the visa-free regime come into effect?", "November 10", "004"),
    ("What is the trade turnover goal?", "$40 billion", "004"),
]
CORPUS_FLOOR = 18  # of these 25 the learned reader's best candidate is right for 20 (2026-12-02)


@pytest.mark.parametrize(("question", "expected", "doc"), CORPUS_CASES)
def test_answers_across_the_corpus_are_grounded(engine, question, expected, doc):
    # the reader's best candidate, every threshold aside: right, or a grounded number of the corpus
    reading = engine.answerer.read(question)
    answer = engine.answerer.decide(reading, threshold=0.0)
    assert not answer.abstained and answer.citations
    document = engine.store.documents[answer.citations[0].doc_id]
    assert document.text[answer.quantity.start : answer.quantity.end] == answer.quantity.text
    assert answer.citations[0].start <= answer.quantity.start < answer.quantity.end <= answer.citations[0].end


def _is_right(answer, expected: str, doc_prefix: str) -> bool:
    gold, got = parse_quantity(expected), answer.quantity
    return bool(
        gold and got and quantities_match(gold, got) and answer.citations[0].doc_id.startswith(doc_prefix)
    )


def test_the_reader_holds_its_level_across_the_corpus(engine):
    # a regression floor on the reader's best candidates, not a target (the corpus is a test set)
    results = {q: _is_right(_admitting_all(engine, q), expected, doc) for q, expected, doc in CORPUS_CASES}
    print(
        f"{sum(results.values())}/{len(results)} right; wrong: {[q for q, ok in results.items() if not ok]}"
    )
    assert sum(results.values()) >= CORPUS_FLOOR


@pytest.mark.parametrize(
    "question",
    [
        "What is the population of Astana?",
        "What was the trade turnover between Kazakhstan and Russia in 2018?",
        "How many Chinese tourists visited Kazakhstan in 2023?",
        "What is the length of the Kazakhstan-China oil pipeline?",
        "How much did the Shymkent refinery modernization cost?",
        "What was the trade turnover between Kazakhstan and China in 2020?",
    ],
)
def test_unsupported_questions_abstain_with_a_reason(engine, question):
    answer = engine.ask(question)
    assert answer.abstained and answer.answer is None and answer.quantity is None
    assert answer.reason


def _admitting_all(engine, question, **options):
    """The answer with every candidate admitted: the time rules at work whatever the confidence."""
    return engine.answerer.decide(engine.answerer.read(question, **options), threshold=0.0)


def test_last_year_in_a_2023_article_means_2022(engine):
    reading = engine.answerer.read("What was the trade turnover between Kazakhstan and China in 2022?")
    figure = next(s.candidate for s in reading.ranked if s.candidate.quantity.text == "$24.2 billion")
    assert figure.document.doc_id.startswith("004") and "last year" in figure.context()
    assert figure.about.year == 2022 and figure.about.basis == "relative"


def test_named_year_prefers_the_mention_about_that_year(engine):
    answer = _admitting_all(engine, "What was the trade turnover between Kazakhstan and China in 2018?")
    assert answer.citations[0].doc_id.startswith("003") and "2018" in answer.citations[0].text


def test_conflicting_reports_answer_the_latest_and_list_the_others(engine):
    answer = _admitting_all(engine, "What was the trade turnover between Kazakhstan and China?")
    assert answer.citations[0].doc_id.startswith("004") and answer.citations[0].published == "2023-11-28"
    others = {r.citation.doc_id[:3]: r for r in answer.also_reported}
    assert "003" in others and others["003"].published == "2019"


def test_projects_under_way_answer_2019_and_list_2017(engine):
    answer = _admitting_all(engine, "How many projects are under construction?")
    assert_answer(answer, "Eleven projects", "003")
    assert any(quantities_match(r.quantity, parse_quantity("43 projects")) for r in answer.also_reported)


def test_total_value_conflict_lists_the_2016_figure(engine):
    answer = _admitting_all(engine, "What is the total value of the joint projects?")
    assert_answer(answer, "$27 billion", "003")
    assert any(quantities_match(r.quantity, parse_quantity("$26 billion")) for r in answer.also_reported)


def test_filters_restrict_the_sources(engine):
    before_2020 = Filters(published_before="2020-01-01")
    answer = _admitting_all(
        engine, "What was the trade turnover between Kazakhstan and China?", filters=before_2020
    )
    assert {c.doc_id[:3] for c in answer.citations} == {"003"}
    assert all(r.published <= "2020" for r in answer.also_reported)
    only_002 = engine.ask("how big is the capacity fund?", filters=Filters(doc_ids=frozenset({"001_x"})))
    assert only_002.abstained


@pytest.mark.parametrize("question", ["", "   ", "x" * 2001])
def test_bad_questions_raise_a_clear_error(engine, question):
    with pytest.raises(QuestionError):
        engine.ask(question)


def test_every_answer_number_is_inside_its_cited_span(engine):
    questions = [
        "how big is the capacity fund?",
        "How many joint projects are there?",
        "How much are the five projects to be launched in 2019 worth?",
        "What was the trade turnover between Kazakhstan and China?",
        "How many hours a day do the other checkpoints work?",
    ]
    for question in questions:
        answer = _admitting_all(engine, question)
        assert not answer.abstained, question
        document = engine.store.documents[answer.citations[0].doc_id]
        citation = answer.citations[0]
        assert citation.start <= answer.quantity.start < answer.quantity.end <= citation.end
        assert document.text[answer.quantity.start : answer.quantity.end] == answer.quantity.text


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_search_modes_find_the_fund_passage(built_index, embedder, mode):
    engine = Engine(EngineConfig(index_dir=built_index[0], model=MODEL, mode=mode), embedder=embedder)
    hits = engine.search("capacity cooperation fund 2-billion-dollar", k=3)
    assert FUND_DOC in {h.document.doc_id for h in hits}
    assert [h.rank for h in hits] == [0, 1, 2]


def test_parsing_a_chunk_finds_what_parsing_its_whole_document_finds(built_index):
    # queries parse only the chunks they retrieve; offsets and values must not change
    store = built_index[1]
    for chunk in store.chunks:
        document = store.documents[chunk.doc_id]
        whole = [q for q in document_quantities(document) if chunk.start <= q.start and q.end <= chunk.end]
        assert list(span_quantities(document, chunk.start, chunk.end)) == whole, chunk.chunk_id
        assert all(document.text[q.start : q.end] == q.text for q in whole)


def test_numbers_of_one_sentence_are_told_apart_by_their_own_words(engine):
    # one sentence of 002 gives the deals ($27 bn), the fund ($2 bn) and the loans ($15 bn): a
    # span over two numbers says nothing of which one it is, so each is scored by its own spans
    reading = engine.answerer.read("how big is the capacity fund?")
    same_sentence = [
        s for s in reading.reads
        if s.candidate.document.doc_id == FUND_DOC and s.candidate.quantity.value in (2e9, 15e9, 27e9)
    ]  # fmt: skip
    assert len({s.candidate.sentence_start for s in same_sentence}) == 1 and len(same_sentence) == 3
    assert len({s.span for s in same_sentence}) == 3
    assert max(same_sentence, key=lambda s: s.span).candidate.quantity.value == 2e9


def test_the_end_of_a_period_answers_until_when(engine):
    # the seminar's article is dated December 14 and says it runs "till December 18"
    question = "Until what date does the Kazakhstan-China seminar in Beijing run?"
    assert_answer(_admitting_all(engine, question), "December 18", "000_")


def test_the_reader_reads_at_most_its_chosen_number_of_sentences(engine):
    reading = engine.answerer.read("What number is it?")  # any number of any kind is a candidate
    assert len({(s.candidate.document.doc_id, s.candidate.sentence_start) for s in reading.reads}) > 1
    assert max(s.window for s in reading.reads) < engine.answerer.windows
    assert len(reading.ranked) == len(reading.reads)
    probabilities = [s.probability for s in reading.ranked]
    assert all(0.0 <= p <= 1.0 for p in probabilities)
    scores = [s.score for s in reading.ranked]
    assert scores == sorted(scores, reverse=True)  # best first


def test_confidence_is_the_calibrated_probability_of_the_answer(engine):
    answer, reading = engine.answerer.ask_and_read(
        "How much did China earmark in loans for capacity cooperation?"
    )
    assert not answer.abstained
    assert answer.confidence >= engine.answerer.threshold
    assert answer.confidence == round(reading.best.probability, 4)


@pytest.mark.parametrize(
    ("question", "wanted"),
    [
        ("What was the maturity date of the loans?", "date"),
        ("How much has the fund invested to date?", "money"),  # "to date" is not a date question
        ("Over what duration will the cost be recognised?", "length"),
        ("What was the income from vessel operations in 2018?", "money"),
        ("How big were the company's revenues?", "money"),
        ("What was the interest rate on the loan?", "percent"),
        ("What was the average exchange rate of the rouble?", "number"),  # a price, not a percentage
        ("How many stations will the line have?", "count"),
        ("When is the conference held?", "date"),
        ("In what century was the bridge built?", "ordinal"),
        ("Where does the state rank among the others?", "ordinal"),
        ("What was the population around the 2nd century?", "number"),  # a century named, not asked
    ],
)
def test_the_kind_of_quantity_a_question_wants(question, wanted):
    assert analyse(question).wanted == wanted
