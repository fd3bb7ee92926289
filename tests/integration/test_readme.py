"""The README's examples are what the tool prints: each `$ rag ask` block is run on the bundled corpus."""

from __future__ import annotations

import json
import re

import pytest
import typer
from typer.testing import CliRunner

from cli import commands_query
from tests.conftest import PROJECT_ROOT

DOCS = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
_ASK_BLOCK = re.compile(r'```text\n\$ rag ask "(?P<question>[^"]+)"\n(?P<shown>.*?)```', re.S)


def _ask_examples() -> list[tuple[str, str, str]]:
    return [
        (path.name, m["question"], m["shown"]) for path in DOCS for m in _ASK_BLOCK.finditer(path.read_text())
    ]


def _rag() -> typer.Typer:
    """The `rag` commands that answer, as the console script registers them."""
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test entry with the query commands."""

    commands_query.register(app)
    return app


def _words(text: str) -> str:
    return " ".join(text.split())


def test_the_docs_show_at_least_one_ask_example():
    assert _ask_examples()


@pytest.mark.parametrize(("doc", "question", "shown"), _ask_examples())
def test_every_ask_example_prints_what_the_docs_show(built_index, doc, question, shown):
    result = CliRunner().invoke(_rag(), ["ask", question, "--index-dir", str(built_index[0]), "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    lines = [line for line in shown.splitlines() if line.strip()]
    assert answer["answer"] == lines[0].strip(), (doc, question)
    cited = re.search(r"“(.+?)”", shown, re.S)
    assert cited and _words(cited.group(1)) == _words(answer["citations"][0]["text"]), (doc, question)
    reported = re.findall(r"^  (\S.*?)  “", shown, re.M)
    assert [r["answer"] for r in answer["also_reported"]] == reported, (doc, question)


def test_the_json_example_has_the_keys_rag_ask_json_prints(built_index):
    readme = (PROJECT_ROOT / "README.md").read_text()
    example = re.search(
        r"`rag ask --json` prints the object the API returns:\n\n```json\n(.*?)```", readme, re.S
    )
    assert example
    keys = set(re.findall(r'"(\w+)": ', example.group(1).split('"citations"')[0]))
    question = "How much did China earmark in loans for capacity cooperation?"
    result = CliRunner().invoke(_rag(), ["ask", question, "--index-dir", str(built_index[0]), "--json"])
    answer = json.loads(result.output)
    assert keys - {"value", "unit", "text", "kind", "qualifier", "start", "end"} <= set(answer)
    shown = json.loads(example.group(1).replace("{...}", "{}").replace("...", ""))
    assert answer["answer"] == shown["answer"] and answer["quantity"]["text"] == shown["quantity"]["text"]
    assert answer["citations"][0]["start"] == shown["citations"][0]["start"]
