"""Sentence boundaries with character offsets, shared by the chunker and the answerer."""

from __future__ import annotations

import re

# Words that end with a period without ending the sentence ("Dec. 16-18", "U.S. dollars").
_ABBREVIATIONS = frozenset(
    (
        "mr mrs ms dr prof st jr sr co corp inc ltd no vs etc e.g i.e u.s u.k u.n "
        "jan feb mar apr jun jul aug sep sept oct nov dec gen gov sen rep approx"
    ).split()
)
_BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s+)|\n\s*\n")
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)\.$")


def _is_abbreviation(text: str, stop: int) -> bool:
    """True when the period ending at `stop` closes a known abbreviation or an initial."""
    match = _WORD_BEFORE.search(text, max(0, stop - 12), stop)
    if not match:
        return False
    word = match.group(1).lower()
    return word in _ABBREVIATIONS or len(word) == 1


def _next_starts_sentence(text: str, pos: int) -> bool:
    """True when the text after `pos` starts like a new sentence (capital, digit or quote)."""
    rest = text[pos:].lstrip()
    return not rest or rest[0].isupper() or rest[0].isdigit() or rest[0] in "\"'“‘("


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Split text into (start, end) spans of sentences; spans hold no outer whitespace."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        stop = match.end()
        is_paragraph = "\n" in match.group(0)
        if not is_paragraph:
            if text[match.start()] == "." and _is_abbreviation(text, match.start() + 1):
                continue
            if not _next_starts_sentence(text, stop):
                continue
        _append_span(text, start, stop, spans)
        start = stop
    _append_span(text, start, len(text), spans)
    return _split_lines_in_headers(text, spans)


def _append_span(text: str, start: int, stop: int, spans: list[tuple[int, int]]) -> None:
    """Append text[start:stop] trimmed of whitespace, if anything is left."""
    while start < stop and text[start].isspace():
        start += 1
    while stop > start and text[stop - 1].isspace():
        stop -= 1
    if stop > start:
        spans.append((start, stop))


def _split_lines_in_headers(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Split spans at single newlines too: titles and captions sit on lines of their own."""
    result: list[tuple[int, int]] = []
    for start, stop in spans:
        offset = start
        for line in text[start:stop].split("\n"):
            _append_span(text, offset, offset + len(line), result)
            offset += len(line) + 1
    return result
