"""Read questions through the serving pipeline, to train the ranker and to validate.

Each corpus is indexed once in a temporary folder, and every question asked over it is read by
`rag.answer.Answerer.read` (the code that serves) with the most sentences any choice reads. A
candidate's reading depends only on its own window, so reading fewer sentences is the same
reading with the later windows dropped (`QuestionReading.reads_within`): every choice of the
number of sentences is measured from one pass.

Corpora and their questions:
- BBC business news, all 510 articles: the training questions of the ranker fold (`ranker_fold`),
  and the validation questions (validation.jsonl);
- SQuAD v1.1 dev, all 48 articles: the ranker fold of its 32 training articles, and the questions
  of the 16 validation articles;
- the SQuAD 2.0 dev half: its unanswerable questions with a numeric plausible answer (validation);
- DROP passages: their ranker-fold training questions;
- TAT-QA's training reports, text and tables: the ranker fold of its text questions, and all of
  its questions answered from a table cell (the reader is trained on text only), each asked within
  its own report, as TAT-QA's questions assume ("What was the revenue in 2019?").
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np

from index.embed import Embedder
from index.ingest import document_from_text
from index.stores import ChunkParams, StoreLocation, open_store, update_store
from qadata.external import ExternalSet, load_external
from qadata.questions import EvalItem
from qadata.splits import BBC, SQUAD_V1, SQUAD_V2_HALF, TATQA_DEV, DataDir
from rag.answer import Answerer
from rag.answer_model import AnswerModel
from rag.kinds import KindModel
from rag.quantities import Quantity, parse_quantity, quantities_match
from rag.question import Question
from rag.ranking import answer_quantity, candidate_features
from rag.reader import SpanReader
from rag.reading import Read
from rag.retrieve import Retriever
from rag.types import Filters
from train.examples import QAExample, drop_examples

Domain = Literal["news", "wiki", "numbers", "finance"]
Role = Literal["ranker", "validation"]
READ_WINDOWS = 8  # sentences read per question in these passes: the most any choice reads
MAX_ANSWER_WORDS = 6
TATQA_TEXT_TAG = "from-text"  # a TAT-QA question answered from its text paragraphs
TABLE_SET = "tatqa-tables"  # the ranker's training questions answered from a table cell


@dataclass(frozen=True)
class QuestionSet:
    """Questions of one dataset and role, asked over one corpus."""

    name: str
    domain: Domain
    role: Role
    items: tuple[EvalItem, ...]
    within_sources: bool = False  # ask each question within its own sources (`filters.doc_ids`)


@dataclass(frozen=True)
class Corpus:
    """Documents indexed together, and the question sets asked over them."""

    name: str
    documents: tuple
    sets: tuple[QuestionSet, ...]


@dataclass(frozen=True)
class QuestionReading:
    """One question read by the pipeline: every read candidate, and the gold answer's quantities."""

    set_name: str
    domain: Domain
    role: Role
    item_id: str
    group: str  # the question's article or passage: calibration folds keep an article together
    question: Question
    reads: tuple[Read, ...]
    golds: tuple[Quantity, ...]

    @property
    def answerable(self) -> bool:
        return bool(self.golds)

    def reads_within(self, windows: int) -> list[Read]:
        """The reads a pass of `windows` sentences would make."""
        return [r for r in self.reads if r.window < windows]

    def rows(self, windows: int, kinds: KindModel) -> tuple[np.ndarray, np.ndarray, list[Read]]:
        """Ranking features and labels (the candidate states the gold value) at `windows` sentences."""
        reads = self.reads_within(windows)
        features = candidate_features(self.question, reads, kinds.probabilities(self.question.text))
        labels = np.array([self.is_right(r) for r in reads], dtype=bool)
        return features, labels, reads

    def is_right(self, read: Read) -> bool:
        quantity = answer_quantity(self.question, read.candidate.quantity)
        return any(quantities_match(gold, quantity) for gold in self.golds)


