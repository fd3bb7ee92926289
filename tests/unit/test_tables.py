"""Tables read as tables: HTML and Markdown readers, linearised rows, and cell offsets."""

from __future__ import annotations

import time

import pytest

from index.chunk import chunk_document
from index.ingest import document_from_text
from index.stores.contract import embedding_text
from index.tables import LinearTable, find_unit, leading_header_rows, linearise, make_table
from index.types import Document

PROSE = "Acme Corporation reported its annual results on Tuesday, and its shares rose in early trading."


def html_document(body: str, title: str = "") -> Document:
    """Ingest an HTML page with the given body through the real cleaning."""
    head = f"<h1>{title}</h1>" if title else ""
    return document_from_text("page", f"<html><body>{head}<p>{PROSE}</p>{body}</body></html>", fmt="html")


def cells_of(document: Document, table: int = 0) -> dict[tuple[str, str], str]:
    """Map (row, column) to the text each cell's offsets point at."""
    return {(c.row, c.column): document.text[c.start : c.end] for c in document.tables[table].cells}


def assert_offsets_hold(document: Document) -> None:
    """Every cell's offsets point at its value inside its own row line, after its column header."""
    for table in document.tables:
        assert document.text[table.start : table.end].strip()
        for cell in table.cells:
            line_start = document.text.rfind("\n", 0, cell.start) + 1
            line_end = document.text.find("\n", cell.end)
            line = document.text[line_start : line_end if line_end >= 0 else None]
            value = document.text[cell.start : cell.end]
            assert value and "\n" not in value
            assert line.startswith(cell.row)
            prefix = f"{cell.column}: " if cell.column else ""
            assert document.text[cell.start - len(prefix) : cell.start] == prefix


RESULTS = """
<p>Group results ($ millions)</p>
<table>
  <thead><tr><th></th><th>2004</th><th>2003</th></tr></thead>
  <tbody>
    <tr><th scope="row">Revenue</th><td>1,234</td><td>1,100</td></tr>
    <tr><th scope="row">Operating profit</th><td>210</td><td>180</td></tr>
  </tbody>
</table>
<p>The board proposed a higher dividend.</p>
"""


def test_html_table_rows_are_linearised_with_their_headers() -> None:
    document = html_document(RESULTS)
    assert "Revenue | 2004: 1,234 | 2003: 1,100\nOperating profit | 2004: 210 | 2003: 180" in document.text
    assert cells_of(document) == {
        ("Revenue", "2004"): "1,234",
        ("Revenue", "2003"): "1,100",
        ("Operating profit", "2004"): "210",
        ("Operating profit", "2003"): "180",
    }
    assert_offsets_hold(document)


def test_sentence_before_the_table_is_its_caption_and_gives_its_unit() -> None:
    table = html_document(RESULTS).tables[0]
    assert (table.caption, table.unit) == ("Group results ($ millions)", "($ millions)")


def test_offsets_hold_after_a_title_line_is_put_in_front() -> None:
    document = html_document(RESULTS, title="Acme results for 2004")
    assert document.text.startswith("Acme results for 2004\n\n")
    assert cells_of(document)[("Revenue", "2004")] == "1,234"
    assert_offsets_hold(document)


def test_colspan_and_rowspan_are_expanded() -> None:
    body = """<table>
      <tr><th rowspan="2">Item</th><th colspan="2">Group results</th></tr>
      <tr><th>2004</th><th>2003</th></tr>
      <tr><td rowspan="2">Net income</td><td>150</td><td>132</td></tr>
      <tr><td>99</td><td>98</td></tr>
    </table>"""
    document = html_document(body)
    cells = [(c.row, c.column, document.text[c.start : c.end]) for c in document.tables[0].cells]
    assert cells == [
        ("Net income", "Group results / 2004", "150"),
        ("Net income", "Group results / 2003", "132"),
        ("Net income", "Group results / 2004", "99"),
        ("Net income", "Group results / 2003", "98"),
    ]
    assert_offsets_hold(document)


def test_a_rowspan_after_a_short_row_keeps_its_column() -> None:
    body = """<table><tr><th></th><th>A</th><th>B</th><th>C</th></tr>
      <tr><td>x</td><td>1</td><td></td><td rowspan="2">9</td></tr>
      <tr><td>y</td></tr></table>"""
    document = html_document(body)
    assert cells_of(document) == {("x", "A"): "1", ("x", "C"): "9", ("y", "C"): "9"}


