"""RayEmbedder: the same vectors as in-process embedding, on a real local Ray with two actors."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from index.chunk import chunk_document
from index.errors import ModelError
from index.stores.contract import embedding_text
from tests.conftest import MODEL, PROJECT_ROOT

RAY_MISSING = "ray[data] is not installed (pip install 'numrag[scale]'); distributed embedding is optional"


@pytest.fixture(scope="module")
def chunk_texts(corpus_documents) -> list[str]:
    """About fifty chunk texts of the bundled corpus, as the index would embed them."""
    texts = [embedding_text(doc, chunk) for doc in corpus_documents for chunk in chunk_document(doc, 64, 16)]
    assert 30 <= len(texts) <= 80, len(texts)
    return texts


@pytest.fixture(scope="module")
def ray_embedded(embedder, chunk_texts) -> tuple[np.ndarray, list[int]]:
    """(vectors, progress counts) of chunk_texts embedded on a local Ray with 2 workers."""
    pytest.importorskip("ray.data", reason=RAY_MISSING)
    from index.ray_embed import RayEmbedder

    progress: list[int] = []
    with RayEmbedder(embedder, MODEL, workers=2, batch_size=8) as distributed:
        vectors = distributed.embed_many(chunk_texts, on_batch=progress.append)
    return vectors, progress


def test_import_does_not_import_ray() -> None:
    code = "import sys, index.ray_embed; assert 'ray' not in sys.modules, 'ray was imported'"
    subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, check=True, timeout=60)


@pytest.mark.scale
def test_unreachable_address_is_named(embedder) -> None:
    pytest.importorskip("ray.data", reason=RAY_MISSING)
    from index.ray_embed import RayEmbedder

    with socket.socket() as probe:  # a port that was just free: nothing listens there
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(ModelError, match=f"cannot reach the Ray cluster at '{address}'"):
        RayEmbedder(embedder, MODEL, address=address)


@pytest.mark.slow
@pytest.mark.scale
def test_ray_vectors_equal_in_process_vectors_row_by_row(embedder, chunk_texts, ray_embedded) -> None:
    vectors, _ = ray_embedded
    expected = embedder.embed_many(chunk_texts)
    assert vectors.shape == expected.shape
    cosines = np.sum(vectors * expected, axis=1)
    assert cosines.min() >= 0.9999, np.argsort(cosines)[:5]
    assert np.allclose(vectors, expected, atol=1e-5)


@pytest.mark.slow
@pytest.mark.scale
def test_ray_progress_counts_every_text(chunk_texts, ray_embedded) -> None:
    _, progress = ray_embedded
    assert len(progress) >= 2
    assert sum(progress) == len(chunk_texts)


@pytest.mark.slow
@pytest.mark.scale
def test_rag_index_with_a_bare_ray_flag_builds_the_index(tmp_path) -> None:
    """`rag index --ray` starts a local Ray, embeds there and writes an index `rag ask` answers from;
    a RAY_ADDRESS in the environment (here one where nothing listens) does not stop the local Ray."""
    pytest.importorskip("ray.data", reason=RAY_MISSING)
    from bench.soak import rag_command

    index_dir = tmp_path / "index"
    built = subprocess.run(
        [*rag_command(), "index", "--ray", "--index-dir", str(index_dir), str(PROJECT_ROOT / "corpus")],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=PROJECT_ROOT,
        env={**os.environ, "RAY_ADDRESS": "127.0.0.1:9"},
    )
    assert built.returncode == 0, built.stderr[-2000:]
    assert "embedding on a local Ray with 2 workers" in built.stdout
    asked = subprocess.run(
        [
            *rag_command(),
            "ask",
            "How much did China earmark in loans for capacity cooperation?",
            "--index-dir",
            str(index_dir),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PROJECT_ROOT,
    )
    assert asked.returncode == 0, asked.stderr[-2000:]
    assert '"$15 billion"' in asked.stdout


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["index", "--ray"], ["index", "--ray=local"]),
        (["index", "--ray", "corpus/"], ["index", "--ray=local", "corpus/"]),
        (["index", "--ray", "--rebuild"], ["index", "--ray=local", "--rebuild"]),
        (["index", "--ray", "auto"], ["index", "--ray", "auto"]),
        (["index", "--ray", "10.0.0.5:6379", "corpus"], ["index", "--ray", "10.0.0.5:6379", "corpus"]),
        (["index", "--ray", "ray://head:10001"], ["index", "--ray", "ray://head:10001"]),
    ],
)
def test_ray_address_is_optional_on_the_command_line(argv, expected) -> None:
    from cli.main import with_optional_values

    assert with_optional_values(argv) == expected