def training_corpora(data: DataDir, fold: Sequence[QAExample], limit: int | None = None) -> list[Corpus]:
    """The corpora of the ranker fold's training questions and of the validation questions."""
    fold_ids = {e.qid for e in fold}
    bbc = load_external("bbc", data.path(BBC))
    bbc_train = tuple(i for i in bbc.items if i.id in fold_ids)
    bbc_validation = tuple(i for i in bbc.items if i.id.startswith("bbc-val"))
    squad_train = load_external("squad", data.path(SQUAD_V1), split="train")
    squad_validation = load_external("squad", data.path(SQUAD_V1), split="validation")
    squad2 = load_external("squad2", data.path(SQUAD_V2_HALF), split="validation")
    # its reports with their tables: the text questions of the fold, and every training question
    # answered from a table cell (the reader is not trained on them, so all go to the ranker)
    tatqa = load_external("tatqa", data.path(TATQA_DEV), split="train")
    tatqa_tables = tuple(i for i in tatqa.items if TATQA_TEXT_TAG not in i.tags)
    drop = _drop_set([e for e in drop_examples(data) if e.qid in fold_ids])
    in_fold = lambda items: tuple(i for i in items if i.id in fold_ids)  # noqa: E731
    unanswerable = tuple(i for i in squad2.items if not i.answerable)
    corpora = [
        Corpus("bbc", bbc.documents, (QuestionSet("bbc-train", "news", "ranker", bbc_train),
                                       QuestionSet("bbc", "news", "validation", bbc_validation))),
        Corpus("squad", squad_train.documents, (
            QuestionSet("squad-train", "wiki", "ranker", in_fold(squad_train.items)),
            QuestionSet("squad", "wiki", "validation", squad_validation.items))),
        Corpus("squad2", squad2.documents, (QuestionSet("squad2", "wiki", "validation", unanswerable),)),
        Corpus("drop", drop.documents, (QuestionSet("drop-train", "numbers", "ranker", drop.items),)),
        Corpus("tatqa", tatqa.documents, (
            QuestionSet("tatqa-train", "finance", "ranker", in_fold(tatqa.items)),
            QuestionSet(TABLE_SET, "finance", "ranker", tatqa_tables, within_sources=True))),
    ]  # fmt: skip
    if limit:
        corpora = [_limited(c, limit) for c in corpora]
    return [c for c in corpora if any(s.items for s in c.sets)]


def _drop_set(examples: Sequence[QAExample]) -> ExternalSet:
    """DROP passages as documents, with the questions whose short answer the parser reads."""
    documents = {}
    items = []
    for example in examples:
        if example.group not in documents:
            documents[example.group] = document_from_text(example.group, example.context)
        short = len(example.answer_text.split()) <= MAX_ANSWER_WORDS
        if example.answerable and short and parse_quantity(example.answer_text) is not None:
            items.append(
                EvalItem(example.qid, example.question, example.answer_text, (example.group,), ("drop",))
            )
    return ExternalSet("squad", tuple(documents.values()), tuple(items))


def _limited(corpus: Corpus, limit: int) -> Corpus:
    """The first `limit` questions of each set, with only their documents and a few others."""
    sets = tuple(replace(s, items=s.items[:limit]) for s in corpus.sets)
    sources = {source for s in sets for item in s.items for source in item.sources}
    others = [d for d in corpus.documents if d.doc_id not in sources][:5]
    documents = tuple(d for d in corpus.documents if d.doc_id in sources) + tuple(others)
    return replace(corpus, documents=documents, sets=sets)


def read_corpora(
    corpora: Sequence[Corpus],
    reader: SpanReader,
    model: AnswerModel,
    embedder: Embedder,
    k: int = 5,
    on_question: Callable[[int, int], None] | None = None,
    on_embed: Callable[[int, int], None] | None = None,
) -> list[QuestionReading]:
    """Index each corpus in a temporary folder and read its questions with READ_WINDOWS sentences."""
    total = sum(len(s.items) for c in corpora for s in c.sets)
    readings: list[QuestionReading] = []
    model = replace(model, windows=READ_WINDOWS)
    for corpus in corpora:
        with tempfile.TemporaryDirectory(prefix="rag-train-read-") as folder:
            index_dir = Path(folder) / "index"
            location = StoreLocation("faiss", index_dir)
            update_store(
                location, embedder, files=list(corpus.documents), params=ChunkParams(), progress=on_embed
            )
            store = open_store(location, model=embedder.name, dim=embedder.dim)
            answerer = Answerer(Retriever(store, embedder), reader, model=model)
            for question_set in corpus.sets:
                for item in question_set.items:
                    scope = Filters(doc_ids=list(item.sources)) if question_set.within_sources else None
                    reading = answerer.read(item.question, k=k, filters=scope)
                    group = (item.sources or (item.id,))[0]
                    named = (question_set.name, question_set.domain, question_set.role, item.id, group)
                    readings.append(QuestionReading(*named, reading.question, tuple(reading.reads),
                                                    item.gold_quantities))  # fmt: skip
                    if on_question:
                        on_question(len(readings), total)
    return readings
