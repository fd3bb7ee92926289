"""The question page in a real Chromium, against a real uvicorn server on 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn

from api.app import create_app
from index.stores.contract import ChunkParams, WriteRequest
from index.stores.faiss.build import update_index
from rag.engine import Engine, EngineConfig
from rag.settings import Settings
from tests.tables import BERTH_FEE_QUESTION, acme_documents

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
FUND_DOC = "002_158f33fd42f0f3d5"
FUND_TITLE = "China-Kazakhstan capacity cooperation on fast track: official"
TIMEOUT_MS = 30_000

pytestmark = pytest.mark.browser
if not CHROMIUM.exists():
    pytest.skip(
        f"chromium is not installed: {CHROMIUM} is missing (`make browser` installs it)",
        allow_module_level=True,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving(index_dir: Path, embedder) -> Iterator[str]:
    """uvicorn in a background thread on 127.0.0.1, serving the app over an index: its base URL."""
    engine = Engine(EngineConfig(index_dir=index_dir, model=embedder.name), embedder=embedder)
    settings = Settings(index_dir=index_dir, model=embedder.name, api_key=None, protect_reads=False)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, engine=engine), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start within 30 s")
        time.sleep(0.05)
    assert httpx.get(f"{base_url}/health", timeout=5).json()["index_loaded"] is True
    try:
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Chromium (Debian's chromium, never a downloaded one), shared by the module's pages."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def open_page(browser, url: str):
    """A new page of the browser at url."""
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    return page


@pytest.fixture(scope="module")
def server_url(built_index, embedder, tmp_path_factory) -> Iterator[str]:
    """The app over a copy of the session index."""
    index_dir = tmp_path_factory.mktemp("browser") / "index"
    shutil.copytree(built_index[0], index_dir)
    with serving(index_dir, embedder) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def page(browser, server_url) -> object:
    """A Chromium page on the question page."""
    return open_page(browser, server_url)


def ask(page, question: str) -> None:
    page.fill("#question", question)
    page.click("#ask-button")
    page.wait_for_selector("#result .card")


def test_page_shows_the_answer_with_its_highlighted_citation(page, artifacts_dir):
    ask(page, "How much did China earmark in loans for capacity cooperation?")
    result = page.locator("#result")
    assert page.locator("#answer-value").inner_text() == "$15 billion"
    citation = result.locator(".citation").first
    assert citation.locator(".title").inner_text() == FUND_TITLE
    assert citation.locator(".doc-id").inner_text() == FUND_DOC
    assert "2017" in citation.locator(".date").inner_text()
    highlighted = citation.locator("mark").inner_text()
    assert "15" in highlighted and "billion" in highlighted
    page.wait_for_function("document.querySelector('#index-status').textContent.length > 0")
    page.screenshot(path=str(artifacts_dir / "browser-answer.png"), full_page=True)


def test_page_lists_values_also_reported_with_dates_and_citations(page, server_url, artifacts_dir):
    question = "What is the value of the cooperation projects between China and Kazakhstan?"
    expected = httpx.post(f"{server_url}/ask", json={"question": question}, timeout=30).json()
    ask(page, question)
    reports = page.locator("#result .report")
    assert reports.count() == len(expected["also_reported"])
    for i, reported in enumerate(expected["also_reported"]):
        item = reports.nth(i)
        assert item.locator(".report-value").inner_text() == reported["answer"]
        assert item.locator(".title").inner_text() == reported["citation"]["title"]
        assert item.locator("mark").inner_text() == reported["quantity"]["text"]
    page.screenshot(path=str(artifacts_dir / "browser-also-reported.png"), full_page=True)


def test_page_shows_an_abstention_with_its_reason(page, artifacts_dir):
    ask(page, "How many cabins does the Zhetysu cable car have?")
    card = page.locator("#result .abstained")
    assert card.locator(".value").inner_text() == "No answer"
    assert card.locator(".reason").inner_text().strip()
    page.screenshot(path=str(artifacts_dir / "browser-abstained.png"), full_page=True)


def test_page_shows_errors(page, artifacts_dir):
    page.click("details.options summary")
    page.fill("#published-after", "2018-01-01")  # after the end of the range: the API answers 422
    page.fill("#published-before", "2017-01-01")
    ask(page, "how big is the capacity fund?")
    error = page.locator("#result .error")
    assert error.locator(".error-type").inner_text() == "InputError"
    assert "published_after" in error.locator(".error-message").inner_text()
    page.screenshot(path=str(artifacts_dir / "browser-error.png"), full_page=True)
    page.fill("#published-after", "")
    page.fill("#published-before", "")


@pytest.fixture(scope="module")
def table_page(browser, embedder, tmp_path_factory) -> Iterator[object]:
    """A Chromium page on the app over pages that hold tables (tests/tables.py)."""
    index_dir = tmp_path_factory.mktemp("browser-tables") / "index"
    update_index(index_dir, embedder, WriteRequest(files=acme_documents(), params=ChunkParams()))
    with serving(index_dir, embedder) as base_url:
        yield open_page(browser, base_url)


def test_page_shows_a_cited_cell_in_its_row_under_its_headers(table_page, artifacts_dir):
    ask(table_page, BERTH_FEE_QUESTION)
    assert table_page.locator("#answer-value").inner_text() == "€45,000"
    cited = table_page.locator("#result .citation").first.locator(".cell-table")
    assert cited.locator("figcaption").inner_text() == "Harbour fees (in € thousands)"
    assert cited.locator("thead th").all_inner_texts()[1:] == ["Fee"]
    assert cited.locator("tbody th").inner_text() == "Berth fee"
    assert cited.locator("td.cited mark").inner_text() == "45"
    assert cited.locator("th.cited-column").inner_text() == "Fee"
    table_page.screenshot(path=str(artifacts_dir / "browser-table-cell.png"), full_page=True)


def test_page_names_a_cells_unit_that_its_caption_does_not_state(table_page):
    text = "Revenue | 2019: 1,234 | 2018: 1,100"
    table = {"caption": "Results for the year", "row": "Revenue", "column": "2019", "start": 16, "end": 21,
             "unit": "(in thousands, except per share data)"}  # fmt: skip
    citation = {"text": text, "start": 0, "end": len(text), "table": table}
    shown = table_page.evaluate(
        """(citation) => [citation, {...citation, table: {...citation.table, unit: null}}]
            .map((c) => cellInRow(c, {text: "1,234", start: 16, end: 21}))
            .map((figure) => figure.querySelector("figcaption").textContent)""",
        citation,
    )
    assert shown == ["Results for the year · (in thousands, except per share data)", "Results for the year"]


def test_page_puts_a_cell_of_a_wider_row_under_its_own_column(table_page):
    # a row of two years, as POST /ask would cite its 2004 cell ("Operating profit | 2004: 210 | …")
    document = next(d for d in acme_documents() if d.doc_id == "acme-results")
    cell = next(c for c in document.tables[0].cells if (c.row, c.column) == ("Operating profit", "2004"))
    line_start = document.text.rindex("\n", 0, cell.start) + 1
    line_end = document.text.index("\n", cell.end)
    citation = {"text": document.text[line_start:line_end], "start": line_start, "end": line_end,
                "table": {"caption": document.tables[0].caption, "row": cell.row, "column": cell.column,
                          "start": cell.start, "end": cell.end}}  # fmt: skip
    quantity = {"text": "210", "start": cell.start, "end": cell.end}
    shown = table_page.evaluate(
        """([citation, quantity]) => {
            const figure = cellInRow(citation, quantity);
            return {headers: [...figure.querySelectorAll("thead th")].map((th) => th.textContent),
                    cells: [...figure.querySelectorAll("tbody td")].map((td) => td.textContent),
                    cited: figure.querySelector("td.cited mark").textContent,
                    column: figure.querySelector("th.cited-column").textContent};
        }""",
        [citation, quantity],
    )
    assert shown == {
        "headers": ["", "2004", "2003"],
        "cells": ["210", "180"],
        "cited": "210",
        "column": "2004",
    }


def test_page_marks_a_compared_year_in_its_cells_column_header(table_page):
    # "In which year was Acme's operating profit smaller?" answers 2003, the year its 2003 cell's
    # column header writes in the row line ("Operating profit | 2004: 210 | 2003: 180")
    document = next(d for d in acme_documents() if d.doc_id == "acme-results")
    cell = next(c for c in document.tables[0].cells if (c.row, c.column) == ("Operating profit", "2003"))
    line_start = document.text.rindex("\n", 0, cell.start) + 1
    line_end = document.text.index("\n", cell.end)
    year_start = cell.start - len("2003: ")
    citation = {"text": document.text[line_start:line_end], "start": line_start, "end": line_end,
                "table": {"caption": document.tables[0].caption, "row": cell.row, "column": cell.column,
                          "start": cell.start, "end": cell.end}}  # fmt: skip
    quantity = {"text": "2003", "start": year_start, "end": year_start + 4}
    shown = table_page.evaluate(
        """([citation, quantity]) => {
            const figure = cellInRow(citation, quantity);
            return {column: figure.querySelector("th.cited-column mark").textContent,
                    cited: figure.querySelector("td.cited").textContent,
                    marksInCells: figure.querySelectorAll("td mark").length};
        }""",
        [citation, quantity],
    )
    assert shown == {"column": "2003", "cited": "180", "marksInCells": 0}
