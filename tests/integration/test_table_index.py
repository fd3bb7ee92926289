"""`rag index` on a folder of .html, .md and .pdf files with tables, then `rag search` finds rows."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from bench.soak import rag_command
from index.ingest import discover_files, load_documents
from index.stores.faiss.store import current_version, load_store

PDFS = Path(__file__).resolve().parents[1] / "fixtures" / "pdf"
BUDGET_HTML = """<html><head><title>City budget 2020</title></head><body><h1>City budget 2020</h1>
<p>The city council approved its budget for 2020 on Monday after a long debate about schools.</p>
<table><caption>Spending by department (in € million)</caption>
<thead><tr><th>Department</th><th>2020</th><th>2019</th></tr></thead>
<tbody><tr><th scope="row">Schools</th><td>12.5</td><td>11.0</td></tr>
<tr><th scope="row">Road maintenance</th><td>7.25</td><td>6.8</td></tr></tbody></table>
</body></html>
"""
HARVEST_MD = """# Harvest report

The ministry of agriculture published the harvest figures for the main crops on Friday morning.

Harvest by crop, in thousands of tonnes:

| Crop | 2021 | 2020 |
|---|---|---|
| Winter wheat | 3,410 | 3,120 |
| Sugar beet | 905 | 870 |
"""


def run_rag(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return subprocess.run([*rag_command(), *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def table_folder(tmp_path_factory) -> Path:
    pytest.importorskip("pdfplumber", reason="PDF ingest needs pdfplumber: pip install 'pdfplumber<0.12'")
    folder = tmp_path_factory.mktemp("tables")
    (folder / "budget.html").write_text(BUDGET_HTML, encoding="utf-8")
    (folder / "harvest.md").write_text(HARVEST_MD, encoding="utf-8")
    shutil.copy(PDFS / "report.pdf", folder / "report.pdf")
    return folder


@pytest.fixture(scope="module")
def table_index(table_folder, tmp_path_factory) -> Path:
    index_dir = tmp_path_factory.mktemp("table-index")
    result = run_rag("index", str(table_folder), "--index-dir", str(index_dir))
    assert result.returncode == 0, result.stderr
    return index_dir


def test_the_index_holds_every_files_tables_as_ingested(table_folder, table_index):
    ingested, skipped = load_documents(discover_files([table_folder]))
    assert not skipped
    stored = load_store(table_index).documents
    assert {doc_id: len(d.tables) for doc_id, d in stored.items()} == {"budget": 1, "harvest": 1, "report": 1}
    for document in ingested:
        assert stored[document.doc_id] == document
        for cell in stored[document.doc_id].tables[0].cells:
            assert document.text[cell.start : cell.end] in {
                "12.5", "11.0", "7.25", "6.8", "3,410", "3,120", "905", "870",
                "1,234", "1,100", "210", "180", "150", "132",
            }  # fmt: skip


@pytest.mark.parametrize(
    "query,doc_id,row",
    [
        ("road maintenance spending", "budget", "Road maintenance | 2020: 7.25 | 2019: 6.8"),
        ("sugar beet", "harvest", "Sugar beet | 2021: 905 | 2020: 870"),
        ("operating profit", "report", "Operating profit | 2004: 210 | 2003: 180"),
    ],
)
def test_rag_search_finds_a_row_by_its_header_words(table_index, query, doc_id, row):
    result = run_rag("search", query, "--index-dir", str(table_index), "--json", "-k", "1")
    assert result.returncode == 0, result.stderr
    [hit] = json.loads(result.stdout)
    assert hit["doc_id"] == doc_id and row in hit["text"]


def test_a_bad_pdf_added_later_is_skipped_and_nothing_indexed_is_lost(table_folder, tmp_path):
    folder = tmp_path / "docs"
    shutil.copytree(table_folder, folder)
    index_dir = tmp_path / "index"
    assert run_rag("index", str(folder), "--index-dir", str(index_dir)).returncode == 0
    shutil.copy(PDFS / "encrypted.pdf", folder / "locked.pdf")
    result = run_rag("index", str(folder), "--index-dir", str(index_dir))
    said = " ".join((result.stdout + result.stderr).split())
    assert "locked.pdf: PDF is encrypted; decrypt it first" in said
    assert sorted(load_store(index_dir).documents) == ["budget", "harvest", "report"]


def test_an_index_written_before_tables_were_kept_still_loads(table_index, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(table_index, old)
    documents = current_version(old) / "documents.jsonl"
    records = [json.loads(line) for line in documents.read_text(encoding="utf-8").splitlines()]
    old_records = [{k: v for k, v in record.items() if k != "tables"} for record in records]
    documents.write_text("".join(json.dumps(record) + "\n" for record in old_records))
    loaded = load_store(old).documents
    assert sorted(loaded) == ["budget", "harvest", "report"]
    assert all(d.tables == () for d in loaded.values())
