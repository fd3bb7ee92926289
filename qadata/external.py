"""Public QA datasets as eval sets: a corpus of Documents plus numeric questions about it.

- squad (v1.1) and squad2: one document per article (title, then its paragraphs separated by
  blank lines). Questions whose first gold answer holds a quantity (`parse_quantities`) and is
  short (at most MAX_ANSWER_WORDS words: a longer span is an explanation, not a number); the
  other gold answers that hold a quantity are accepted too. squad2 adds the unanswerable questions
  whose plausible answer holds a quantity: near misses the answerer should abstain on.
- tatqa: one document per hybrid context: its text paragraphs with its table linearised as
  ingest linearises any table (`index.tables`: one line per row, "Revenue | 2019: 1,234 | ...",
  first row(s) the column headers) and kept in `Document.tables`. TAT-QA does not say where the
  table stood in its report, so it goes after the first paragraph that introduces a table ("The
  following table ... (in thousands):", "... is as follows:"), where a report prints it and where
  ingest reads its caption and unit; with no such paragraph, after the last. Its single-span questions whose
  short answer holds a quantity are asked, each tagged by where TAT-QA says the answer is:
  "from-text", "from-table" or "from-table-text", so the report shows them apart. A span written
  without its scale ("$539" with scale "million") gets the scale word appended; where the context
  states that scale nowhere (TAT-QA keeps a report's table and paragraphs, not the page header
  that gave the unit), the figure as written is accepted too: no source there supports the scale.
- bbc: the BBC business news set (a folder with corpus/ and train.jsonl / validation.jsonl, in the
  format of eval/questions.jsonl plus the answer's `sentence`): every one of its articles is a
  document (the first line is the headline), so each question is asked over the whole collection;
  `--split train|validation` reads that file's questions, no split reads both.
- split: `qadata.splits` decides by title (SQuAD) or context (TAT-QA) which questions are
  training, validation or held out; `--split` asks only those, over the whole file's documents.
- limit N: N questions spread over the documents (the first question of each document, then
  the second of each, ..., in file order), so a small N still samples every article; the corpus
  is then the documents those questions come from plus as many others (at least
  MIN_DISTRACTORS, first in file order) as distractors, where the dataset has them. Without a
  limit every question is asked and every document indexed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from index.clean import clean_text
from index.errors import InputError, UnsupportedFileError
from index.ingest import document_from_text
from index.tables import find_units, leading_header_rows, linearise, make_table, place_tables
from index.types import Document
from qadata.questions import UNANSWERABLE, EvalItem, load_eval_set
from qadata.splits import Split, split_of_group
from rag.cells import cell_quantities, layout
from rag.quantities import Quantity, format_quantity, parse_quantities, parse_quantity, parse_table_unit

DatasetName = Literal["squad", "squad2", "tatqa", "bbc"]
DATASETS: tuple[DatasetName, ...] = ("squad", "squad2", "tatqa", "bbc")
MIN_DISTRACTORS = 5
MAX_ANSWER_WORDS = 6  # longer gold answers are explanations that happen to hold a number
TATQA_SOURCES = ("text", "table", "table-text")  # TAT-QA's answer_from values
_SCALE_WORDS = {"thousand": "thousand", "million": "million", "billion": "billion"}
_SCALE_FACTORS = {"thousand": 1e3, "million": 1e6, "billion": 1e9}
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9_-]+")
_INTRODUCES = re.compile(r"\b(?:following\s+table|tables?\s+below|(?:is|are)\s+as\s+follows)\b", re.I)


@dataclass(frozen=True)
class ExternalSet:
    """A dataset turned into documents to index and eval items that cite them."""

    name: DatasetName
    documents: tuple[Document, ...]
    items: tuple[EvalItem, ...]


@dataclass(frozen=True)
class _Group:
    raw_id: str
    title: str | None
    text: str
    items: tuple[EvalItem, ...]
    key: str = ""  # the split key: a SQuAD article title, a TAT-QA table uid
    table: tuple[tuple[str, ...], ...] = ()  # a TAT-QA table's rows, header row(s) first
    tail: str = ""  # the text after the table (TAT-QA paragraphs after the one introducing it)


def load_external(
    name: DatasetName,
    path: Path,
    limit: int | None = None,
    split: Split | None = None,
    *,
    tables: bool = True,
) -> ExternalSet:
    """Read a dataset file and turn it into an ExternalSet of at most `limit` questions.

    With `split`, only the questions of that split are asked (`qadata.splits` decides it by article
    title or context id), over every document of the file: retrieval stays open over all of them.
    `tables=False` leaves TAT-QA's tables out of its documents (their text paragraphs only)."""
    if name not in DATASETS:
        raise InputError(f"unknown dataset {name!r}; use one of {', '.join(DATASETS)}")
    if limit is not None and limit < 1:
        raise InputError(f"--limit must be at least 1, got {limit}")
    if name == "bbc":
        return _bbc_set(path, limit, split)
    data = read_dataset_json(path)
    try:
        groups = list(_tatqa_groups(data) if name == "tatqa" else _squad_groups(data, name))
    except (KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{path} does not look like a {name} file (missing or odd field {exc})") from exc
    if split is not None:
        groups = [replace(g, items=g.items if split_of_group(name, g.key) == split else ()) for g in groups]
    if not any(group.items for group in groups):
        raise InputError(f"{path} holds no {name} question whose gold answer carries a number")
    chosen, items = _select(groups, limit)
    documents = _documents(chosen, tables)
    if name == "tatqa":
        money = {document.doc_id: _money_cells(document) for document in documents}
        items = tuple(_with_cell_currency(item, money.get(item.sources[0], ())) for item in items)
    kept = {document.doc_id for document in documents}
    return ExternalSet(name, documents, tuple(i for i in items if set(i.sources) <= kept))


BBC_SPLIT_FILES = {"train": "train.jsonl", "validation": "validation.jsonl"}


def _bbc_set(path: Path, limit: int | None, split: Split | None) -> ExternalSet:
    """The BBC business set: its questions (one split's file, or both) over all of its articles."""
    folder = path if path.is_dir() else path.parent
    if split == "heldout":
        raise InputError("the bbc set has no held-out split here (its test questions are hidden); "
                         "use --split train or --split validation")  # fmt: skip
    if path.is_dir():
        names = [BBC_SPLIT_FILES[split]] if split else list(BBC_SPLIT_FILES.values())
        files = [folder / name for name in names]
    else:
        files = [path]
    items = [item for file in files for item in bbc_items(file)]
    groups = bbc_documents(folder / "corpus")
    by_source: dict[str, list[EvalItem]] = {}
    for item in items:
        by_source.setdefault(item.sources[0], []).append(item)
    groups = [replace(g, items=tuple(by_source.get(g.raw_id, ()))) for g in groups]
    if not any(g.items for g in groups):
        raise InputError(f"{path} holds no bbc question about an article of {folder / 'corpus'}")
    if limit is None:
        chosen, picked = groups, tuple(items)
    else:
        chosen, picked = _select(groups, limit)
    documents = tuple(document_from_text(g.raw_id, g.text, title=g.title) for g in chosen)
    return ExternalSet("bbc", documents, picked)


def bbc_documents(corpus: Path) -> list[_Group]:
    """Every article of the BBC corpus folder, as (doc_id, headline, text), in file order."""
    files = sorted(corpus.glob("*.txt"))
    if not files:
        raise InputError(f"the bbc corpus folder {corpus} holds no .txt article")
    groups = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"bbc article {file} cannot be read as UTF-8 text: {exc}") from exc
        headline = text.strip().splitlines()[0].strip() if text.strip() else file.stem
        groups.append(_Group(file.stem, headline, text, ()))
    return groups


