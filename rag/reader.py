"""The learned span reader: scores every span of a passage as the answer to a question.

A transformer encoder (the embedding model's own MiniLM, fine-tuned by `rag train`) reads
"[CLS] question [SEP] window [SEP]" and gives each word piece a start and an end logit. The
answerer keeps only spans that hold a quantity found by `rag.quantities`, so every answer is
still a number inside a cited sentence; the reader decides which one.

The weights ship as package data (`rag/models/reader/`): `reader.safetensors` (float16) and
`reader.json`, which names the base model, the format version and the longest input; the ranker,
calibration and threshold fitted after it are in `ranker.json` beside them (`rag.answer_model`).
Serving only loads them; training lives in the `train` package.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from index.embed import default_cache_dir, resolve_model_path
from index.errors import ModelError

READER_FORMAT = 1
READER_BASE_MODEL = "all-MiniLM-L6-v2"
DEFAULT_READER_DIR = Path(__file__).resolve().parent / "models" / "reader"
WEIGHTS_FILE = "reader.safetensors"
META_FILE = "reader.json"
MAX_ANSWER_TOKENS = 30  # the longest span, in word pieces, that may hold an answer
MAX_QUESTION_WORDS = 48  # a longer question keeps its last words (where it asks), so the window fits
MAX_QUESTION_CHARS = 320
RETRAIN_HINT = "run `rag train` to build them, or set RAG_READER_DIR to a folder that holds them"


@dataclass(frozen=True)
class ReaderMeta:
    """What reader.json says of the weights beside it."""

    format: int
    base_model: str
    max_length: int  # word pieces of question and window together
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
        meta = ReaderMeta(int(raw["format"]), str(raw["base_model"]), int(raw["max_length"]), raw)
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


ReaderBackend = Literal["auto", "onnx", "torch"]


class SpanReader:
    """Loaded reader weights; `score` is thread-safe (one forward pass at a time per process).

    On the CPU the network runs through ONNX Runtime (`rag.reader_onnx`, exported on first use)
    unless backend is "torch"; "auto" falls back to torch when the export cannot be made."""

    def __init__(
        self,
        reader_dir: Path = DEFAULT_READER_DIR,
        device: str = "cpu",
        backend: ReaderBackend = "auto",
        cache_dir: Path | None = None,
    ) -> None:
        from tokenizers import Tokenizer

        self.reader_dir = reader_dir
        self.meta = read_meta(reader_dir)
        self.device = device
        base_dir = Path(resolve_model_path(self.meta.base_model))
        self.tokenizer = pair_tokenizer(Tokenizer.from_file(str(base_dir / "tokenizer.json")),
                                        self.meta.max_length)  # fmt: skip
        self._lock = threading.Lock()
        self.backend: ReaderBackend = "torch"
        self._net: Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None
        if backend != "torch" and device == "cpu":
            try:
                self._net = self._onnx(base_dir, cache_dir or default_cache_dir())
                self.backend = "onnx"
            except ModelError:
                if backend == "onnx":
                    raise
        if self._net is None:
            self._net = _TorchNet(self._torch_model(base_dir), device)

    def _torch_model(self, base_dir: Path) -> Any:
        model = build_model(base_dir)
        load_weights(model, self.reader_dir / WEIGHTS_FILE)
        return model.eval()

    def _onnx(self, base_dir: Path, cache_dir: Path) -> Callable[..., tuple[np.ndarray, np.ndarray]]:
        from rag.reader_onnx import OnnxNet, export_reader, onnx_path

        path = onnx_path(self.reader_dir / WEIGHTS_FILE, cache_dir)
        if path.is_file():
            try:
                return OnnxNet(path)
            except ModelError:
                path.unlink(missing_ok=True)  # a damaged cache file is made again
        export_reader(self._torch_model(base_dir), self.tokenizer, path)
        return OnnxNet(path)

    def score(self, question: str, windows: Sequence[str]) -> list[WindowScores]:
        """Start and end log-probabilities of every word piece of each window, for one question."""
        if not windows:
            return []
        question = clipped_question(question)
        encodings = self.tokenizer.encode_batch([(question, w) for w in windows])
        ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
        types = np.asarray([e.type_ids for e in encodings], dtype=np.int64)
        assert self._net is not None
        with self._lock:
            start, end = self._net(ids, mask, types)
        return [window_scores(start[i], end[i], e) for i, e in enumerate(encodings)]


class _TorchNet:
    """The reader network in torch, on a device: numpy in, numpy logits out."""

    def __init__(self, model: Any, device: str) -> None:
        import torch

        self._torch = torch
        self.model = model.to(device)
        self.device = device

    def __call__(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        torch = self._torch
        tensors = [torch.from_numpy(a).to(self.device) for a in (ids, mask, types)]
        with torch.inference_mode():
            start, end = self.model(*tensors)
        return start.float().cpu().numpy(), end.float().cpu().numpy()


def clipped_question(question: str) -> str:
    """The question as the reader reads it: its last MAX_QUESTION_WORDS words, MAX_QUESTION_CHARS at most."""
    words = question.split()
    clipped = " ".join(words[-MAX_QUESTION_WORDS:]) if len(words) > MAX_QUESTION_WORDS else question
    return clipped[-MAX_QUESTION_CHARS:]


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
    """The reader of a weights folder, loaded once per process (through ONNX Runtime on the CPU)."""
    return SpanReader(reader_dir, device)
