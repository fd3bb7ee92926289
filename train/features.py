"""Training windows: a question with a few sentences of text, and where its answer lies in them.

The answerer reads a candidate's sentence with the one before it, so training does the same: a
positive window is the answer's sentence with its predecessor (and sometimes its successor); a
negative window is another sentence of the same article with its predecessor, labelled "no
answer here" ([CLS]). For a question whose answer holds a digit the negative is a sentence that
holds a number too: the reader must learn which number, not whether there is one.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from index.sentences import split_sentences
from train.examples import QAExample

_DIGIT = re.compile(r"\d")
NEXT_SENTENCE_SHARE = 0.3  # positive windows that also take the sentence after the answer's
PREVIOUS_SENTENCE_SHARE = 0.8  # positive windows that take the sentence before it (most do at inference)


@dataclass(frozen=True)
class Window:
    """A question and a window of text; answer_start/end are character offsets, or -1 for none."""

    question: str
    text: str
    answer_start: int
    answer_end: int
    qid: str


def windows_of(
    example: QAExample, article: Sequence[str], rng: random.Random, negatives: int = 1
) -> list[Window]:
    """A positive window and `negatives` negative ones for an answerable example.

    `article` holds the sentence windows of the example's article (`article_windows`)."""
    spans = split_sentences(example.context)
    answer_end = example.answer_start + len(example.answer_text)
    first = _sentence_at(spans, example.answer_start)
    last = _sentence_at(spans, max(example.answer_start, answer_end - 1))
    if first is None or last is None:
        return []
    if rng.random() < PREVIOUS_SENTENCE_SHARE:
        first = max(0, first - 1)
    if rng.random() < NEXT_SENTENCE_SHARE:
        last = min(len(spans) - 1, last + 1)
    begin, stop = spans[first][0], spans[last][1]
    windows = [
        Window(example.question, example.context[begin:stop], example.answer_start - begin,
               answer_end - begin, example.qid)
    ]  # fmt: skip
    pool = _negative_pool(example, article)
    wanted = [w for w in pool if _DIGIT.search(w)] if example.numeric else pool
    for text in rng.sample(wanted or pool, min(negatives, len(wanted or pool))):
        windows.append(Window(example.question, text, -1, -1, example.qid))
    return windows


def _sentence_at(spans: list[tuple[int, int]], offset: int) -> int | None:
    for i, (start, end) in enumerate(spans):
        if start <= offset < end or offset < start:
            return i
    return None


def _negative_pool(example: QAExample, article: Sequence[str]) -> list[str]:
    """The article's sentence windows that lack the answer."""
    return [text for text in article if example.answer_text not in text]


def article_windows(paragraphs: Sequence[str]) -> list[str]:
    """Every sentence of an article with its predecessor: the windows negatives are drawn from."""
    windows = []
    for paragraph in paragraphs:
        spans = split_sentences(paragraph)
        windows += [paragraph[spans[max(0, i - 1)][0] : end] for i, (_, end) in enumerate(spans)]
    return windows