def bbc_items(path: Path) -> list[EvalItem]:
    """The questions of one BBC JSONL file (the eval-set format, plus the answer's `sentence`)."""
    return load_eval_set(path, ignore=("sentence",))


def _documents(groups: list[_Group], tables: bool = True) -> tuple[Document, ...]:
    """Clean each group's text as ingest would; a text cleaning leaves empty is left out."""
    documents = []
    for group in groups:
        whole = f"{group.text}\n\n{group.tail}" if group.tail else group.text
        try:
            document = document_from_text(group.raw_id, whole, title=group.title)
        except UnsupportedFileError:
            continue
        if tables and group.table:
            try:  # the table after its introduction; a head too short to read as text puts it last
                head = document_from_text(group.raw_id, group.text, title=group.title)
                document = with_table(head, group.table, group.tail)
            except UnsupportedFileError:
                document = with_table(document, group.table)
        documents.append(document)
    return tuple(documents)


def with_table(document: Document, rows: tuple[tuple[str, ...], ...], tail: str = "") -> Document:
    """Put a table, linearised as ingest linearises tables, after a document's text (and before
    `tail`, cleaned as ingest cleans text), in its text and tables."""
    table = make_table(rows, leading_header_rows(rows))
    after = clean_text(tail) if tail.strip() else ""
    if table is None:
        return replace(document, text=f"{document.text}\n\n{after}") if after else document
    linear = linearise(table)
    text = document.text + "\n\n" + "\n".join(linear.lines) + (f"\n\n{after}" if after else "")
    fingerprint = json.dumps([document.content_hash, rows, after], ensure_ascii=False).encode("utf-8")
    return replace(
        document,
        text=text,
        tables=place_tables(text, [linear]),
        content_hash=hashlib.sha256(fingerprint).hexdigest(),
    )


