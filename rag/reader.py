"""The learned span reader: scores every span of a passage as the answer to a question.

A transformer encoder (the embedding model's own MiniLM, fine-tuned by `rag train`) reads
"[CLS] question [SEP] window [SEP]" and gives each word piece a start and an end logit. The
answerer keeps only spans that hold a quantity found by `rag.quantities`, so every answer is
still a number inside a cited sentence; the reader decides which one.

The weights ship as package data (`rag/models/reader/`): `reader.safetensors` (float16) and
`reader.json`, which names the base model, the shapes, the format version, the window size, and
the calibration and threshold chosen on validation data. Serving only loads them; training lives
in the `train` package.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from index.embed import resolve_model_path
from index.errors import ModelError

READER_FORMAT = 1
READER_BASE_MODEL = "all-MiniLM-L6-v2"
DEFAULT_READER_DIR = Path(__file__).resolve().parent / "models" / "reader"
WEIGHTS_FILE = "reader.safetensors"
META_FILE = "reader.json"
MAX_ANSWER_TOKENS = 30  # the longest span, in word pieces, that may hold an answer
RETRAIN_HINT = "run `rag train` to build them, or set RAG_READER_DIR to a folder that holds them"


@dataclass(frozen=True)
class Calibration:
    """Logistic calibration of span scores into the probability that an answer is right."""

    coef: tuple[float, ...]
    intercept: float
    threshold: float  # answer only at or above this probability (chosen on validation for precision)

    def probability(self, features: Sequence[float]) -> float:
        """P(right) for the calibration features of one candidate."""
        z = self.intercept + sum(c * f for c, f in zip(self.coef, features, strict=True))
        return float(1.0 / (1.0 + np.exp(-z)))


@dataclass(frozen=True)
class ReaderMeta:
    """What reader.json says of the weights beside it."""

    format: int
    base_model: str
    max_length: int  # word pieces of question and window together
    windows: int  # candidate windows read per question (chosen on validation)
    kind_rule: str  # which quantity kinds may answer which questions (rag.candidates.admits_kind)
    rank_by: str  # "span": the span score; "lead": span minus its window's "no answer" (chosen on validation)
    calibration: Calibration | None
    raw: dict[str, Any]


@dataclass(frozen=True)
class WindowScores:
    """Start and end log-probabilities of the word pieces of one window, with their character spans."""

    start: np.ndarray  # (n,) log-softmax over the window's positions, [CLS] at 0
    end: np.ndarray
    offsets: np.ndarray  # (n, 2) character offsets in the window text; (-1, -1) outside the window

    @property
    def null(self) -> float:
        """The score of "no answer in this window" ([CLS] as start and end)."""
        return float(self.start[0] + self.end[0])

    def best_span(self, first: int, last: int, others: Sequence[tuple[int, int]] = ()) -> float:
        """The best score of a span that overlaps characters [first, last) of the window and no other
        quantity's characters (`others`): a span over two numbers says nothing of which one it is."""
        inside = np.nonzero((self.offsets[:, 0] < last) & (self.offsets[:, 1] > first))[0]
        if inside.size == 0:
            return float("-inf")
        lo, hi = int(inside[0]), int(inside[-1])
        floor, ceiling = 1, len(self.end) - 1  # [CLS] never starts an answer span
        for other_first, other_last in others:
            taken = np.nonzero((self.offsets[:, 0] < other_last) & (self.offsets[:, 1] > other_first))[0]
            taken = taken[(taken < lo) | (taken > hi)]
            floor = max([floor, *(int(t) + 1 for t in taken if t < lo)])
            ceiling = min([ceiling, *(int(t) - 1 for t in taken if t > hi)])
        starts = np.arange(max(floor, lo - MAX_ANSWER_TOKENS + 1), hi + 1)
        ends = np.arange(lo, min(ceiling + 1, hi + MAX_ANSWER_TOKENS))
        valid = self.offsets[:, 0] >= 0
        grid = self.start[starts][:, None] + self.end[ends][None, :]
        length = ends[None, :] - starts[:, None]
        ok = (length >= 0) & (length < MAX_ANSWER_TOKENS) & valid[starts][:, None] & valid[ends][None, :]
        return float(grid[ok].max()) if ok.any() else float("-inf")


