"""Optional generative mode: an LLM phrases the answer from the retrieved passages, checked number by number.

The extractive answer is always computed first and is what the user gets whenever the language
model fails, or mentions a number that no passage it cites supports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit, urlunsplit

import httpx

from index.errors import LLMError
from rag.answer import Answerer
from rag.candidates import Candidate, extract_candidates
from rag.decision import citation_of
from rag.ground import supported_numbers
from rag.quantities import Quantity, parse_quantities, parse_quantity, quantities_match
from rag.types import Answer, Citation, Filters, Hit

CHAT_PATH = "/v1/chat/completions"
SYSTEM_PROMPT = (
    "You answer questions about news articles. Answer in one short sentence, using only the "
    "numbered passages you are given. Cite the passages you use like [1] or [1][2]. Copy every "
    "number as the passage states it. If the passages do not give the answer, say so without "
    "guessing a number."
)
# "[1]", "[1, 3]", "[2-4]": markers the model cites passages with; never numbers of the answer
_MARKER = re.compile(r"\[\s*\d+(?:\s*[,;\u2013-]\s*\d+)*\s*\]")


@dataclass(frozen=True)
class LLMConfig:
    """Where an OpenAI-compatible chat endpoint is and how to call it; built from Settings at the edges."""

    url: str  # the base ("http://host:port") or the full ".../v1/chat/completions"
    model: str = "local"
    timeout_s: float = 30.0
    max_tokens: int = 200
    api_key: str | None = field(default=None, repr=False)  # sent as a bearer token, never shown
    # An abstention rests on checks (names absent, year not covered, weak support) that matching
    # numbers cannot replace: by default the model is not asked to answer what we abstain on.
    keep_abstentions: bool = True


class GenerativeAnswerer:
    """Answers with an LLM's sentence when every number in it is found in a passage it cites."""

    def __init__(self, answerer: Answerer, config: LLMConfig, client: httpx.Client | None = None) -> None:
        self.answerer = answerer
        self.config = config
        self.endpoint = chat_url(config.url)
        self._owns_client = client is None
        self.client = client or httpx.Client(timeout=config.timeout_s)

    def close(self) -> None:
        """Close the HTTP client if this answerer made it."""
        if self._owns_client:
            self.client.close()

    def ask(self, question: str, k: int = 5, filters: Filters | None = None) -> Answer:
        """The generated answer when it is grounded, else the extractive answer with a note why."""
        extractive = self.answerer.ask(question, k=k, filters=filters)
        if extractive.abstained and self.config.keep_abstentions:
            return extractive
        hits = self.answerer.retriever.search(extractive.question, k=max(k, 1), filters=filters)
        if not hits:
            return extractive
        try:
            text = self._complete(build_messages(extractive.question, hits))
        except LLMError as exc:
            return _with_note(extractive, f"{exc}; showing the extractive answer")
        return self._checked(extractive, text, hits)

    def _complete(self, messages: list[dict[str, str]]) -> str:
        """POST the chat request; LLMError on any transport, status or shape problem."""
        payload = {
            "model": self.config.model,
            "messages": messages,
            "temperature": 0,
            "max_tokens": self.config.max_tokens,
        }
        headers = {"Authorization": f"Bearer {self.config.api_key}"} if self.config.api_key else {}
        failed = f"the language model at {_safe_url(self.endpoint)} failed"
        try:
            response = self.client.post(
                self.endpoint, json=payload, headers=headers, timeout=self.config.timeout_s
            )
        except httpx.TimeoutException as exc:
            raise LLMError(f"{failed}: no answer within {self.config.timeout_s:g} s") from exc
        except httpx.HTTPError as exc:
            raise LLMError(f"{failed}: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise LLMError(f"{failed}: HTTP {response.status_code}")
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise LLMError(f"{failed}: the reply is not an OpenAI chat completion") from exc
        if not isinstance(content, str) or not content.strip():
            raise LLMError(f"{failed}: the reply has no text")
        return " ".join(content.split())

    def _checked(self, extractive: Answer, text: str, hits: list[Hit]) -> Answer:
        """The generative answer when every number in text is supported, else the extractive one."""
        numbers = cited_numbers(text)
        unknown = [n for n in numbers if not 1 <= n <= len(hits)]
        if unknown:
            note = f"the generated answer cited passage [{unknown[0]}], which it was not given"
            return _with_note(extractive, f"{note}; showing the extractive answer instead")
        cited = [hits[n - 1] for n in dict.fromkeys(numbers)] or hits
        plain = strip_markers(text)
        passages = [passage_text(hit) for hit in cited]
        _, unsupported = supported_numbers(plain, passages, _cell_quantities(cited))
        if unsupported:
            note = f"the generated answer mentioned {_join(unsupported)}, which no cited passage supports"
            return _with_note(extractive, f"{note}; showing the extractive answer instead")
        stated = [q for q in _by_importance(plain) if q.kind != "ordinal"]
        spans = _supporting_citations(stated, cited)
        if not spans:
            note = "the generated answer stated no number from the passages"
            return _with_note(extractive, f"{note}; showing the extractive answer instead")
        return _generative(extractive, text, stated, spans)


def chat_url(url: str) -> str:
    """The chat-completions URL from a base URL or the full endpoint URL."""
    base = url.strip().rstrip("/")
    if base.endswith("/chat/completions"):
        return base
    if base.endswith("/v1"):
        return base + "/chat/completions"
    return base + CHAT_PATH


def passage_text(hit: Hit) -> str:
    """A passage as the model sees it: title, date and the chunk's text."""
    document = hit.document
    return f"{document.title} ({document.published or 'undated'})\n{hit.chunk.text}"


def build_messages(question: str, hits: list[Hit]) -> list[dict[str, str]]:
    """The system and user messages: numbered passages, then the question."""
    passages = "\n\n".join(f"[{i}] {passage_text(hit)}" for i, hit in enumerate(hits, start=1))
    user = f"Passages:\n\n{passages}\n\nQuestion: {question}"
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def cited_numbers(text: str) -> list[int]:
    """The passage numbers a text cites, in order of mention ("[2-4]" cites 2, 3 and 4)."""
    numbers: list[int] = []
    for marker in _MARKER.findall(text):
        for part in re.split(r"[,;]", marker.strip("[]")):
            bounds = [int(b) for b in re.split(r"[\u2013-]", part)]
            low, high = bounds[0], bounds[-1]
            numbers.extend(range(low, min(high, low + 50) + 1) if high >= low else [low, high])
    return numbers


def strip_markers(text: str) -> str:
    """The text without its citation markers, so that "[1]" is never read as a number."""
    return " ".join(_MARKER.sub(" ", text).split()).replace(" .", ".").replace(" ,", ",")


def _by_importance(text: str) -> list[Quantity]:
    """The quantities of text, its main one (money before counts before years…) first."""
    mentions = parse_quantities(text)
    main = parse_quantity(text)
    if main is None:
        return mentions
    return [main, *(q for q in mentions if (q.start, q.end) != (main.start, main.end))]


def _supporting_citations(stated: list[Quantity], cited: list[Hit]) -> list[tuple[Quantity, Citation]]:
    """Each sentence (or table row) of the cited chunks holding a stated number, with that number's
    mention there; a table cell's number is read in its table's unit and cites its cell."""
    by_sentence: dict[tuple[str, int], list[Candidate]] = {}
    for candidate in extract_candidates(cited):
        by_sentence.setdefault((candidate.document.doc_id, candidate.sentence_start), []).append(candidate)
    found: list[tuple[Quantity, Citation]] = []
    for inside in by_sentence.values():
        match = next((c for s in stated for c in inside if quantities_match(s, c.quantity)), None)
        if match is not None:
            found.append((match.quantity, citation_of(match)))
    return found


def _cell_quantities(cited: list[Hit]) -> list[Quantity]:
    """The numbers of the table cells in the cited chunks, in their tables' units."""
    return [c.quantity for c in extract_candidates(cited) if c.cell is not None]


def _generative(
    extractive: Answer, text: str, stated: list[Quantity], spans: list[tuple[Quantity, Citation]]
) -> Answer:
    """The generated answer, its quantity and citations (the extractive ones when it agrees)."""
    extracted = extractive.quantity
    if extracted is not None and any(quantities_match(extracted, s) for s in stated):
        quantity, citations = extracted, list(extractive.citations)
    else:
        quantity = next(m for s in stated for m, _ in spans if quantities_match(s, m))
        citations = []
    for _, citation in spans:
        if all((c.doc_id, c.start) != (citation.doc_id, citation.start) for c in citations):
            citations.append(citation)
    others = [r for r in extractive.also_reported if not quantities_match(r.quantity, quantity)]
    return replace(
        extractive,
        answer=text,
        quantity=quantity,
        abstained=False,
        reason=None,
        citations=citations,
        also_reported=others,
        mode="generative",
    )


def _with_note(extractive: Answer, note: str) -> Answer:
    """The extractive answer with a note; an abstention keeps its own reason first."""
    reason = f"{extractive.reason}; {note}" if extractive.reason else note
    return replace(extractive, reason=reason)


def _join(texts: list[str]) -> str:
    unique = list(dict.fromkeys(texts))
    return unique[0] if len(unique) == 1 else ", ".join(unique[:-1]) + " and " + unique[-1]


def _safe_url(url: str) -> str:
    """The URL without credentials or query string, fit for a message."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
