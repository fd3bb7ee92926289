"""The extractive answerer: one pipeline walked forward, question → candidates → reading → ranking
→ decision, each stage a module that takes the last stage's value.

- `rag.question`: what the question names (years, a period, names, the noun it counts);
- `rag.candidates`: every quantity in the retrieved sentences, with the time it is about, and the
  value of every table cell in a retrieved row (`rag.cells`: its table's unit applied, about the
  year its column header names);
- `rag.reading`: the learned span reader scores each candidate in the sentences it reads;
- `rag.ranking`: a learned ranker scores each read candidate from the reader's scores and what a
  reader of news looks at (the kind of quantity asked for, the counted noun, the time cues), and a
  calibration fitted on validation data turns the best score into P(right);
- `rag.compare`: a "which year was X larger?" question compares X's figures across the years of
  its table row, and the year answers (its number is the column header's, in the cited row line);
- `rag.decision`: the best candidate answers when P(right) reaches the threshold chosen on
  validation, else the answerer abstains with the reason; the year, period and latest-report
  rules apply, and every answer is checked to lie inside its cited sentence (or its cited cell).

`rag train` fits the reader, the kind classifier, the ranker and the calibration, and reads its
training and validation questions through this same code.
"""

from __future__ import annotations

from index.errors import ModelError, QuestionError
from index.lexical import lexical_words
from rag.answer_model import AnswerModel, load_answer_model
from rag.candidates import extract_candidates
from rag.compare import compare
from rag.decision import Reading, decide
from rag.question import Question, analyse
from rag.ranking import rank
from rag.reader import SpanReader
from rag.reading import read_candidates
from rag.retrieve import Retriever
from rag.types import Answer, Filters

MAX_QUESTION_CHARS = 2000

__all__ = ["Answerer", "Reading", "validated_question"]


class Answerer:
    """Answers questions from one index version with the learned reader and ranker; share one per process."""

    def __init__(
        self,
        retriever: Retriever,
        reader: SpanReader,
        time_aware: bool = True,
        model: AnswerModel | None = None,
    ) -> None:
        self.retriever = retriever
        self.reader = reader
        self.model = model or load_answer_model(reader.reader_dir)
        self.windows = self.model.windows  # sentences read per question (chosen on validation)
        self.time_aware = time_aware

    @property
    def threshold(self) -> float:
        """The probability below which the answerer abstains (chosen on validation)."""
        return self.model.calibration.threshold if self.model.calibration else 1.0

    def ask(self, question: str, k: int = 5, filters: Filters | None = None) -> Answer:
        """Answer a question with a cited quantity, or abstain with a reason."""
        return self.ask_and_read(question, k=k, filters=filters)[0]

    def ask_and_read(
        self, question: str, k: int = 5, filters: Filters | None = None
    ) -> tuple[Answer, Reading]:
        """The answer, with the reading it was decided from (every candidate and its confidence)."""
        if self.model.ranker is None or self.model.calibration is None:
            raise ModelError(
                f"the answer model in {self.reader.reader_dir} has no fitted ranker or calibration; "
                "run `rag train` again"
            )
        reading = self.read(question, k=k, filters=filters)
        return self.decide(reading), reading

    def read(self, question: str, k: int = 5, filters: Filters | None = None) -> Reading:
        """Retrieve, read and rank every candidate quantity, with no threshold applied."""
        parsed = analyse(validated_question(question))
        hits = self.retriever.search(parsed.text, k=max(k, 1), filters=filters)
        if not hits:
            return Reading(parsed, [], [], "no passage in the index matches the question")
        unknown_names = self._names_unknown_to_index(parsed)
        if unknown_names:
            return Reading(parsed, [], [], "the sources never mention " + ", ".join(unknown_names))
        candidates = extract_candidates(hits)
        if not candidates:
            return Reading(parsed, [], [], "no quantity is mentioned in the retrieved passages")
        reads = read_candidates(parsed, candidates, self.reader, self.retriever.store.idf, self.windows)
        model = self.model
        ranked = []
        if model.ranker:
            ranked = rank(parsed, reads, model.kinds, model.ranker, model.calibration,
                          model.table_calibration, model.table_ranker)  # fmt: skip
        return Reading(parsed, reads, ranked, compared=compare(parsed, ranked, model.comparison_calibration))

    def decide(self, reading: Reading, threshold: float | None = None) -> Answer:
        """The answer a reading supports at the calibrated thresholds (or the one given, for all)."""
        return decide(reading, threshold, self.retriever.store.documents, self.time_aware)

    def _names_unknown_to_index(self, question: Question) -> list[str]:
        """Names in the question that no indexed text contains: the fact cannot be there."""
        store = self.retriever.store
        return [
            name
            for name in question.proper_nouns
            if not all(store.knows(word) for word in lexical_words(name.replace("-", " ")))
        ]


def validated_question(question: str, max_chars: int = MAX_QUESTION_CHARS, setting: str | None = None) -> str:
    """The question without surrounding space, or QuestionError when it is blank or too long."""
    if not isinstance(question, str) or not question.strip():
        raise QuestionError("the question is empty; ask something like 'how much did the new bridge cost?'")
    if len(question) > max_chars:
        named = f" ({setting})" if setting else ""
        raise QuestionError(
            f"the question is {len(question)} characters long; the limit is {max_chars}{named}"
        )
    return question.strip()