def read_meta(reader_dir: Path) -> ReaderMeta:
    """reader.json of a weights folder, or ModelError saying what is missing and how to get it."""
    meta_path, weights_path = reader_dir / META_FILE, reader_dir / WEIGHTS_FILE
    if not weights_path.is_file() or not meta_path.is_file():
        raise ModelError(f"the reader weights are missing: {reader_dir} lacks {WEIGHTS_FILE} or {META_FILE}; "
                         + RETRAIN_HINT)  # fmt: skip
    try:
        raw = json.loads(meta_path.read_text(encoding="utf-8"))
        calibration = raw.get("calibration")
        meta = ReaderMeta(
            format=int(raw["format"]),
            base_model=str(raw["base_model"]),
            max_length=int(raw["max_length"]),
            windows=int(raw["windows"]),
            kind_rule=str(raw.get("kind_rule", "strict" if raw.get("kind_filter", True) else "all")),
            rank_by=str(raw.get("rank_by", "span")),
            calibration=Calibration(
                tuple(float(c) for c in calibration["coef"]),
                float(calibration["intercept"]),
                float(calibration["threshold"]),
            )
            if calibration
            else None,
            raw=raw,
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{meta_path} cannot be read ({exc}); " + RETRAIN_HINT) from exc
    if meta.format != READER_FORMAT:
        raise ModelError(
            f"the reader weights in {reader_dir} have format {meta.format}, this version reads "
            f"format {READER_FORMAT}; " + RETRAIN_HINT
        )
    if meta.base_model != READER_BASE_MODEL:
        raise ModelError(
            f"the reader weights in {reader_dir} were trained from {meta.base_model!r}, but this reader "
            f"is built on {READER_BASE_MODEL!r}; " + RETRAIN_HINT
        )
    return meta


class SpanReader:
    """Loaded reader weights; `score` is thread-safe (one forward pass at a time per process)."""

    def __init__(self, reader_dir: Path = DEFAULT_READER_DIR, device: str = "cpu") -> None:
        import torch
        from tokenizers import Tokenizer

        self.reader_dir = reader_dir
        self.meta = read_meta(reader_dir)
        base_dir = Path(resolve_model_path(self.meta.base_model))
        self.model = build_model(base_dir)
        load_weights(self.model, reader_dir / WEIGHTS_FILE)
        self.device = device
        self.model.to(device).eval()
        self.tokenizer = pair_tokenizer(Tokenizer.from_file(str(base_dir / "tokenizer.json")),
                                        self.meta.max_length)  # fmt: skip
        self._lock = threading.Lock()
        self._torch = torch

    @property
    def calibration(self) -> Calibration | None:
        return self.meta.calibration

    def score(self, question: str, windows: Sequence[str]) -> list[WindowScores]:
        """Start and end log-probabilities of every word piece of each window, for one question."""
        if not windows:
            return []
        torch = self._torch
        encodings = self.tokenizer.encode_batch([(question, w) for w in windows])
        ids = torch.tensor([e.ids for e in encodings], dtype=torch.long, device=self.device)
        mask = torch.tensor([e.attention_mask for e in encodings], dtype=torch.long, device=self.device)
        types = torch.tensor([e.type_ids for e in encodings], dtype=torch.long, device=self.device)
        with self._lock, torch.inference_mode():
            start, end = self.model(ids, mask, types)
        return [
            window_scores(start[i].float().cpu().numpy(), end[i].float().cpu().numpy(), e)
            for i, e in enumerate(encodings)
        ]


def window_scores(start: np.ndarray, end: np.ndarray, encoding: Any) -> WindowScores:
    """Log-softmax the logits over the positions that may start or end a span ([CLS] and the window)."""
    n = len(encoding.ids)
    offsets = np.full((n, 2), -1, dtype=np.int64)
    allowed = np.zeros(n, dtype=bool)
    allowed[0] = True
    for i, (sequence, span) in enumerate(zip(encoding.sequence_ids, encoding.offsets, strict=True)):
        if sequence == 1:
            offsets[i] = span
            allowed[i] = True
    return WindowScores(_log_softmax(start[:n], allowed), _log_softmax(end[:n], allowed), offsets)


def _log_softmax(logits: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    masked = np.where(allowed, logits.astype(np.float64), -np.inf)
    top = masked.max()
    return masked - (top + np.log(np.exp(masked - top).sum()))


def pair_tokenizer(tokenizer: Any, max_length: int) -> Any:
    """The base model's tokenizer set to encode (question, window) pairs, cutting only the window."""
    tokenizer.enable_truncation(max_length, strategy="only_second")
    tokenizer.enable_padding(pad_id=0)
    return tokenizer


def build_model(base_dir: Path) -> Any:
    """The reader network: the base model's encoder (from its config, weights not loaded) and a span head."""
    import torch
    from transformers import BertConfig, BertModel

    try:
        config = BertConfig.from_pretrained(str(base_dir))
    except Exception as exc:
        raise ModelError(f"the reader's base model config cannot be read from {base_dir}: {exc}") from exc

    class Reader(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = BertModel(config, add_pooling_layer=False)
            self.span = torch.nn.Linear(config.hidden_size, 2)

        def forward(self, ids: Any, mask: Any, types: Any) -> tuple[Any, Any]:
            hidden = self.encoder(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
            logits = self.span(hidden)
            return logits[..., 0], logits[..., 1]

    return Reader()


def load_weights(model: Any, path: Path) -> None:
    """Load float16 weights into the network, or ModelError when they were made for another shape."""
    from safetensors.torch import load_file

    try:
        state = load_file(str(path))
    except Exception as exc:
        raise ModelError(f"the reader weights {path} cannot be read ({exc}); " + RETRAIN_HINT) from exc
    expected = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    found = {name: tuple(t.shape) for name, t in state.items()}
    if found != expected:
        wrong = sorted(set(expected) ^ set(found)) or [n for n in expected if expected[n] != found[n]]
        raise ModelError(
            f"the reader weights {path} do not fit the {READER_BASE_MODEL} reader "
            f"(e.g. {wrong[0]}): they were made for another base model; " + RETRAIN_HINT
        )
    model.load_state_dict({name: t.float() for name, t in state.items()})


@lru_cache(maxsize=2)
def load_reader(reader_dir: Path = DEFAULT_READER_DIR, device: str = "cpu") -> SpanReader:
    """The reader of a weights folder, loaded once per process."""
    return SpanReader(reader_dir, device)
