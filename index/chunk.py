"""Token-bounded, sentence-aware chunking of cleaned documents."""

from __future__ import annotations

from index.sentences import split_sentences
from index.tokenize import get_encoding
from index.types import Chunk, Document


def chunk_document(document: Document, max_tokens: int = 192, overlap: int = 32) -> list[Chunk]:
    """Cut a document into chunks of whole sentences, each at most max_tokens tokens.

    Consecutive chunks share trailing sentences worth up to `overlap` tokens, so a fact
    that straddles a boundary is whole in one of them. A sentence longer than max_tokens
    is cut at token boundaries on its own. A table's row line is one sentence, so a chunk
    holds whole rows (only a row longer than max_tokens is cut).
    """
    if max_tokens < 16:
        raise ValueError(f"chunk size of {max_tokens} tokens is too small; use 16 or more")
    if not 0 <= overlap < max_tokens // 2:
        raise ValueError(f"overlap of {overlap} tokens must be between 0 and {max_tokens // 2 - 1}")
    pieces = _sentence_pieces(document.text, _row_sentences(document), max_tokens)
    groups = _group_pieces(pieces, max_tokens, overlap)
    chunks = []
    for ordinal, group in enumerate(groups):
        start, end = group[0][0], group[-1][1]
        text = document.text[start:end]
        chunks.append(
            Chunk(
                doc_id=document.doc_id,
                chunk_id=f"{document.doc_id}#{ordinal}",
                text=text,
                start=start,
                end=end,
                n_tokens=_count(text),
            )
        )
    return chunks


def _count(text: str) -> int:
    return len(get_encoding().encode(text, disallowed_special=()))


def _row_sentences(document: Document) -> list[tuple[int, int]]:
    """Sentence spans of a document, where every line of a table is one whole sentence."""
    spans = split_sentences(document.text)
    lines = _table_lines(document)
    if not lines:
        return spans
    merged: list[tuple[int, int]] = []
    at = 0
    for start, end in spans:
        while at < len(lines) and lines[at][1] <= start:
            at += 1
        inside = at < len(lines) and lines[at][0] <= start and end <= lines[at][1]
        span = lines[at] if inside else (start, end)
        if not merged or merged[-1] != span:
            merged.append(span)
    return merged


def _table_lines(document: Document) -> list[tuple[int, int]]:
    """(start, end) of every line of every table, in text order."""
    lines = []
    for table in document.tables:
        offset = table.start
        for line in document.text[table.start : table.end].split("\n"):
            lines.append((offset, offset + len(line)))
            offset += len(line) + 1
    return lines


def _sentence_pieces(
    text: str, sentences: list[tuple[int, int]], max_tokens: int
) -> list[tuple[int, int, int]]:
    """Sentences as (start, end, tokens); over-long sentences cut into token-sized pieces."""
    pieces = []
    for start, end in sentences:
        n_tokens = _count(text[start:end])
        if n_tokens <= max_tokens:
            pieces.append((start, end, n_tokens))
        else:
            pieces.extend(_cut_long_sentence(text, start, end, max_tokens))
    return pieces


def _cut_long_sentence(text: str, start: int, end: int, max_tokens: int) -> list[tuple[int, int, int]]:
    """Cut text[start:end] at token boundaries into pieces of at most max_tokens tokens."""
    encoding = get_encoding()
    tokens = encoding.encode(text[start:end], disallowed_special=())
    _, offsets = encoding.decode_with_offsets(tokens)
    pieces = []
    for first in range(0, len(tokens), max_tokens):
        last = min(first + max_tokens, len(tokens))
        piece_start = start + offsets[first]
        piece_end = start + offsets[last] if last < len(tokens) else end
        pieces.append((piece_start, piece_end, last - first))
    return pieces


def _group_pieces(
    pieces: list[tuple[int, int, int]], max_tokens: int, overlap: int
) -> list[list[tuple[int, int, int]]]:
    """Greedily pack pieces into groups under max_tokens, carrying `overlap` tokens over."""
    groups: list[list[tuple[int, int, int]]] = []
    current: list[tuple[int, int, int]] = []
    total = 0
    for piece in pieces:
        # joining adds a token or two of whitespace: keep a small margin
        if current and total + piece[2] + len(current) > max_tokens:
            groups.append(current)
            current = _overlap_tail(current, overlap, max_tokens - piece[2])
            total = sum(p[2] for p in current)
        current.append(piece)
        total += piece[2]
    if current:
        groups.append(current)
    return groups


def _overlap_tail(group: list[tuple[int, int, int]], overlap: int, room: int) -> list[tuple[int, int, int]]:
    """The trailing pieces of a group worth at most `overlap` tokens (and fitting in `room`)."""
    tail: list[tuple[int, int, int]] = []
    budget = min(overlap, room - len(group) - 1)
    for piece in reversed(group[1:]):  # never carry the whole group: the chunker must advance
        if piece[2] > budget:
            break
        tail.insert(0, piece)
        budget -= piece[2]
    return tail