def read_dataset_json(path: Path) -> Any:
    """A dataset file's JSON, or InputError naming the file and what is wrong with it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"dataset file {path} does not exist") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"dataset file {path} cannot be read as JSON: {exc}") from exc


def _squad_groups(data: dict[str, Any], name: DatasetName) -> Iterator[_Group]:
    for number, article in enumerate(data["data"]):
        title = article["title"].replace("_", " ")
        doc_id = f"{name}-{number:03d}-{_UNSAFE_ID.sub('_', article['title'])[:60]}"
        contexts = [paragraph["context"].strip() for paragraph in article["paragraphs"]]
        items = [
            item
            for paragraph in article["paragraphs"]
            for qa in paragraph["qas"]
            if (item := _squad_item(qa, doc_id, name)) is not None
        ]
        yield _Group(doc_id, title, "\n\n".join([title, *contexts]), tuple(items), article["title"])


def _squad_item(qa: dict[str, Any], doc_id: str, name: DatasetName) -> EvalItem | None:
    if qa.get("is_impossible"):
        plausible = [a["text"] for a in qa.get("plausible_answers", [])]
        if name != "squad2" or not plausible or not _is_numeric_answer(plausible[0]):
            return None
        return EvalItem(qa["id"], qa["question"], None, (doc_id,), (name, UNANSWERABLE))
    golds = list(dict.fromkeys(a["text"].strip() for a in qa["answers"]))
    if not golds or not _is_numeric_answer(golds[0]):
        return None
    return _numeric_item(qa["id"], qa["question"], golds, doc_id, name)


def _is_numeric_answer(text: str) -> bool:
    """A short answer (at most MAX_ANSWER_WORDS words) in which the parser finds a quantity."""
    return len(text.split()) <= MAX_ANSWER_WORDS and bool(parse_quantities(text))


def _numeric_item(
    item_id: str, question: str, golds: list[str], doc_id: str, name: DatasetName
) -> EvalItem | None:
    gold = parse_quantity(golds[0])
    if gold is None:
        return None
    others = tuple(g for g in golds[1:] if parse_quantity(g) is not None)
    return EvalItem(item_id, question, golds[0], (doc_id,), (name, gold.kind), others)


def _tatqa_groups(data: list[dict[str, Any]]) -> Iterator[_Group]:
    for context in data:
        paragraphs = sorted(context["paragraphs"], key=lambda p: int(p["order"]))
        doc_id = f"tatqa-{_UNSAFE_ID.sub('_', context['table']['uid'])}"
        texts = [p["text"].strip() for p in paragraphs]
        cut = next((i + 1 for i, text in enumerate(texts) if _introduces_table(text)), len(texts))
        table = tuple(tuple(str(cell) for cell in row) for row in context["table"].get("table") or ())
        stated = _stated_scales([*texts, *(cell for row in table for cell in row)])
        items = [
            item
            for qa in sorted(context["questions"], key=lambda q: int(q["order"]))
            if (item := _tatqa_item(qa, doc_id, stated)) is not None
        ]
        yield _Group(doc_id, None, "\n\n".join(texts[:cut]), tuple(items), context["table"]["uid"],
                     table, "\n\n".join(texts[cut:]))  # fmt: skip


def _introduces_table(paragraph: str) -> bool:
    """A paragraph that a report's table follows: it ends with a colon or announces the table."""
    return paragraph.rstrip().endswith(":") or bool(_INTRODUCES.search(paragraph))


