"""The grounding check on hand-made answers: a number outside its cited text is refused, with its error."""

from __future__ import annotations

import pytest

from index.errors import RagError
from index.types import Document
from rag.ground import GroundingError, check_grounded, supported_numbers
from rag.quantities import Quantity, parse_quantities
from rag.types import Answer, Citation

TEXT = "Exports rose to 120 million dollars in 2018. Imports fell 5 percent."
FIRST_SENTENCE = "Exports rose to 120 million dollars in 2018."
DOCUMENT = Document(doc_id="d1", text=TEXT, title="Trade", published="2019-01-10")
DOCUMENTS = {"d1": DOCUMENT}


def quantity(text: str) -> Quantity:
    """The quantity of TEXT written as `text`."""
    return next(q for q in parse_quantities(TEXT) if q.text == text)


def citation(sentence: str = FIRST_SENTENCE, doc_id: str = "d1", start: int | None = None) -> Citation:
    """A citation of `sentence`, at its place in TEXT unless `start` says otherwise."""
    first = TEXT.index(sentence) if start is None else start
    return Citation(doc_id, "Trade", "2019-01-10", sentence, first, first + len(sentence), f"{doc_id}#0", 1.0)


def answer(stated: str, found: Quantity, citations: list[Citation]) -> Answer:
    return Answer("How much did exports rise to?", stated, found, False, None, citations)


def test_a_number_inside_its_cited_sentence_passes() -> None:
    check_grounded(answer("120 million dollars", quantity("120 million dollars"), [citation()]), DOCUMENTS)


def test_a_differently_written_equal_number_passes() -> None:
    check_grounded(answer("$120 million", quantity("120 million dollars"), [citation()]), DOCUMENTS)


def test_a_number_outside_its_cited_sentence_is_refused() -> None:
    five = quantity("5 percent")  # in the second sentence; the citation is the first
    with pytest.raises(GroundingError, match=r"^answer '5 percent' is not found in any cited span$"):
        check_grounded(answer("5 percent", five, [citation()]), DOCUMENTS)


def test_an_answer_that_states_another_number_than_its_source_is_refused() -> None:
    wrong = answer("130 million dollars", quantity("120 million dollars"), [citation()])
    with pytest.raises(GroundingError, match="'130 million dollars' is not found in any cited span"):
        check_grounded(wrong, DOCUMENTS)


def test_a_citation_whose_text_is_not_at_its_offsets_is_refused() -> None:
    moved = citation(start=1)  # the right sentence, one character off in the document
    with pytest.raises(GroundingError):
        check_grounded(answer("120 million dollars", quantity("120 million dollars"), [moved]), DOCUMENTS)


def test_a_citation_of_an_unknown_document_is_refused() -> None:
    elsewhere = citation(doc_id="d2")
    with pytest.raises(GroundingError):
        check_grounded(answer("120 million dollars", quantity("120 million dollars"), [elsewhere]), DOCUMENTS)


def test_one_supporting_citation_among_several_is_enough() -> None:
    second = citation("Imports fell 5 percent.")
    grounded = answer("120 million dollars", quantity("120 million dollars"), [second, citation()])
    check_grounded(grounded, DOCUMENTS)


def test_an_abstention_has_nothing_to_ground() -> None:
    check_grounded(Answer("How much?", None, None, True, "no figure"), DOCUMENTS)


def test_grounding_error_is_a_rag_error() -> None:
    assert issubclass(GroundingError, RagError)  # so the API's one error table maps it


def test_supported_numbers_splits_stated_numbers_by_the_passages() -> None:
    supported, unsupported = supported_numbers(
        "Exports reached $120 million, up 7 percent.", [FIRST_SENTENCE, "Imports fell 5 percent."]
    )
    assert supported == ["$120 million"]
    assert unsupported == ["7 percent"]


def test_an_ordinal_is_never_unsupported() -> None:
    assert supported_numbers("the third forum", ["nothing numeric"]) == (["third"], [])