def test_several_th_cells_head_a_row_together() -> None:
    body = """<table><thead><tr><th></th><th></th><th>2019</th></tr></thead>
      <tr><th>Earnings per share</th><th>Basic</th><td>$1.20</td></tr>
      <tr><th>Earnings per share</th><th>Diluted</th><td>$1.15</td></tr></table>"""
    document = html_document(body)
    assert cells_of(document) == {
        ("Earnings per share / Basic", "2019"): "$1.20",
        ("Earnings per share / Diluted", "2019"): "$1.15",
    }


def test_caption_element_is_the_first_line_and_names_the_unit() -> None:
    body = """<table><caption>Budget (in € million)</caption>
      <tr><th>Item</th><th>2020</th></tr><tr><td>Schools</td><td>12.5</td></tr></table>"""
    document = html_document(body)
    table = document.tables[0]
    assert (table.caption, table.unit) == ("Budget (in € million)", "(in € million)")
    assert document.text[table.start : table.end] == "Budget (in € million)\nSchools | 2020: 12.5"


@pytest.mark.parametrize("unit", ["(in millions)", "$ in thousands", "in € million", "($ millions)"])
def test_a_unit_row_of_its_own_becomes_the_unit_line(unit: str) -> None:
    body = f"""<table><tr><th></th><th>2020</th></tr><tr><td colspan="2">{unit}</td></tr>
      <tr><td>Sales</td><td>75</td></tr></table>"""
    document = html_document(body)
    table = document.tables[0]
    assert table.unit == unit
    assert document.text[table.start : table.end] == f"{unit}\nSales | 2020: 75"


def test_ragged_rows_are_padded_and_empty_cells_skipped() -> None:
    body = """<table><tr><th></th><th>Q1</th><th>Q2</th><th>Q3</th></tr>
      <tr><td>North</td><td>5</td></tr><tr><td>South</td><td>6</td><td></td><td>8</td></tr></table>"""
    document = html_document(body)
    assert "North | Q1: 5\nSouth | Q1: 6 | Q3: 8" in document.text
    assert cells_of(document)[("South", "Q3")] == "8"


def test_nested_table_is_read_as_its_own_table() -> None:
    inner = "<table><tr><th></th><th>Men</th></tr><tr><td>Runners</td><td>40</td></tr></table>"
    body = f"""<table><tr><th></th><th>2020</th></tr>
      <tr><td>Entrants</td><td>90 {inner}</td></tr></table>"""
    document = html_document(body)
    assert len(document.tables) == 2
    assert cells_of(document, 0) == {("Entrants", "2020"): "90"}
    assert cells_of(document, 1) == {("Runners", "Men"): "40"}
    assert_offsets_hold(document)


def test_layout_table_of_one_column_stays_text_and_empty_table_is_dropped() -> None:
    layout = f"<table><tr><td><p>{PROSE}</p></td></tr><tr><td>Second cell text.</td></tr></table>"
    body = layout + "<table></table>"
    document = html_document(body)
    assert document.tables == ()
    assert "Second cell text." in document.text and " | " not in document.text


def test_row_lines_survive_cleaning_rules() -> None:
    # a lower-case row after a digit would be joined as a hard wrap; digit-free rows look like link bars
    body = """<table><tr><th>Role</th><th>Name</th><th>Office</th></tr>
      <tr><td>Chair</td><td>Ann Lee</td><td>Main office</td></tr>
      <tr><td>deputy chair</td><td>Bo Chan</td><td>Main office</td></tr>
      <tr><td>deputy chair</td><td>Bo Chan</td><td>Main office</td></tr></table>"""
    document = html_document(body)
    expected = "deputy chair | Name: Bo Chan | Office: Main office"
    assert f"Chair | Name: Ann Lee | Office: Main office\n{expected}\n{expected}" in document.text
    assert len(document.tables[0].cells) == 6


def test_page_without_tables_has_none() -> None:
    assert html_document("<p>Nothing tabular here at all, only a sentence.</p>").tables == ()


MARKDOWN = f"""# Acme results

{PROSE}

Group results, in millions of dollars:

| Item | 2004 | 2003 |
|------|-----:|:----:|
| Revenue | 1,234 | 1,100 |
| Operating profit | 210 |
| Net \\| other | 5 | 6 |

The board proposed a higher dividend.
"""


