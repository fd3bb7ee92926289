"""Bad input files and damaged index files, end to end through the `rag` command line.

tests/unit/test_ingest.py covers the loader file by file and tests/integration/test_index.py the library's
errors for a damaged index; here the whole command runs: `rag index` over a folder of good and
bad files, and `rag info` / `rag ask` / `rag search` over an index damaged on disk.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.soak import rag_command, server_env
from index.stores.faiss.store import current_version, load_store
from rag.engine import Engine, EngineConfig

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CORPUS = PROJECT_ROOT / "corpus"
MODEL = "all-MiniLM-L6-v2"
FUND_Q = "how big is the capacity fund?"
# answered with confidence; the fund question abstains below the threshold (README)
LOANS_Q = "How much did China earmark in loans for capacity cooperation?"
CLI_TIMEOUT_S = 300
BODY = "Kazakhstan and China signed a trade agreement worth 27 billion dollars on Friday in Astana."
NOISY_HTML = (
    "<!doctype html><html><head><title>Grain deal signed | News Site</title>"
    + "<script>window.dataLayer = window.dataLayer || []; function gtag(){}</script>" * 40
    + "<style>body { font-family: sans-serif } .ad { display: none }</style>" * 20
    + "</head><body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
    f"<article><h1>Grain deal signed</h1><p>{BODY}</p><script>track(42);</script>"
    "<p>Officials said exports of grain would double by 2025.</p></article>"
    "<footer>Copyright 2019 News Site</footer>"
    + "<script>var ads = {slot: 'x'};</script>" * 40
    + "</body></html>"
)


def run_rag(*args: str, cwd: Path, index_dir: Path) -> subprocess.CompletedProcess:
    """Run the `rag` command with a clean environment; wide columns so no message is wrapped."""
    env = {**server_env(index_dir), "COLUMNS": "500"}
    return subprocess.run(
        [*rag_command(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=CLI_TIMEOUT_S
    )


def error_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


# --- a folder of good and bad files ---------------------------------------------------------

GOOD = {"002_158f33fd42f0f3d5", "004_c370dfeada57f66a", "latin", "utf16", "page"}
BAD = {
    "binary.txt": "binary file",
    "empty.txt": "empty file",
    "big.txt": "file is 11 MB, over the 10 MB limit",
    "boilerplate.txt": "no article text after cleaning",
}


def make_mixed_folder(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for doc_id in ("002_158f33fd42f0f3d5", "004_c370dfeada57f66a"):
        shutil.copy(CORPUS / f"{doc_id}.txt", folder)
    (folder / "latin.txt").write_bytes(f"Café owners in Almaty\n\n{BODY}".encode("latin-1"))
    (folder / "utf16.txt").write_bytes(f"Trade agreement\n\n{BODY}".encode("utf-16"))  # with a BOM
    (folder / "page.html").write_text(NOISY_HTML)
    (folder / "binary.txt").write_bytes(b"GIF89a\x00\x01\x02\x00\xff" * 50)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "big.txt").write_text(BODY + "\n" * (11 * 1024 * 1024))
    (folder / "boilerplate.txt").write_text(
        "LINE\n\nText:AAAPrint\n\nFound an error in the text?\n\nRelated news\n"
    )
    return folder


@pytest.mark.slow
def test_rag_index_skips_each_bad_file_by_name_and_indexes_the_rest(tmp_path):
    folder = make_mixed_folder(tmp_path / "articles")
    index_dir = tmp_path / "index"
    result = run_rag("index", str(folder), "--index-dir", str(index_dir), cwd=tmp_path, index_dir=index_dir)
    assert result.returncode == 0, result.stderr[-2000:]
    for name, reason in BAD.items():
        assert f"skipped {folder / name}: {reason}" in result.stdout, (name, result.stdout)
    skip_lines = [line for line in result.stdout.splitlines() if line.startswith("skipped ")]
    assert len(skip_lines) == len(BAD), skip_lines
    store = load_store(index_dir, model=MODEL, dim=384)
    assert set(store.documents) == GOOD
    assert store.documents["latin"].text.startswith("Café owners")
    assert store.documents["utf16"].extra["encoding"] == "utf-16"
    page = store.documents["page"].text
    assert BODY in page and "gtag" not in page and "font-family" not in page


@pytest.mark.slow
def test_rag_index_of_only_bad_files_says_there_is_nothing_to_index(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02" * 40)
    index_dir = tmp_path / "index"
    result = run_rag("index", str(folder), "--index-dir", str(index_dir), cwd=tmp_path, index_dir=index_dir)
    assert result.returncode == 1
    assert error_lines(result) == [
        "error: there are no documents to index; give at least one .txt, .md or .html article"
    ]
    assert "Traceback" not in result.stderr
    assert not (index_dir / "CURRENT").exists()


# --- a damaged index ------------------------------------------------------------------------


def _truncate_faiss(folder: Path) -> None:
    data = (folder / "dense.faiss").read_bytes()
    (folder / "dense.faiss").write_bytes(data[: len(data) // 2])


def _edit_manifest(folder: Path) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["n_chunks"] += 3
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _drop_chunk_records(folder: Path) -> None:
    lines = (folder / "chunks.jsonl").read_text().splitlines()
    (folder / "chunks.jsonl").write_text("\n".join(lines[:-2]) + "\n")


def _truncate_bm25(folder: Path) -> None:
    path = folder / "bm25" / "data.csc.index.npy"
    path.write_bytes(path.read_bytes()[:100])


def _empty_vectors(folder: Path) -> None:
    (folder / "vectors.npy").write_bytes(b"")


def _garble_current(folder: Path) -> None:
    (folder.parent / "CURRENT").write_bytes(b"\xff\xfe\x00v-")


DAMAGES: dict[str, Callable[[Path], None]] = {
    "truncated-faiss": _truncate_faiss,
    "edited-manifest": _edit_manifest,
    "missing-chunk-records": _drop_chunk_records,
    "truncated-bm25": _truncate_bm25,
    "empty-vectors": _empty_vectors,
    "garbled-current": _garble_current,
}


@pytest.fixture
def damaged(built_index, tmp_path) -> Callable[[str], Path]:
    """A copy of the session index with one kind of damage."""

    def make(kind: str) -> Path:
        index_dir = tmp_path / "index"
        shutil.copytree(built_index[0], index_dir)
        DAMAGES[kind](current_version(index_dir))
        return index_dir

    return make


@pytest.mark.parametrize("kind", DAMAGES)
def test_rag_info_reports_a_damaged_index_in_one_line(damaged, tmp_path, kind):
    index_dir = damaged(kind)
    result = run_rag("info", "--index-dir", str(index_dir), cwd=tmp_path, index_dir=index_dir)
    assert result.returncode == 1
    [line] = error_lines(result)
    assert "rag index --rebuild" in line
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.slow
def test_rag_ask_and_search_report_damage_and_rebuild_recovers(damaged, tmp_path, embedder):
    index_dir = damaged("truncated-faiss")
    env = {**server_env(index_dir), "COLUMNS": "500"}
    commands = [["ask", FUND_Q], ["search", "capacity fund"]]
    running = [
        subprocess.Popen(
            [*rag_command(), *args],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in commands
    ]
    for args, process in zip(commands, running, strict=True):
        stdout, stderr = process.communicate(timeout=CLI_TIMEOUT_S)
        result = subprocess.CompletedProcess(args, process.returncode, stdout, stderr)
        assert result.returncode == 1, (args, stderr[-2000:])
        [line] = error_lines(result)
        assert "dense.faiss" in line and "rag index --rebuild" in line
        assert "Traceback" not in stderr

    rebuilt = run_rag(
        "index", str(CORPUS), "--rebuild", "--index-dir", str(index_dir), cwd=tmp_path, index_dir=index_dir
    )
    assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
    assert run_rag("info", "--index-dir", str(index_dir), cwd=tmp_path, index_dir=index_dir).returncode == 0
    engine = Engine(EngineConfig(index_dir=index_dir, model=MODEL), embedder=embedder)
    assert engine.ask(LOANS_Q).answer == "$15 billion"
