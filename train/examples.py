"""Training and validation questions from the public datasets, as (question, context, answer span).

Every reader of a file here returns `QAExample`s; `group` is the split key (an article title or a
context id), so all questions of one text land on one side of a split. A DROP or TAT-QA answer
labels a span only where it occurs exactly once in its passage: a computed answer, or one that
occurs twice, cannot say which words hold it.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from index.errors import InputError
from qadata.external import bbc_items, read_dataset_json
from qadata.splits import (
    BBC,
    BBC_TRAIN,
    BBC_VALIDATION,
    DROP_CONTRAST,
    DROP_FULL,
    DROP_MASARENA,
    REALTIMEQA,
    SQUAD_V1,
    SQUADSHIFTS,
    TATQA_DEV,
    VALIDATION_TITLES,
    DataDir,
    Role,
    squad_role,
    tatqa_heldout,
)

Source = Literal["squadshifts", "squad", "squad2", "drop", "tatqa", "realtimeqa", "bbc"]
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
    """Every training question, in a fixed order: SQuADShifts, SQuAD train articles, DROP (less any
    passage taken from a validation article), TAT-QA, RealTime QA, BBC business news."""
    examples = list(_squad_file(data.path(SQUADSHIFTS), "squadshifts"))
    examples += [e for e in _squad_file(data.path(SQUAD_V1), "squad") if squad_role(e.group) == "train"]
    validation_text = validation_shingles(data)
    examples += [e for e in drop_examples(data) if not leaks_into(e.context, validation_text)]
    examples += [e for e in _tatqa(data.path(TATQA_DEV)) if not tatqa_heldout(e.group)]
    examples += list(_squad_file(data.path(REALTIMEQA), "realtimeqa"))
    examples += bbc_examples(data, BBC_TRAIN)
    return examples


def drop_examples(data: DataDir) -> list[QAExample]:
    """DROP's span answers: the contrast sets, then DROP dev in full, then the MASArena samples,
    each (passage, question) once (every MASArena row is also in the full file)."""
    examples = list(_drop_contrast(data.path(DROP_CONTRAST)))
    seen: set[tuple[str, str]] = set()
    for path in (data.path(DROP_FULL), *(data.path(name) for name in DROP_MASARENA)):
        for example in _drop_lines(path):
            key = (example.group, example.question)
            if key not in seen:
                seen.add(key)
                examples.append(example)
    return examples


SHINGLE_WORDS = 10  # a passage that shares this many words in a row with validation text came from it
LEAK_SHARE = 0.2  # the share of a passage's shingles found in validation text that marks a copy


def validation_shingles(data: DataDir) -> frozenset[str]:
    """Every run of SHINGLE_WORDS words in the validation articles' text."""
    articles = read_dataset_json(data.path(SQUAD_V1))["data"]
    return frozenset(
        shingle
        for article in articles
        if article["title"] in VALIDATION_TITLES
        for paragraph in article["paragraphs"]
        for shingle in _shingles(paragraph["context"])
    )


def leaks_into(passage: str, shingles: frozenset[str]) -> bool:
    """True when a passage is largely copied from validation text (census boilerplate is not)."""
    own = _shingles(passage)
    return bool(own) and len(own & shingles) >= LEAK_SHARE * len(own)


def _shingles(text: str) -> set[str]:
    words = re.findall(r"\w+", text.lower())
    return {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}


def validation_examples(data: DataDir) -> list[QAExample]:
    """The SQuAD v1.1 questions about the 16 validation articles."""
    return [e for e in _squad_file(data.path(SQUAD_V1), "squad") if squad_role(e.group) == "validation"]


def bbc_examples(data: DataDir, relative: str) -> list[QAExample]:
    """The BBC business questions of one file, each over its whole article (the first source); an
    article's group is a hash of its text, so the set's duplicate articles share a group."""
    texts: dict[str, str] = {}
    examples = []
    for item in bbc_items(data.path(relative)):
        doc_id = item.sources[0]
        if doc_id not in texts:
            texts[doc_id] = _read_text(data.path(f"{BBC}/corpus/{doc_id}.txt"))
        text = texts[doc_id]
        group = f"bbc-{hash_text(text)}"
        start = _answer_in_article(text, item.answer) if item.answer is not None else -1
        if item.answer is not None and start < 0:
            continue
        examples.append(QAExample(item.id, "bbc", group, item.question, text, start, item.answer or ""))
    return examples


def bbc_validation_examples(data: DataDir) -> list[QAExample]:
    """The BBC business questions of validation.jsonl."""
    return bbc_examples(data, BBC_VALIDATION)


def _answer_in_article(text: str, answer: str) -> int:
    """The first offset of the verbatim answer in its article (the set's checker made it so)."""
    return text.find(answer)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"dataset file {path} cannot be read: {exc}") from exc


def split_of(example: QAExample) -> Role | Literal["heldout"]:
    """Where an example belongs, from its source and group alone."""
    if example.source in ("squad", "squad2"):
        return squad_role(example.group)
    if example.source == "bbc" and example.qid.startswith("bbc-val"):
        return "validation"
    if example.source == "tatqa" and tatqa_heldout(example.group):
        return "heldout"
    return "train"


def article_paragraphs(data: DataDir, relative: str) -> dict[str, list[str]]:
    """Paragraphs of each article of a SQuAD-format file, by title: hard negatives for training."""
    articles = read_dataset_json(data.path(relative))["data"]
    return {a["title"]: [p["context"] for p in a["paragraphs"]] for a in articles}


_TAG = re.compile(r"<[^>]+>")


def _squad_file(path: Path, source: Source) -> Iterator[QAExample]:
    for article in read_dataset_json(path)["data"]:
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            for qa in paragraph["qas"]:
                if "<" in qa["question"]:  # RealTime QA's quiz questions keep their links' HTML
                    qa = {**qa, "question": " ".join(html.unescape(_TAG.sub("", qa["question"])).split())}
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


def _drop_lines(path: Path) -> Iterator[QAExample]:
    """DROP in simple-evals' JSON lines ("Passage: …\nQuestion: …\nAnswer:"), plain or gzipped."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        lines = raw.decode("utf-8").splitlines()
    except (OSError, UnicodeDecodeError, gzip.BadGzipFile) as exc:
        raise InputError(f"dataset file {path} cannot be read: {exc}") from exc
    for number, line in enumerate(lines):
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
            # the passage is the group: the files draw on DROP dev, and passages recur across them
            group = f"drop-{hash_text(passage)}"
            qid = f"masarena-{row['id']}" if "id" in row else f"dropdev-{number}"
            yield QAExample(qid, "drop", group, question, passage, start, text)


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
