"""Levers for `rag bench`: the query encoder four ways, and FAISS's thread count.

The same questions embedded four ways, timed and compared:

- st_default: sentence-transformers `encode`, torch's default thread count (the baseline's path)
- st_1thread: the same with torch.set_num_threads(1)
- torch_forward: the transformer called directly under torch.inference_mode, mean pooling by hand
- onnx: the project's OnnxEmbedder (ONNX Runtime, one thread per call)

Each gives p50/p95 milliseconds per single-question call and the lowest cosine to st_default's
vectors over the questions.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from bench.query import dense_latency, percentiles
from index.embed import Embedder
from index.stores.faiss.store import IndexStore

Encode = Callable[[str], np.ndarray]


def time_encoder(encode: Encode, questions: Sequence[str], repeats: int = 1) -> tuple[dict, np.ndarray]:
    """Percentiles of single-question calls, and the vectors of the questions."""
    encode(questions[0])  # first call: lazy initialisation is not what is measured
    spent, vectors = [], []
    for _ in range(repeats):
        vectors = []
        for question in questions:
            started = time.perf_counter()
            vectors.append(np.asarray(encode(question), dtype=np.float32).reshape(-1))
            spent.append((time.perf_counter() - started) * 1000)
    return percentiles(spent), np.vstack(vectors)


def compare_encoders(model: object, ours: Embedder, questions: Sequence[str]) -> dict[str, dict]:
    """Each lever's latency and its agreement with the reference (sentence-transformers as is)."""
    import torch

    default_threads = torch.get_num_threads()
    results: dict[str, dict] = {}
    reference = None
    try:
        for name, encode, threads in _levers(model, ours, default_threads):
            torch.set_num_threads(threads)
            timing, vectors = time_encoder(encode, questions)
            reference = vectors if reference is None else reference
            cosine = float(np.min(np.sum(vectors * reference, axis=1)))
            results[name] = {**timing, "threads": threads, "min_cosine": cosine}
    finally:
        torch.set_num_threads(default_threads)
    return results


def _levers(model: object, ours: Embedder, default_threads: int) -> list[tuple[str, Encode, int]]:
    def st_encode(question: str) -> np.ndarray:
        return model.encode(question, normalize_embeddings=True, show_progress_bar=False)  # type: ignore[attr-defined]  # model is a SentenceTransformer, imported lazily

    return [
        ("st_default", st_encode, default_threads),
        ("st_1thread", st_encode, 1),
        ("torch_forward", _direct_forward(model), 1),
        ("onnx", lambda question: ours.embed_batch([question])[0], default_threads),
    ]


def _direct_forward(model: object) -> Encode:
    """The transformer without sentence-transformers' encode: tokenizer, forward, mean, normalise."""
    import torch

    tokenizer = model.tokenizer  # type: ignore[attr-defined]  # model is a SentenceTransformer, imported lazily
    transformer = model[0].auto_model.eval()  # type: ignore[index]  # model is a SentenceTransformer, imported lazily
    window = int(model.max_seq_length)  # type: ignore[attr-defined]  # model is a SentenceTransformer, imported lazily

    def encode(question: str) -> np.ndarray:
        with torch.inference_mode():
            features = tokenizer([question], return_tensors="pt", truncation=True, max_length=window)
            hidden = transformer(**features).last_hidden_state
            mask = features["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1)
            return torch.nn.functional.normalize(pooled, dim=1)[0].numpy()

    return encode


def compare_faiss_threads(store: IndexStore, queries: np.ndarray) -> dict[str, dict]:
    """Dense search latency with FAISS's default OpenMP threads, then with one thread."""
    import faiss

    default_threads = faiss.omp_get_max_threads()
    results = {}
    try:
        for threads in dict.fromkeys((default_threads, 1)):
            faiss.omp_set_num_threads(threads)
            results[str(threads)] = dense_latency(store, queries)
    finally:
        faiss.omp_set_num_threads(default_threads)
    return results
