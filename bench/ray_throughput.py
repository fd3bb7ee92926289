"""Embedding throughput in process and on a local Ray with 1, 2... actors (the `numrag[scale]` extra).

    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.ray_throughput [n_texts]

Each Ray row starts its own local Ray (timed as `init_s`) and embeds the texts twice: `first_s`
includes starting the actors and loading a model in each, `second_s` is a fresh pool again
(Ray Data starts the actors per dataset), so both carry that fixed cost; `texts_per_s` is from
the faster of the two.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from functools import partial

from bench.stages import failure, run_stage
from index.chunk import chunk_document
from index.embed import Embedder, load_embedder
from index.ingest import discover_files, load_documents
from index.paths import bundled_corpus_dir
from index.stores.contract import embedding_text

Say = Callable[[str], None]
# Chunk sizes (tokens, overlap) whose chunks together give a few hundred distinct texts of the corpus.
CHUNK_SIZES = ((192, 32), (128, 24), (96, 16), (64, 16), (48, 8), (32, 8))


def corpus_chunk_texts(count: int = 300) -> list[str]:
    """count embedding texts cut from the bundled corpus at several chunk sizes (repeated if short)."""
    documents, _ = load_documents(discover_files([bundled_corpus_dir()]))
    texts = [
        embedding_text(document, chunk)
        for tokens, overlap in CHUNK_SIZES
        for document in documents
        for chunk in chunk_document(document, tokens, overlap)
    ]
    return [texts[i % len(texts)] for i in range(count)]


def ray_throughput(
    embedder_model: str, texts: list[str], workers: tuple[int, ...] = (1, 2), say: Say = lambda _: None
) -> list[dict]:
    """One row per setting: in-process `embed_many`, then a RayEmbedder with each worker count.

    When Ray fails (it does not start, an actor dies) its row holds {"failed": one line} and the
    rows already measured are kept; the later worker counts are not tried.
    """
    local = load_embedder(embedder_model)
    local.embed_batch(texts[:4])  # warm the session so the row times embedding, not the first call
    rows = [_time_in_process(local, texts)]
    for count in workers:
        row = run_stage(
            f"Ray with {count} workers", partial(_time_ray, local, embedder_model, texts, count), say
        )
        rows.append({"mode": "ray", "workers": count, **row} if failure(row) else row)
        if failure(row):
            break
    return rows


def _time_in_process(local: Embedder, texts: list[str]) -> dict:
    started = time.perf_counter()
    local.embed_many(texts, batch_size=32)
    seconds = time.perf_counter() - started
    return {
        "mode": "in-process",
        "workers": None,
        "texts": len(texts),
        "seconds": round(seconds, 2),
        "texts_per_s": round(len(texts) / seconds, 1),
    }


def _time_ray(local: Embedder, model: str, texts: list[str], workers: int) -> dict:
    from index.ray_embed import RayEmbedder

    with RayEmbedder(local, model, workers=workers, batch_size=32) as distributed:
        runs = []
        for _ in range(2):
            started = time.perf_counter()
            distributed.embed_many(texts)
            runs.append(time.perf_counter() - started)
        init_seconds = distributed.init_seconds
    return {
        "mode": "ray",
        "workers": workers,
        "texts": len(texts),
        "seconds": round(min(runs), 2),
        "texts_per_s": round(len(texts) / min(runs), 1),
        "init_s": round(init_seconds, 2),
        "first_s": round(runs[0], 2),
        "second_s": round(runs[1], 2),
    }


if __name__ == "__main__":
    sample = corpus_chunk_texts(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
    for row in ray_throughput("all-MiniLM-L6-v2", sample):
        print(json.dumps(row))
