"""The words BM25 indexes: lower-cased, English stop words left out, stemmed (as bm25s does).

The FAISS store's BM25 (index/stores/faiss/bm25.py) and the question analysis of rag/ share them."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # PyStemmer ships no type information; the name documents what is held
    import Stemmer

# bm25s's default pattern drops one-character tokens; we keep single digits ("$2 billion").
_TOKEN = re.compile(r"(?u)\b\w\w+\b|\b\d\b")


@lru_cache(maxsize=1)
def _stemmer_and_stopwords() -> tuple[Stemmer.Stemmer, frozenset[str]]:
    import Stemmer
    from bm25s.stopwords import STOPWORDS_EN

    return Stemmer.Stemmer("english"), frozenset(STOPWORDS_EN)


def lexical_tokens(text: str) -> list[str]:
    """Lower-cased, stemmed word tokens of text without English stop words."""
    return stemmer_and_words(text)[1]


def lexical_words(text: str) -> list[str]:
    """The lower-cased words of text that BM25 indexes (stop words left out), before stemming."""
    return stemmer_and_words(text)[0]


def stemmer_and_words(text: str) -> tuple[list[str], list[str]]:
    """(words, their stems) of text, without English stop words."""
    stemmer, stopwords = _stemmer_and_stopwords()
    words = [w for w in _TOKEN.findall(text.lower()) if w not in stopwords]
    return words, stemmer.stemWords(words)
