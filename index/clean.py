"""Clean stage: turn raw article text (plain, Markdown or HTML) into body text and metadata.

Cleaning works line by line with general rules, never per-file fixes:

* whitespace is normalised (runs of spaces collapse, lines are stripped, paragraphs are joined
  with a blank line) and hard-wrapped lines (a line starting in lower case after one ending in a
  letter, digit, comma or semicolon) are joined back with a space;
* lines matching a site-furniture pattern (copyright and reproduction notices, share buttons,
  link bars, "Found an error in the text?", image credits such as "Images | site", bylines
  such as "Editor: X", "... App Download") are dropped wherever they are;
* in the header, i.e. before the first prose line, single-token lines (section labels, "LINE",
  counters, "Text:AAAPrint"), timestamped datelines and a breadcrumb line that ends with a later
  header line (the same title prefixed by site sections) are dropped;
* from a footer marker ("Related news", "relevant news", "Most viewed", ...) to the end the
  text is cut, but only when nothing after the marker is prose (only navigation lines remain);
* a line repeating the line just before it is dropped, so a title shown three times stays once.

Every other line, including photo captions such as "... [Photo: Xinhua]", stays verbatim.

Metadata: the title is the first cleaned line when it is a headline (not prose), else the first
sentence without a "CITY. AGENCY" dateline, cut to 80 characters at a word boundary with "…".
The date is the first one stated in the raw header (first 6 non-empty lines, 600 characters),
so dates deep in the body are never taken; none there gives None. The source is the first
known agency named in the first 600 characters, else in the last 600, else None.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode

from index.table_readers import read_html_table, replace_pipe_tables
from index.tables import LinearTable, ParsedTable, linearise

DROPPED_HTML_TAGS = (
    "script", "style", "nav", "header", "footer", "aside", "noscript", "form",
    "template", "iframe", "svg", "button",
)  # fmt: skip
_BLOCK_TAGS = frozenset((
    "address", "article", "blockquote", "dd", "div", "dl", "dt", "figcaption", "figure", "h1",
    "h2", "h3", "h4", "h5", "h6", "hr", "li", "main", "ol", "p", "pre", "section", "table",
    "tbody", "td", "th", "thead", "tr", "ul",
))  # fmt: skip
_SENTENCE_END = tuple(".!?…\"”’')]»")
_PROSE_MIN_WORDS = 10
HEADER_LINES = 6  # non-empty lines of raw text searched for a dateline
HEADER_CHARS = 600
FOOTER_CHARS = 600
TITLE_MAX_CHARS = 80

_FURNITURE = [
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"line",
        r"text:\s*a+\s*print",
        r"back to top\b.*",
        r"(?:copyright\s*)?(?:©|\(c\)|copyright)\s*\d{4}.{0,150}",
        r".{0,80}\ball rights reserved\.?",
        r"reproduction in whole or in part without permission is prohibited\.?",
        r"this information may not be reproduced without reference to .{0,200}",
        r"found an error in the text\s*\??",
        r"select the error and press ctrl\s*\+\s*enter.{0,40}",
        r"(?:contribute\s+)?copyright policy",
        r"(?:images?|photos?|photo credit)\s*\|\s*\S+(?:\s\S+){0,3}",
        r".{0,60}\bapp download",
        r"(?:\S+\s+){0,2}editor:\s*\S+(?:\s\S+){0,3}",
        r"(?:about us|contact us|privacy policy|terms of (?:use|service))(?:\s*\|.*)?",
    )
]
_FOOTER_MARKER = re.compile(
    r"(?:related|relevant)\s+(?:news|articles|stories)|most\s+(?:viewed|popular|read)\b.{0,20}"
    r"|more\s+(?:news|stories)|read\s+more|see\s+also|you\s+may\s+also\s+like",
    re.IGNORECASE,
)
_TIMESTAMP = re.compile(r"(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}\.\d{1,2}\.\d{4}),?\s*\d{1,2}:\d{2}")
_LINK_BAR_MIN_SEGMENTS = 3
_DATELINE_PREFIX = re.compile(r"^[A-Z][A-Z' -]{1,30}[.,]\s+(?:[A-Z]{2,}\s+)+(?:[-–—]+\s*)?")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“])")
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_SPACES = re.compile(r"[^\S\n]+")

_MONTHS = {
    name: number
    for number, names in enumerate(
        [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
         ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
         ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
         ("dec", "december")],
        start=1,
    )
    for name in names
}  # fmt: skip
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DATE_PATTERNS = [
    # digits, not \b, bound the numeric forms: "2017-05-13T12:03" and "12:03Xinhua" occur
    re.compile(r"(?<![\d.-])(?P<year>\d{4})-(?P<mon>\d{1,2})-(?P<day>\d{1,2})(?![\d-])"),
    re.compile(r"(?<![\d.])(?P<day>\d{1,2})\.(?P<mon>\d{1,2})\.(?P<year>\d{4})(?![\d.]\d)"),
    re.compile(r"\b" + _MONTH + r"\s+(?P<day>\d{1,2}),?\s+(?P<year>\d{4})\b", re.IGNORECASE),
    re.compile(r"\b(?P<day>\d{1,2})\s+" + _MONTH + r",?\s+(?P<year>\d{4})\b", re.IGNORECASE),
]
KNOWN_SOURCES = (
    ("Xinhua", r"xinhua"),
    ("Kazinform", r"kazinform"),
    ("Kazakhstan Today", r"kazakhstan\s+today"),
    ("Reuters", r"reuters"),
    ("Associated Press", r"associated\s+press"),
    ("AFP", r"afp|agence\s+france-presse"),
    ("TASS", r"tass"),
    ("Interfax", r"interfax"),
    ("RIA Novosti", r"ria\s+novosti"),
    ("Tengrinews", r"tengrinews"),
    ("The Astana Times", r"astana\s+times"),
    ("China Daily", r"china\s+daily"),
    ("Global Times", r"global\s+times"),
    ("CGTN", r"cgtn"),
    ("People's Daily", r"people'?s\s+daily"),
    ("China News Service", r"china\s+news\s+service|chinanews\.com|ecns"),
)
_SOURCE_PATTERNS = [
    # letters, not \b: "12:03Xinhua" (a run-together byline) must still match
    (name, re.compile(rf"(?<![a-z])(?:{pattern})(?![a-z])", re.IGNORECASE))
    for name, pattern in KNOWN_SOURCES
]


@dataclass(frozen=True)
class Metadata:
    """Title, publication date and source found for one article."""

    title: str
    published: str | None = None  # ISO date YYYY-MM-DD
    published_basis: str | None = None  # "text", "html-meta", ...
    source: str | None = None
    title_basis: str = "headline"  # "headline", "first-sentence", "html-h1", "html-title"


def clean_text(raw: str, keep: frozenset[str] = frozenset()) -> str:
    """Remove site furniture, normalise whitespace and keep every sentence of the body.

    Lines in `keep` (a table's linearised lines) stay verbatim: never joined, dropped or cut."""
    lines = list(_iter_lines(raw, keep))
    header_end = next((i for i, (_, line) in enumerate(lines) if is_prose(line)), len(lines))
    header = [line for _, line in lines[:header_end]]
    kept = [
        (block, line)
        for i, (block, line) in enumerate(lines)
        if line in keep
        or (not _is_furniture(line) and not (i < header_end and _is_header_furniture(line, header[i + 1 :])))
    ]
    kept = _cut_footer(kept)
    return _join_blocks(_drop_repeats(kept, keep))


def html_to_text(html: str) -> str:
    """Return the visible text of an HTML page, one paragraph per block element."""
    return html_to_text_and_tables(html)[0]


def html_to_text_and_tables(html: str) -> tuple[str, list[LinearTable]]:
    """Return a page's visible text, each data table written as its linearised lines, and the tables."""
    tree = LexborHTMLParser(html)
    tree.strip_tags(list(DROPPED_HTML_TAGS))
    root = tree.body or tree.root
    if root is None:
        return "", []
    pieces: list[str] = []
    tables: list[LinearTable] = []
    for node in _walk(root):
        if node is None:
            pieces.append("\n\n")
        elif isinstance(node, ParsedTable):
            for table in (node, *node.nested):
                tables.append(linearise(table))
                pieces.append("\n\n" + "\n".join(tables[-1].lines) + "\n\n")
        elif node.tag == "-text":
            pieces.append(re.sub(r"\s+", " ", node.text_content or ""))  # source newlines are spaces
        elif node.tag == "br":
            pieces.append("\n")
    lines = (line.strip() for line in "".join(pieces).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip(), tables


def markdown_to_text(markdown: str) -> str:
    """Strip Markdown syntax that is not text: heading marks, setext rules, link and image syntax."""
    return markdown_to_text_and_tables(markdown)[0]


def markdown_to_text_and_tables(markdown: str) -> tuple[str, list[LinearTable]]:
    """Strip Markdown syntax, write each pipe table as its linearised lines, and return the tables."""
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", markdown)
    text = re.sub(r"\[([^\]]+)\]\([^)\s]*(?:\s+\"[^\"]*\")?\)", r"\1", text)
    text = re.sub(r"(?m)^[ \t]{0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$", r"\1", text)
    text = re.sub(r"(?m)^[ \t]{0,3}(?:={3,}|-{3,}|\*{3,}|_{3,})[ \t]*$", "", text)
    if "|" not in text:
        return text, []
    return replace_pipe_tables(text)


def extract_metadata(raw: str, cleaned: str) -> Metadata:
    """Find the title (from the cleaned text) and the date and source (from the raw text)."""
    title, title_basis = _find_title(cleaned)
    published = find_published(_header_text(raw))
    return Metadata(
        title=title,
        published=published,
        published_basis="text" if published else None,
        source=find_source(raw),
        title_basis=title_basis,
    )


def extract_html_metadata(html: str) -> Metadata:
    """Read the title (first <h1>, else <title>) and date (meta or <time>) of a page; "" if none."""
    tree = LexborHTMLParser(html)
    title, basis = _node_text(tree.css_first("h1")), "html-h1"
    if not title:
        title, basis = _strip_site_suffix(_node_text(tree.css_first("title"))), "html-title"
    published = None
    for selector, attribute in (
        ('meta[property="article:published_time"]', "content"),
        ('meta[name="article:published_time"]', "content"),
        ('meta[itemprop="datePublished"]', "content"),
        ("time[datetime]", "datetime"),
    ):
        node = tree.css_first(selector)
        published = _parse_iso_prefix((node.attributes.get(attribute) or "") if node else "")
        if published:
            break
    return Metadata(
        title=title,
        published=published,
        published_basis="html-meta" if published else None,
        title_basis=basis,
    )


def find_published(header: str) -> str | None:
    """Return the first valid date stated in a header as YYYY-MM-DD, or None."""
    found: list[tuple[int, str]] = []
    for pattern in _DATE_PATTERNS:
        for match in pattern.finditer(header):
            iso = _to_iso(match)
            if iso:
                found.append((match.start(), iso))
                break
    return min(found)[1] if found else None


def find_source(raw: str) -> str | None:
    """Return the known agency named first in the header, else in the footer, or None."""
    for part in (raw[:HEADER_CHARS], raw[-FOOTER_CHARS:]):
        hits = [(m.start(), name) for name, rx in _SOURCE_PATTERNS if (m := rx.search(part))]
        if hits:
            return min(hits)[1]
    return None


def is_prose(line: str) -> bool:
    """Tell whether a line reads as a sentence of body text rather than a label or link."""
    return len(line.split()) >= _PROSE_MIN_WORDS and line.endswith(_SENTENCE_END)


def count_word_chars(text: str) -> int:
    """Count the characters that belong to words, a measure of how much text is left."""
    return sum(len(word) for word in re.findall(r"\w+", text))


def _iter_lines(raw: str, keep: frozenset[str]) -> Iterator[tuple[int, str]]:
    """Yield (paragraph number, normalised line) for every non-empty line, unwrapping hard wraps."""
    text = _ZERO_WIDTH.sub("", raw.replace("\r\n", "\n").replace("\r", "\n"))
    for block_no, block in enumerate(re.split(r"\n[^\S\n]*\n", text)):
        merged: list[str] = []
        last_kept = False
        for line in block.split("\n"):
            line = _SPACES.sub(" ", line).strip()
            if not line:
                continue
            if (
                merged
                and not last_kept
                and line[0].islower()
                and (merged[-1][-1].isalnum() or merged[-1][-1] in ",;")
                and line not in keep
            ):
                merged[-1] += " " + line
            else:
                merged.append(line)
            last_kept = line in keep
        yield from ((block_no, line) for line in merged)


def _is_furniture(line: str) -> bool:
    """Tell whether a line is site furniture wherever it appears."""
    if any(pattern.fullmatch(line) for pattern in _FURNITURE):
        return True
    segments = [segment.strip() for segment in line.split("|")]
    # digits mean a data row ("2018 | 11.1% | up"), which is article text, not a link bar
    return len(segments) >= _LINK_BAR_MIN_SEGMENTS and all(
        0 < len(segment.split()) <= 4 and not any(ch.isdigit() for ch in segment) for segment in segments
    )


def _is_header_furniture(line: str, later: list[str]) -> bool:
    """Tell whether a header line is a label, a dateline or a breadcrumb-prefixed title."""
    if len(line.split()) == 1 and not line.endswith(_SENTENCE_END):
        return True
    if _TIMESTAMP.match(line) and len(line.split()) <= 15:
        return True
    return any(len(other) < len(line) and line.endswith(" " + other) for other in later)


def _cut_footer(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Drop everything from the first footer marker that only navigation lines follow."""
    for i, (_, line) in enumerate(lines):
        if _FOOTER_MARKER.fullmatch(line) and not any(is_prose(rest) for _, rest in lines[i:]):
            return lines[:i]
    return lines


def _drop_repeats(lines: list[tuple[int, str]], keep: frozenset[str]) -> list[tuple[int, str]]:
    """Drop a line that repeats the line kept just before it, unless it is a table's line."""
    kept: list[tuple[int, str]] = []
    for block, line in lines:
        if not kept or kept[-1][1] != line or line in keep:
            kept.append((block, line))
    return kept


def _join_blocks(lines: list[tuple[int, str]]) -> str:
    """Join lines of one paragraph with newlines and paragraphs with a blank line."""
    paragraphs: list[list[str]] = []
    previous_block = None
    for block, line in lines:
        if block != previous_block:
            paragraphs.append([])
            previous_block = block
        paragraphs[-1].append(line)
    return "\n\n".join("\n".join(paragraph) for paragraph in paragraphs)


def _find_title(cleaned: str) -> tuple[str, str]:
    """Return the headline of a cleaned text, or a shortened first sentence when it has none."""
    first_line = cleaned.split("\n", 1)[0].strip()
    if first_line and not is_prose(first_line) and len(first_line.split()) <= 25:
        return first_line, "headline"
    body = _DATELINE_PREFIX.sub("", first_line) or first_line
    return shorten(_SENTENCE_SPLIT.split(body, 1)[0]), "first-sentence"


def shorten(text: str, limit: int = TITLE_MAX_CHARS) -> str:
    """Cut text to at most `limit` characters at a word boundary, marking a cut with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:-–—")
    return cut + "…"


def _header_text(raw: str) -> str:
    """Return the first HEADER_LINES non-empty lines of raw text, at most HEADER_CHARS long."""
    lines = [line.strip() for line in raw.splitlines() if line.strip()]
    return "\n".join(lines[:HEADER_LINES])[:HEADER_CHARS]


def _to_iso(match: re.Match[str]) -> str | None:
    """Turn a date match into YYYY-MM-DD, or None when it is not a real date."""
    parts = match.groupdict()
    month = _MONTHS[parts["month"].lower()] if parts.get("month") else int(parts["mon"])
    try:
        return dt.date(int(parts["year"]), month, int(parts["day"])).isoformat()
    except ValueError:
        return None


def _parse_iso_prefix(value: str) -> str | None:
    """Return the YYYY-MM-DD a timestamp such as 2017-05-13T12:03:00+08:00 starts with."""
    match = _DATE_PATTERNS[0].match(value.strip())
    return _to_iso(match) if match else None


def _node_text(node: LexborNode | None) -> str:
    """Return a node's text with whitespace collapsed, or "" for no node."""
    return _SPACES.sub(" ", node.text(separator=" ")).strip() if node is not None else ""


def _strip_site_suffix(title: str) -> str:
    """Drop a trailing " | Site name" from a <title>."""
    head, sep, _ = title.rpartition(" | ")
    return head.strip() if sep and head.strip() else title


def _walk(root: LexborNode) -> Iterator[LexborNode | ParsedTable | None]:
    """Yield nodes in document order, None where a block element starts or ends, and data tables."""
    stack: list[LexborNode | None] = [root]
    while stack:
        node = stack.pop()
        if node is None:
            yield None
            continue
        table = read_html_table(node) if node.tag == "table" else None
        if table is not None:
            yield table
            continue
        block = node.tag in _BLOCK_TAGS
        if block:
            yield None
        yield node
        if block:
            stack.append(None)
        children = []
        child = node.child
        while child is not None:
            children.append(child)
            child = child.next
        stack.extend(reversed(children))
