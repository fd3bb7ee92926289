"""The extractive answerer: pick the best-supported quantity, with its time and its citation."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from index.embed import Embedder
from index.errors import QuestionError
from index.lexical import lexical_tokens
from rag.cache import VectorCache
from rag.candidates import (
    Candidate,
    date_role_fit,
    document_terms,
    extract_candidates,
    kind_fit,
    missing_names,
    proximity,
    target_mismatch,
    term_coverage,
    token_set,
    totality,
    unit_fit,
    unknown_share,
)
from rag.ground import check_grounded
from rag.quantities import format_quantity, quantities_match, year_of
from rag.question import Question, analyse, named_years
from rag.retrieve import Retriever
from rag.types import Answer, Citation, Filters, Reported


@dataclass(frozen=True)
class Weights:
    """How the features of a candidate add up to its score (chosen on the eval set)."""

    semantic: float = 0.30
    local: float = 0.20  # similarity of the question and the words around the number itself
    coverage: float = 0.25
    proximity: float = 0.25
    retrieval: float = 0.10
    kind: float = 0.10
    year_match: float = 0.15
    year_conflict: float = 0.30
    missing_name: float = 0.15  # a name of the question absent from the candidate's passage
    target: float = 0.15  # a goal or forecast when the question asks for a fact
    focus: float = 0.20  # the question's rarest indexed word is absent from the candidate's passage
    totality: float = 0.10  # a stated total when one is asked for; an increment when it is not
    unknown: float = 0.20  # question words the index has never seen: the fact is likely absent
    role: float = 0.15  # a date that starts (or ends) a period when the question asks for the start (end)
    margin: float = 1.0  # a clear lead over the best different number: support beyond the score
    threshold: float = 0.45  # below this the answerer abstains (calibrated on eval/questions.jsonl)
    year_ratio: float = 0.6  # a mention about the asked year may score this share of the best


DEFAULT_WEIGHTS = Weights()
MARGIN_CAP = 0.3  # a lead beyond this adds nothing more
SEMANTIC_CANDIDATES = 12  # candidates, best by their word features, whose passages are embedded
SENTENCE_CACHE_SIZE = 40_000  # sentence and clause vectors (384 floats each: ~60 MB at most)
MAX_QUESTION_CHARS = 2000
EMBED_RUN = 6  # texts per embedding batch: several batches run on the cores at once


class Answerer:
    """Answers questions from one index version; share one per process."""

    def __init__(
        self,
        retriever: Retriever,
        weights: Weights = DEFAULT_WEIGHTS,
        time_aware: bool = True,
        sentence_cache: VectorCache | None = None,
    ) -> None:
        self.retriever = retriever
        self.weights = weights
        self.time_aware = time_aware
        self.sentence_cache = (
            sentence_cache if sentence_cache is not None else VectorCache(SENTENCE_CACHE_SIZE)
        )

    @property
    def embedder(self) -> Embedder:
        return self.retriever.embedder

    def ask(self, question: str, k: int = 5, filters: Filters | None = None) -> Answer:
        """Answer a question with a cited quantity, or abstain with a reason."""
        question = validated_question(question)
        parsed = analyse(question)
        hits = self.retriever.search(question, k=max(k, 1), filters=filters)
        if not hits:
            return _abstain(question, "no passage in the index matches the question")
        unknown_names = self._names_unknown_to_index(parsed)
        if unknown_names:
            return _abstain(question, "the sources never mention " + ", ".join(unknown_names))
        candidates = extract_candidates(parsed, hits)
        if not candidates:
            return _abstain(question, f"no {parsed.wanted} is mentioned in the retrieved passages")
        scored = self._score(parsed, candidates)
        return self._decide(parsed, scored)

    def _score(self, question: Question, candidates: list[Candidate]) -> list[tuple[float, Candidate]]:
        lexical = self.retriever.store.lexical
        idf = {t: lexical.idf(t) for t in question.terms}
        known = [t for t in question.terms if lexical.knows(t)]
        unknown = unknown_share(question.terms, idf, set(known))
        focus = max(known, key=lambda t: idf[t]) if known else None  # the most specific indexed word
        w = self.weights
        rows = []
        for candidate in candidates:
            title = candidate.document.title
            features = {
                "coverage": max(
                    term_coverage(question.terms, candidate.sentence, idf),
                    0.8 * term_coverage(question.terms, f"{title} {candidate.context()}", idf),
                ),
                "proximity": proximity(question.terms, candidate, idf),
                "retrieval": 1.0 / (1 + candidate.hit.rank),
                "kind": kind_fit(question, candidate.quantity),
                "unit": unit_fit(question, candidate.quantity),
                "names": _names_fit(question, candidate),
                "time": self._time_fit(question, candidate),
                "target": target_mismatch(question, candidate),
                "unknown": unknown,
                "totality": totality(question, candidate),
                "focus": _focus_fit(focus, candidate),
                "role": date_role_fit(question, candidate),
            }
            rows.append((self._lexical_score(features), candidate, features))
        # only the best by the words are embedded: the rest could not catch up on meaning alone
        rows.sort(key=lambda row: -row[0])
        embedded = rows[:SEMANTIC_CANDIDATES]
        similarity, local = self._semantic(question.text, [c for _, c, _ in embedded])
        scored = []
        for i, (pre, candidate, features) in enumerate(rows):
            semantic, near = (similarity[i], local[i]) if i < len(embedded) else (0.0, 0.0)
            features = {"semantic": semantic, "local": near, **features}
            score = pre + (w.semantic * semantic + w.local * near) * features["unit"]
            scored.append((score, replace(candidate, features=features)))
        scored.sort(key=lambda item: (-item[0], item[1].document.doc_id, item[1].quantity.start))
        return scored

    def _lexical_score(self, features: dict[str, float]) -> float:
        """The part of a candidate's score that needs no embedding."""
        w = self.weights
        score = (
            w.coverage * features["coverage"]
            + w.proximity * features["proximity"]
            + w.retrieval * features["retrieval"]
            + w.kind * features["kind"]
        ) * features["unit"]
        score += features["time"] - w.missing_name * (1 - features["names"])
        score -= w.target * features["target"] + w.unknown * features["unknown"]
        score += w.role * features["role"]
        return score + w.totality * features["totality"] - w.focus * (1 - features["focus"])

    def _names_unknown_to_index(self, question: Question) -> list[str]:
        """Names in the question that no indexed text contains: the fact cannot be there."""
        lexical = self.retriever.store.lexical
        return [
            name
            for name in question.proper_nouns
            if not all(lexical.knows(t) for t in lexical_tokens(name.replace("-", " ")))
        ]

    def _time_fit(self, question: Question, candidate: Candidate) -> float:
        if not self.time_aware:
            return 0.0
        if question.period:  # "between 2015 and 2018": a sentence naming the same years
            said = set(named_years(candidate.sentence))
            return self.weights.year_match if said.issuperset(question.period) else 0.0
        if question.year is None:
            return 0.0
        about = candidate.about
        if about.year == question.year:
            return self.weights.year_match if about.basis != "published" else self.weights.year_match / 3
        if about.basis in ("explicit", "relative"):
            return -self.weights.year_conflict
        return 0.0

    def _semantic(self, question: str, candidates: list[Candidate]) -> tuple[list[float], list[float]]:
        """Cosine similarity of the question with each candidate's context and with its number's clause.

        Context: the sentence with the one before (news sentences often say "it" for what the last
        one named). Clause: the words around the number, which tell apart numbers of one sentence.
        Vectors are cached; the missing ones are embedded in runs of EMBED_RUN spread over the cores.
        """
        query = self.retriever.embed_query(question)
        texts: dict[tuple[str, str, int], str] = {}
        sentence_keys, clause_keys = [], []
        for c in candidates:
            doc = (c.document.doc_id, c.document.content_hash)
            sentence_keys.append((*doc, c.sentence_start))
            texts.setdefault(sentence_keys[-1], c.context())
            if self.weights.local:
                clause_keys.append((*doc, -1 - c.quantity.start))  # negative: never a sentence start
                texts.setdefault(clause_keys[-1], c.clause())
        vectors = self.sentence_cache.get_many(texts)
        missing = [key for key in texts if key not in vectors]
        if missing:
            embedded = self.embedder.embed_many([texts[key] for key in missing], batch_size=EMBED_RUN)
            new = zip(missing, embedded, strict=True)
            vectors.update(new)
            self.sentence_cache.put_many((key, vectors[key]) for key in missing)
        cosine = lambda key: float(np.dot(query, vectors[key]))  # noqa: E731
        clauses = [cosine(k) for k in clause_keys] if clause_keys else [0.0] * len(candidates)
        return [cosine(k) for k in sentence_keys], clauses

    def _decide(self, question: Question, scored: list[tuple[float, Candidate]]) -> Answer:
        best_score, best = scored[0]
        support = best_score + self.weights.margin * min(_margin(scored), MARGIN_CAP)
        if support < self.weights.threshold:
            missing = missing_names(question, best.context(3))
            unsaid = f"; its passage does not mention {', '.join(missing)}" if missing else ""
            return _abstain(
                question.text,
                f"no quantity is supported well enough (best {support:.2f}, "
                f"{format_quantity(best.quantity)} in {best.document.doc_id}{unsaid}; "
                f"threshold {self.weights.threshold:.2f})",
            )
        rivals = self._rivals(scored)
        if question.year is not None and self.time_aware:
            chosen = self._about_year(question.year, scored)
            others = [_reported(c) for c in self._other_years(question.year, scored)]
            if chosen is None:
                answer = _abstain(question.text, f"the sources give no figure for {question.year}")
                return replace(answer, also_reported=others)
        else:
            chosen = self._latest(question, best, rivals) if self.time_aware else best
            others = [_reported(c) for c in [best, *rivals] if c is not chosen]
        if question.wanted == "year" and (year := year_of(chosen.quantity)) is not None:
            chosen = replace(chosen, quantity=year)  # "In what year …?": 1943, of "January 7, 1943"
        answer = Answer(
            question=question.text,
            answer=_answer_text(chosen),
            quantity=chosen.quantity,
            abstained=False,
            reason=None,
            citations=[citation_of(chosen)],
            also_reported=_distinct(others, chosen),
            confidence=round(support, 4),
        )
        check_grounded(answer, self.retriever.store.documents)
        return answer

    @property
    def _lowest_passing_score(self) -> float:
        """The lowest score that passes the threshold with the largest lead counted."""
        return self.weights.threshold - self.weights.margin * MARGIN_CAP

    def _rivals(self, scored: list[tuple[float, Candidate]]) -> list[Candidate]:
        """The best candidate of each other document reporting the same thing: other reports.

        Same thing: the same kind and unit, a score not far below the best, and a context that
        covers the question's words about as well as the best's does.
        """
        best_score, best = scored[0]
        rivals: dict[str, Candidate] = {}
        for score, candidate in scored[1:]:
            doc_id = candidate.document.doc_id
            if doc_id == best.document.doc_id or doc_id in rivals or not candidate.features["names"]:
                continue
            close = score >= self.weights.year_ratio * best_score
            covers = candidate.features["coverage"] >= best.features["coverage"] - 0.25
            if close and covers and _same_kind(candidate, best):
                rivals[doc_id] = candidate
        return list(rivals.values())

    def _about_year(self, year: int, scored: list[tuple[float, Candidate]]) -> Candidate | None:
        """The best candidate about the year asked for, if one is supported well enough."""
        best_score, best = scored[0]
        floor = max(self._lowest_passing_score, self.weights.year_ratio * best_score)
        for score, candidate in scored:
            if score < floor:
                return None
            if candidate.about.year == year and candidate.features["names"] and _same_kind(candidate, best):
                return candidate
        return None

    def _other_years(self, year: int, scored: list[tuple[float, Candidate]]) -> list[Candidate]:
        """The best candidate stated to be about each other year: the figure at other times."""
        best_score, best = scored[0]
        floor = max(self._lowest_passing_score, self.weights.year_ratio * best_score)
        by_year: dict[int, Candidate] = {}
        for score, candidate in scored:
            about = candidate.about
            if score < floor or about.year in (None, year) or about.basis not in ("explicit", "relative"):
                continue
            if candidate.features["names"] and _same_kind(candidate, best):
                by_year.setdefault(about.year, candidate)  # type: ignore[arg-type]
        return [by_year[y] for y in sorted(by_year)]

    @staticmethod
    def _latest(question: Question, best: Candidate, rivals: list[Candidate]) -> Candidate:
        """Among reports of the same thing in different sources, the latest (or the earliest)."""
        dated = [c for c in [best, *rivals] if c.about.year is not None]
        if not dated:
            return best
        key = lambda c: (c.about.year, c.document.published or "")  # noqa: E731
        return min(dated, key=key) if question.time_intent == "earliest" else max(dated, key=key)


