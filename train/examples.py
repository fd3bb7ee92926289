"""Training and validation questions from the public datasets, as (question, context, answer span).

Every reader of a file here returns `QAExample`s; `group` is the split key (an article title or a
context id), so all questions of one text land on one side of a split. A DROP or TAT-QA answer
labels a span only where it occurs exactly once in its passage: a computed answer, or one that
occurs twice, cannot say which words hold it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from eval.external import read_dataset_json
from index.errors import InputError
from train.splits import (
    DROP_CONTRAST,
    DROP_MASARENA,
    SQUAD_V1,
    SQUADSHIFTS,
    TATQA_DEV,
    DataDir,
    Role,
    squad_role,
    tatqa_heldout,
)

Source = Literal["squadshifts", "squad", "squad2", "drop", "tatqa"]
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class QAExample:
    """One question over one passage; answer_start is -1 for an unanswerable question."""

    qid: str
    source: Source
    group: str  # the split key: article title or context id
    question: str
    context: str
    answer_start: int
    answer_text: str

    @property
    def numeric(self) -> bool:
        """True when the gold answer holds a digit."""
        return bool(_DIGIT.search(self.answer_text))

    @property
    def answerable(self) -> bool:
        return self.answer_start >= 0


def training_examples(data: DataDir) -> list[QAExample]:
    """Every training question, in a fixed order: SQuADShifts, SQuAD train articles, DROP, TAT-QA."""
    examples = list(_squad_file(data.path(SQUADSHIFTS), "squadshifts"))
    examples += [e for e in _squad_file(data.path(SQUAD_V1), "squad") if squad_role(e.group) == "train"]
    examples += list(_drop_contrast(data.path(DROP_CONTRAST)))
    for name in DROP_MASARENA:
        examples += list(_drop_masarena(data.path(name)))
    examples += [e for e in _tatqa(data.path(TATQA_DEV)) if not tatqa_heldout(e.group)]
    return examples


def validation_examples(data: DataDir) -> list[QAExample]:
    """The SQuAD v1.1 questions about the 16 validation articles."""
    return [e for e in _squad_file(data.path(SQUAD_V1), "squad") if squad_role(e.group) == "validation"]


def split_of(example: QAExample) -> Role | Literal["heldout"]:
    """Where an example belongs, from its source and group alone."""
    if example.source in ("squad", "squad2"):
        return squad_role(example.group)
    if example.source == "tatqa" and tatqa_heldout(example.group):
        return "heldout"
    return "train"


def article_paragraphs(data: DataDir, relative: str) -> dict[str, list[str]]:
    """Paragraphs of each article of a SQuAD-format file, by title: hard negatives for training."""
    articles = read_dataset_json(data.path(relative))["data"]
    return {a["title"]: [p["context"] for p in a["paragraphs"]] for a in articles}


def _squad_file(path: Path, source: Source) -> Iterator[QAExample]:
    for article in read_dataset_json(path)["data"]:
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            for qa in paragraph["qas"]:
                answers = qa.get("answers") or []
                if qa.get("is_impossible") or not answers:
                    yield QAExample(qa["id"], source, article["title"], qa["question"], context, -1, "")
                    continue
                first = answers[0]
                yield QAExample(
                    qa["id"], source, article["title"], qa["question"], context,
                    int(first["answer_start"]), first["text"],
                )  # fmt: skip


MIN_BARE_NUMBER_CHARS = 3  # "2" found once in a DROP passage is as often a coincidence as the answer


def _unique_span(passage: str, answer: str) -> int:
    """The offset of answer in passage when it occurs there exactly once as whole words, else -1.

    A bare number shorter than MIN_BARE_NUMBER_CHARS labels nothing: DROP computes most small
    numbers (counts, differences), and one that happens to occur once is rarely where it came from.
    """
    answer = answer.strip()
    if not answer or (answer.isdigit() and len(answer) < MIN_BARE_NUMBER_CHARS):
        return -1
    found = [m.start() for m in re.finditer(rf"(?<!\w){re.escape(answer)}(?!\w)", passage)]
    return found[0] if len(found) == 1 else -1


def _drop_contrast(path: Path) -> Iterator[QAExample]:
    for passage_id, entry in read_dataset_json(path).items():
        passage = entry["passage"]
        for qa in entry["qa_pairs"]:
            answer = qa["answer"]
            spans = answer.get("spans") or []
            text = spans[0] if len(spans) == 1 else str(answer.get("number") or "").strip()
            start = _unique_span(passage, text)
            if start >= 0:
                yield QAExample(qa["query_id"], "drop", passage_id, qa["question"], passage, start, text)


_MASARENA = re.compile(r"^Passage:\s*(?P<passage>.*)\nQuestion:\s*(?P<question>.*?)\nAnswer:\s*$", re.S)


def _drop_masarena(path: Path) -> Iterator[QAExample]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"dataset file {path} cannot be read: {exc}") from exc
    for line in lines:
        if not line.strip():
            continue
        row = json.loads(line)
        match = _MASARENA.match(row["context"])
        if match is None:
            continue
        passage, question = match["passage"].strip(), match["question"].strip()
        text = str(row["ref_text"]).split("|")[0].strip()
        start = _unique_span(passage, text)
        if start >= 0:
            # the passage is the group: both files draw on DROP dev, and five passages are in both
            group = f"drop-{hash_text(passage)}"
            yield QAExample(f"masarena-{row['id']}", "drop", group, question, passage, start, text)


def hash_text(text: str) -> str:
    """A short stable id for a text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _tatqa(path: Path) -> Iterator[QAExample]:
    for context in read_dataset_json(path):
        uid = context["table"]["uid"]
        paragraphs = sorted(context["paragraphs"], key=lambda p: int(p["order"]))
        passage = "\n\n".join(p["text"].strip() for p in paragraphs)
        for qa in context["questions"]:
            answer = qa["answer"]
            if qa["answer_from"] != "text" or qa["answer_type"] != "span" or len(answer) != 1:
                continue
            text = str(answer[0]).strip()
            start = _unique_span(passage, text)
            if start >= 0:
                yield QAExample(qa["uid"], "tatqa", uid, qa["question"], passage, start, text)