def test_markdown_pipe_table() -> None:
    document = document_from_text("md", MARKDOWN, fmt="markdown")
    assert "Revenue | 2004: 1,234 | 2003: 1,100\nOperating profit | 2004: 210\nNet | other" in document.text
    assert cells_of(document)[("Operating profit", "2004")] == "210"
    assert cells_of(document)[("Net | other", "2003")] == "6"
    table = document.tables[0]
    assert table.caption == "Group results, in millions of dollars:"
    assert table.unit == "in millions of dollars"
    assert_offsets_hold(document)


def test_markdown_without_a_delimiter_row_is_not_a_table() -> None:
    text = f"{PROSE}\n\nA | B | C is how the menu reads.\nNothing else | here.\n"
    assert document_from_text("md", text, fmt="markdown").tables == ()


def test_plain_grid_headers_follow_the_empty_corner() -> None:
    rows = [["", "Year ended", ""], ["", "2019", "2018"], ["Revenue", "5", "4"], ["", "9", "8"]]
    assert leading_header_rows(rows) == 2
    table = make_table(rows, 2)
    assert table is not None
    assert linearise(table).lines == (
        "Revenue | Year ended / 2019: 5 | Year ended / 2018: 4",
        "Year ended / 2019: 9 | Year ended / 2018: 8",
    )


@pytest.mark.parametrize(
    ("rows", "headers"),
    [
        # a unit line in the corner of the second row, under a label spanning the years
        (
            [
                ["", "Year ended March 31,", ""],
                ["(In thousands)", "2019", "2018"],
                ["Furniture", "$11,604", "$10,671"],
            ],
            2,
        ),
        # a label in the corner, years in the other cells
        (
            [
                ["Years Ended December 31", "", ""],
                ["Assumptions", "2019", "2018"],
                ["Dividend yield", "4.5%", "4.6%"],
            ],
            2,
        ),
        # the unit and the years under two rows of spanning labels
        (
            [
                ["", "", "Amount of gain recognised", ""],
                ["", "", "Years ended June 30,", ""],
                ["($ in millions)", "2019", "2018", "2017"],
                ["Commodity contracts", "$45.4", "$31.0", "$12.1"],
            ],
            3,
        ),
        # under a label that a flattened span repeats over the years
        (
            [
                ["End-use market", "Year ended June 30,", "Year ended June 30,"],
                ["($ in millions)", "2019", "2018"],
                ["Aerospace and Defense", "$1,327.9", "$1,182.3"],
            ],
            2,
        ),
        # a table of names and years: its first row spans nothing, so the second row is a body row
        ([["Name", "Joined"], ["John", "2019"], ["Ann", "2017"]], 1),
        # a labelled unit line is not a header row (the table's unit reader takes it)
        ([["", "2019", "2018"], ["Revenue by country", "$M", "$M"], ["UK", "83.2", "73.5"]], 1),
    ],
)
def test_a_second_header_row_may_state_the_unit_or_the_years_in_its_corner(rows, headers) -> None:
    assert leading_header_rows(rows) == headers


def test_a_unit_in_the_corner_of_the_year_row_is_the_tables_unit_and_the_years_head_the_columns() -> None:
    rows = [
        ["", "Year ended March 31,", ""],
        ["(In thousands)", "2019", "2018"],
        ["Furniture", "$11,604", "$10,671"],
    ]
    table = make_table(rows, leading_header_rows(rows))
    assert table is not None and table.unit == "(In thousands)"
    assert linearise(table).lines == (
        "Furniture | Year ended March 31, / 2019: $11,604 | Year ended March 31, / 2018: $10,671",
    )


def test_flattened_spans_in_upper_header_rows_head_the_columns_below() -> None:
    rows = [
        ["", "Domestic", "", "International", ""],
        ["", "2019", "2018", "2019", "2018"],
        ["Rate", "1", "2", "3", "4"],
    ]
    table = make_table(rows, 2)
    assert table is not None
    assert linearise(table).lines == (
        "Rate | Domestic / 2019: 1 | Domestic / 2018: 2 | International / 2019: 3 | International / 2018: 4",
    )


