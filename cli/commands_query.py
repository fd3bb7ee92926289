"""`rag search` and `rag ask`: ranked passages, and cited numeric answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cli.options import IndexDirOption, ModelOption, settings_with

if TYPE_CHECKING:
    from rag.engine import Engine
    from rag.quantities import Quantity
    from rag.types import Answer, Citation, Filters

console = Console()
ModeOption = Annotated[str, typer.Option("--mode", help="Retrieval: hybrid, dense or bm25")]
DocOption = Annotated[list[str] | None, typer.Option("--doc", help="Only these doc_ids (repeatable)")]
AfterOption = Annotated[str | None, typer.Option("--after", help="Published on or after (YYYY-MM-DD)")]
BeforeOption = Annotated[str | None, typer.Option("--before", help="Published on or before (YYYY-MM-DD)")]


def _engine(index_dir: Path | None, model: str | None, mode: str) -> Engine:
    from index.errors import InputError
    from rag.engine import Engine, EngineConfig

    if mode not in ("hybrid", "dense", "bm25"):
        raise InputError(f"--mode must be hybrid, dense or bm25, not {mode!r}")
    settings = settings_with(index_dir=index_dir, model=model)
    return Engine(EngineConfig.from_settings(settings, mode=mode))


def _filters(docs: list[str] | None, after: str | None, before: str | None) -> Filters:
    from rag.types import Filters

    return Filters(doc_ids=frozenset(docs) if docs else None, published_after=after, published_before=before)


def search(
    query: Annotated[str, typer.Argument(help="What to look for")],
    k: Annotated[int, typer.Option("-k", help="Number of passages", min=1, max=100)] = 5,
    mode: ModeOption = "hybrid",
    doc: DocOption = None,
    after: AfterOption = None,
    before: BeforeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    index_dir: IndexDirOption = None,
    model: ModelOption = None,
) -> None:
    """Print the passages that best match a query, with scores, titles and dates."""
    from rag.serialize import hit_to_dict

    hits = _engine(index_dir, model, mode).search(query, k=k, filters=_filters(doc, after, before))
    if as_json:
        print(json.dumps([hit_to_dict(h) for h in hits], indent=2, ensure_ascii=False))
        return
    if not hits:
        console.print("no passage matches")
    table = Table("#", "score", "dense", "bm25", "document", "passage", show_lines=True)
    for hit in hits:
        table.add_row(
            str(hit.rank + 1),
            f"{hit.score:.4f}",
            "-" if hit.dense_score is None else f"{hit.dense_score:.3f}",
            "-" if hit.lexical_score is None else f"{hit.lexical_score:.2f}",
            f"{hit.document.title}\n{hit.document.published or 'undated'}\n{hit.chunk.chunk_id}",
            Text(hit.chunk.text[:600] + ("…" if len(hit.chunk.text) > 600 else "")),
        )
    console.print(table)


def ask(
    question: Annotated[str, typer.Argument(help="A question, e.g. 'how big is the capacity fund?'")],
    k: Annotated[int, typer.Option("-k", help="Passages to read", min=1, max=50)] = 5,
    mode: ModeOption = "hybrid",
    doc: DocOption = None,
    after: AfterOption = None,
    before: BeforeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer object as JSON")] = False,
    index_dir: IndexDirOption = None,
    model: ModelOption = None,
) -> None:
    """Answer a question with a number and the sentence it comes from."""
    from rag.serialize import answer_to_dict

    answer = _engine(index_dir, model, mode).ask(question, k=k, filters=_filters(doc, after, before))
    if as_json:
        print(json.dumps(answer_to_dict(answer), indent=2, ensure_ascii=False))
        return
    _print_answer(answer)


def _print_answer(answer: Answer) -> None:
    if answer.abstained:
        console.print(f"[bold yellow]No answer.[/] {answer.reason}", highlight=False)
    else:
        console.print(f"[bold green]{answer.answer}[/]", highlight=False)
        if answer.reason:
            console.print(f"[dim]note: {answer.reason}[/]", highlight=False)
    for citation in answer.citations:
        _print_citation(citation, answer.quantity)
    if answer.also_reported:
        console.print("\n[bold]Also reported:[/]")
        for other in answer.also_reported:
            console.print(f"  [cyan]{other.answer}[/]", highlight=False, end="")
            _print_citation(other.citation, other.quantity, indent="  ")


def _print_citation(citation: Citation, quantity: Quantity | None, indent: str = "") -> None:
    text = Text(indent + "“")
    body = Text(citation.text)
    if quantity is not None and citation.start <= quantity.start and quantity.end <= citation.end:
        body.stylize("bold reverse", quantity.start - citation.start, quantity.end - citation.start)
    text.append(body)
    text.append("”")
    console.print(text)
    if citation.table is not None:  # a table cell: name its table, row and column
        cell = citation.table
        caption = f"table “{cell.caption}”" if cell.caption else "a table"
        unit = f", {cell.unit}" if cell.unit and cell.unit not in (cell.caption or "") else ""
        console.print(f"{indent}  {caption}, row “{cell.row}”, column “{cell.column}”{unit}", highlight=False)
    console.print(
        f"{indent}  — {citation.title} ({citation.published or 'undated'}), {citation.doc_id}",
        style="dim",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add the commands of this module to the app."""
    app.command()(search)
    app.command()(ask)