def _margin(scored: list[tuple[float, Candidate]]) -> float:
    """How far the best candidate leads the best one with a different value (0.5 when alone)."""
    best_score, best = scored[0]
    for score, candidate in scored[1:]:
        if not quantities_match(candidate.quantity, best.quantity):
            return best_score - score
    return 0.5


def _names_fit(question: Question, candidate: Candidate) -> float:
    """1.0 when the question's names are in the candidate's passage or title, 0.5 when only
    elsewhere in its article (a dateline, an earlier paragraph), 0.0 when the article lacks one."""
    if not missing_names(question, f"{candidate.document.title} {candidate.context(3)}"):
        return 1.0
    return 0.0 if missing_names(question, candidate.document.text) else 0.5


def _focus_fit(focus: str | None, candidate: Candidate) -> float:
    """The same grades for the question's rarest indexed word (its most specific subject)."""
    if focus is None or focus in token_set(f"{candidate.document.title} {candidate.context(3)}"):
        return 1.0
    return 0.5 if focus in document_terms(candidate.document) else 0.0


def _distinct(reports: list[Reported], chosen: Candidate) -> list[Reported]:
    """Reports whose value differs from the answer's and from each other's."""
    kept: list[Reported] = []
    for report in reports:
        if quantities_match(report.quantity, chosen.quantity):
            continue
        if any(quantities_match(report.quantity, k.quantity) for k in kept):
            continue
        kept.append(report)
    return kept


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


def _same_kind(a: Candidate, b: Candidate) -> bool:
    qa, qb = a.quantity, b.quantity
    return qa.kind == qb.kind and (qa.unit or "") == (qb.unit or "")


def _answer_text(candidate: Candidate) -> str:
    quantity = candidate.quantity
    text = format_quantity(quantity)
    return f"{quantity.qualifier} {text}" if quantity.qualifier else text


def citation_of(candidate: Candidate) -> Citation:
    """The citation of a candidate: its whole sentence, with offsets in the cleaned text."""
    document = candidate.document
    return Citation(
        doc_id=document.doc_id,
        title=document.title,
        published=document.published,
        text=candidate.sentence,
        start=candidate.sentence_start,
        end=candidate.sentence_end,
        chunk_id=candidate.hit.chunk.chunk_id,
        score=round(candidate.hit.score, 6),
    )


def _reported(candidate: Candidate) -> Reported:
    return Reported(
        answer=_answer_text(candidate),
        quantity=candidate.quantity,
        published=candidate.document.published,
        citation=citation_of(candidate),
    )


def _abstain(question: str, reason: str) -> Answer:
    return Answer(question=question, answer=None, quantity=None, abstained=True, reason=reason)