def test_ten_thousand_rows_ingest_in_linear_time() -> None:
    rows = "".join(f"<tr><td>Item {i}</td><td>{i * 3}</td><td>{i * 7}</td></tr>" for i in range(10_000))
    body = f"<table><tr><th></th><th>2020</th><th>2021</th></tr>{rows}</table>"
    started = time.perf_counter()
    document = html_document(body)
    elapsed = time.perf_counter() - started
    assert len(document.tables[0].cells) == 20_000
    assert cells_of(document)[("Item 9999", "2021")] == str(9999 * 7)
    assert elapsed < 20, elapsed  # quadratic string building took minutes here


def test_linearise_offsets_are_relative_to_the_joined_lines() -> None:
    table = make_table([["", "A"], ["x", "1"], ["y", "22"]], 1, caption="Caption")
    assert table is not None
    linear: LinearTable = linearise(table)
    joined = "\n".join(linear.lines)
    assert [joined[c.start : c.end] for c in linear.cells] == ["1", "22"]


def test_chunks_hold_whole_row_lines() -> None:
    rows = "".join(
        f"<tr><td>Item {i}. Note</td><td>{i}. Up</td><td>{i * 7}</td></tr>" for i in range(60)
    )  # ". " inside a cell would end a sentence in prose
    document = html_document(f"<table><tr><th></th><th>A</th><th>B</th></tr>{rows}</table>")
    lines = {line for line in document.text[document.tables[0].start : document.tables[0].end].split("\n")}
    chunks = chunk_document(document, 64, 16)
    assert len(chunks) > 3
    for chunk in chunks:
        for line in chunk.text.split("\n"):
            if " | " in line:
                assert line in lines, line


def test_embedding_text_of_a_row_chunk_carries_the_table_caption() -> None:
    rows = "".join(f"<tr><td>Item {i}</td><td>{i}</td></tr>" for i in range(60))
    body = f"<table><caption>Spending by ward</caption><tr><th></th><th>2020</th></tr>{rows}</table>"
    document = html_document(body)
    last = chunk_document(document, 64, 0)[-1]
    assert "Spending by ward" not in last.text
    assert embedding_text(document, last).split("\n")[:2] == [document.title, "Spending by ward"]


def test_embedding_text_of_a_text_chunk_is_unchanged() -> None:
    document = html_document("<p>Only prose follows the first paragraph here.</p>")
    chunk = chunk_document(document)[0]
    assert embedding_text(document, chunk) == (
        chunk.text if chunk.text.startswith(document.title) else f"{document.title}\n{chunk.text}"
    )


STATED = """# Acme Corporation notes to the financial statements (in thousands, except per share data)

Note 4. The results for the year were as follows:

|  | 2019 | 2018 |
|---|---|---|
| Revenue | $1,234 | $1,100 |
| Basic earnings per share | $0.34 | $0.30 |

The company bought back stock in the year (shares in millions).

Staff by region:

|  | 2019 | 2018 |
|---|---|---|
| Europe | 1,200 | 1,100 |
"""


def test_a_unit_stated_once_under_a_heading_is_the_unit_of_the_tables_after_it() -> None:
    document = document_from_text("notes", STATED, fmt="markdown")
    first, second = document.tables
    assert first.unit == "(in thousands, except per share data)"
    assert second.unit == "(in thousands, except per share data)"  # a statement about shares is not one


def test_a_table_keeps_its_own_unit_over_a_stated_one() -> None:
    text = STATED.replace("Staff by region:", "Staff costs by region ($ in millions):")
    assert document_from_text("notes", text, fmt="markdown").tables[1].unit == "($ in millions)"


def test_a_parenthesis_inside_an_earlier_table_states_no_unit_for_the_next() -> None:
    text = (
        f"{PROSE}\n\n|  | 2019 |\n|---|---|\n| Sales (in millions) | 5 |\n\n"
        "Staff by region were counted at the end of the year, as follows:\n\n"
        "|  | 2019 |\n|---|---|\n| Europe | 1,200 |\n"
    )
    document = document_from_text("notes", text, fmt="markdown")
    assert document.tables[1].unit is None


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("(dollars in thousands)", "in thousands"),  # not "in thousands)": the bracket is the sentence's
        ("(in thousands)", "(in thousands)"),
        ("Sales ($ in millions", "$ in millions"),
    ],
)
def test_a_unit_phrase_keeps_no_unbalanced_bracket(text, unit) -> None:
    assert find_unit(text) == unit