def _tatqa_item(qa: dict[str, Any], doc_id: str, stated: frozenset[str]) -> EvalItem | None:
    """A single-span numeric question; `stated` are the scales its context states (`_stated_scales`)."""
    answer = qa["answer"]
    if qa["answer_from"] not in TATQA_SOURCES or qa["answer_type"] != "span" or len(answer) != 1:
        return None
    gold = str(answer[0]).strip()
    if not _is_numeric_answer(gold):
        return None
    scale = qa.get("scale") or ""
    golds = [_with_scale(gold, scale)]
    if golds[0] != gold and scale not in stated and (scale == "percent" or scale in _SCALE_FACTORS):
        golds.append(gold)  # its report's scale is not in the context: the figure as written is right too
    item = _numeric_item(qa["uid"], qa["question"], golds, doc_id, "tatqa")
    return replace(item, tags=(*item.tags, f"from-{qa['answer_from']}")) if item else None


def _with_scale(gold: str, scale: str) -> str:
    """Put back a scale the span leaves out: "$539" at scale million -> "$539 million"."""
    lowered = gold.lower()
    if scale == "percent" and "%" not in gold and "percent" not in lowered:
        return f"{gold}%"
    word = _SCALE_WORDS.get(scale)
    if word and word not in lowered and not re.search(r"\d\s*[kmb]n?\b", lowered):
        return f"{gold} {word}"
    return gold


def _money_cells(document: Document) -> tuple[Quantity, ...]:
    """The money value of every cell of a document's tables, read in its unit."""
    if not document.tables:
        return ()
    grid = layout(document)
    return tuple(
        quantity
        for row in grid.rows.values()
        for quantity, _ in cell_quantities(document, row)
        if quantity.kind == "money" and quantity.value_end is None
    )


def _with_cell_currency(item: EvalItem, money: Sequence[Quantity]) -> EvalItem:
    """A TAT-QA answer span leaves out the currency its table's header gives ("27.0" under "£m",
    scale million): the cell's reading in its table's unit (`money`: its document's money cells) is
    accepted too, where it has the value of a gold reading (the scaled answer, or the figure as
    written where no scale is stated) exactly: the value is TAT-QA's own, only the currency comes
    from the table."""
    golds = [parse_quantity(text) for text in (item.answer or "", *item.alternatives)]
    values = [g.value for g in golds if g is not None and g.kind == "number" and not g.unit]
    found = [
        format_quantity(quantity)
        for quantity in money
        if any(abs(quantity.value - value) <= 1e-9 * max(1.0, abs(value)) for value in values)
    ]
    extra = tuple(text for text in dict.fromkeys(found) if text not in item.alternatives)
    return replace(item, alternatives=(*item.alternatives, *extra)) if extra else item


def _stated_scales(texts: Sequence[str]) -> frozenset[str]:
    """The scales a context's paragraphs and cells state: "percent" for a percent sign, and
    "thousand", "million" or "billion" for a unit phrase of that scale ("(in thousands)", "$'000")."""
    stated = {"percent"} if any("%" in text or "per cent" in text.lower() for text in texts) else set()
    factors = {parse_table_unit(unit).scale for text in texts for unit in find_units(text)}
    stated |= {name for name, factor in _SCALE_FACTORS.items() if factor in factors}
    return frozenset(stated)


def _select(groups: list[_Group], limit: int | None) -> tuple[list[_Group], tuple[EvalItem, ...]]:
    """`limit` questions spread over the documents, their documents, and distractor documents."""
    if limit is None:
        return groups, tuple(item for group in groups for item in group.items)
    picked: list[tuple[int, int]] = []  # (group, position): one question per document per round
    for position in range(max(len(group.items) for group in groups)):
        for index, group in enumerate(groups):
            if position < len(group.items) and len(picked) < limit:
                picked.append((index, position))
    needed = sorted({index for index, _ in picked})
    others = [i for i in range(len(groups)) if i not in set(needed)]
    distractors = others[: max(MIN_DISTRACTORS, len(needed))]
    items = tuple(groups[index].items[position] for index, position in sorted(picked))
    return [groups[i] for i in sorted([*needed, *distractors])], items
