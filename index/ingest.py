"""Ingest stage: find article files, read and decode them, and build cleaned `Document`s.

Metadata overrides, strongest first: a sidecar `<stem>.meta.yaml` / `<stem>.meta.json` beside the
file, YAML front matter at the top of a .md/.txt file, then what the clean stage extracts.
Keys are `title`, `published` (ISO 8601: YYYY-MM-DD, or YYYY-MM / YYYY when only the month or
year is known), `published_note` (how a date was established, kept in `extra`) and `source`; a
sidecar may hold only those,
front matter may hold others (ignored). A title from the file itself (front matter, HTML
<title>/<h1>) that the cleaned text does not start with is put in front of it, so retrieval
sees it; a sidecar or API title is metadata only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Literal

import yaml

from index.clean import (
    Metadata,
    clean_text,
    count_word_chars,
    extract_html_metadata,
    extract_metadata,
    html_to_text_and_tables,
    markdown_to_text_and_tables,
)
from index.errors import InputError, InvalidDocIdError, UnsupportedFileError
from index.pdf import read_pdf
from index.tables import LinearTable, place_tables, table_lines
from index.types import Document, Skipped

Format = Literal["text", "markdown", "html", "pdf"]
SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf")
SIDECAR_SUFFIXES = (".meta.yaml", ".meta.yml", ".meta.json")
OVERRIDE_KEYS = ("title", "published", "published_note", "source")
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
MIN_WORD_CHARS = 40  # less than this after cleaning is not an article
MAX_DOC_ID_CHARS = 128
MAX_CONTROL_SHARE = 0.05  # decoded text with more control characters than this is binary

_FORMATS: dict[str, Format] = {
    ".txt": "text", ".md": "markdown", ".html": "html", ".htm": "html", ".pdf": "pdf",
}  # fmt: skip
_DOC_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"),
)  # fmt: skip
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_ISO_DATE = re.compile(r"\d{4}(?:-(?:0[1-9]|1[0-2])(?:-\d{2})?)?")  # reduced precision allowed


def discover_files(paths: Sequence[Path]) -> list[Path]:
    """Expand folders recursively into sorted article files; raise InputError for a missing path."""
    return [path for path, _ in _discover(paths)]


def load_documents(
    paths: Sequence[Path], *, root: Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[list[Document], list[Skipped]]:
    """Load every article under `paths`, collecting files that cannot be ingested as Skipped.

    Document.path is relative to `root` when given, else to the folder named or a file's parent.
    """
    documents: list[Document] = []
    skipped: list[Skipped] = []
    seen: dict[str, str] = {}
    for path, found_under in _discover(paths):
        try:
            document = load_document(path, root or found_under, max_bytes=max_bytes)
        except UnsupportedFileError as exc:
            skipped.append(Skipped(path=str(path), reason=exc.reason))
            continue
        if document.doc_id in seen:
            reason = (
                f"duplicate document id '{document.doc_id}': already loaded from "
                f"{seen[document.doc_id]}; rename one of the files"
            )
            skipped.append(Skipped(path=str(path), reason=reason))
            continue
        seen[document.doc_id] = str(path)
        documents.append(document)
    return documents, skipped


def load_document(path: Path, root: Path | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """Read, decode and clean one article file; raise UnsupportedFileError if it cannot be used."""
    name = str(path)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        expected = ", ".join(SUPPORTED_SUFFIXES)
        raise UnsupportedFileError(name, f"unsupported file type '{path.suffix}' ({expected})")
    try:
        doc_id = validate_doc_id(path.stem)
    except InvalidDocIdError as exc:
        raise UnsupportedFileError(name, f"file name is not a usable document id: {exc}") from exc
    data = _read_bytes(path, max_bytes)
    pdf_tables: list[LinearTable] | None = None
    if fmt == "pdf":
        text, pdf_tables = read_pdf(data, name)
        encoding = "pdf"
    else:
        text, encoding = _decode(data, name)
    sidecar_path, sidecar_bytes = _find_sidecar(path)
    overrides = _read_sidecar(sidecar_path, sidecar_bytes, name) if sidecar_path else {}
    return _build_document(
        doc_id,
        text,
        fmt,
        name=name,
        overrides=overrides,
        override_basis="sidecar",
        path=_display_path(path, root),
        content_hash=hashlib.sha256(data + sidecar_bytes).hexdigest(),
        extra={"encoding": encoding},
        given_tables=pdf_tables,
    )


def document_from_text(
    doc_id: str,
    raw: str,
    *,
    title: str | None = None,
    published: str | None = None,
    source: str | None = None,
    fmt: Format = "text",
) -> Document:
    """Build a Document from uploaded text with the same cleaning; given metadata wins."""
    validate_doc_id(doc_id)
    if fmt not in ("text", "markdown", "html"):
        raise InputError(f"format '{fmt}' is not one of text, markdown, html")
    given = {"title": title, "published": published, "source": source}
    overrides = _check_overrides({k: v for k, v in given.items() if v is not None}, "request")
    _check_text(raw, doc_id)
    fingerprint = json.dumps([raw, fmt, overrides], sort_keys=True, ensure_ascii=False)
    return _build_document(
        doc_id,
        raw.lstrip("\ufeff"),
        fmt,
        name=doc_id,
        overrides=overrides,
        override_basis="user",
        path=None,
        content_hash=hashlib.sha256(fingerprint.encode("utf-8")).hexdigest(),
        extra={},
    )


def document_from_pdf(
    doc_id: str,
    data: bytes,
    *,
    title: str | None = None,
    published: str | None = None,
    source: str | None = None,
) -> Document:
    """Build a Document from an uploaded PDF's bytes (text and tables), as `rag index` reads a .pdf."""
    validate_doc_id(doc_id)
    given = {"title": title, "published": published, "source": source}
    overrides = _check_overrides({k: v for k, v in given.items() if v is not None}, "request")
    text, tables = read_pdf(data, doc_id)
    fingerprint = json.dumps(overrides, sort_keys=True).encode("utf-8")
    return _build_document(
        doc_id,
        text,
        "pdf",
        name=doc_id,
        overrides=overrides,
        override_basis="user",
        path=None,
        content_hash=hashlib.sha256(data + fingerprint).hexdigest(),
        extra={"encoding": "pdf"},
        given_tables=tables,
    )


def validate_doc_id(doc_id: str) -> str:
    """Return doc_id if it is a safe id ([A-Za-z0-9][A-Za-z0-9._-]{0,127}, no ".."), else raise."""
    shown = repr(doc_id)
    if not doc_id:
        raise InvalidDocIdError("document id is empty; use letters, digits, '.', '_' or '-'")
    if len(doc_id) > MAX_DOC_ID_CHARS:
        raise InvalidDocIdError(
            f"document id is {len(doc_id)} characters long, over the {MAX_DOC_ID_CHARS} limit"
        )
    if "/" in doc_id or "\\" in doc_id:
        raise InvalidDocIdError(f"document id {shown} contains a path separator")
    if ".." in doc_id:
        raise InvalidDocIdError(f"document id {shown} contains '..'")
    if _CONTROL_CHARS.search(doc_id):
        raise InvalidDocIdError(f"document id {shown} contains a control character")
    if not doc_id[0].isascii() or not doc_id[0].isalnum():
        raise InvalidDocIdError(f"document id {shown} must start with a letter or a digit")
    if not _DOC_ID.fullmatch(doc_id):
        bad = next(ch for ch in doc_id if not re.fullmatch(r"[A-Za-z0-9._-]", ch))
        raise InvalidDocIdError(
            f"document id {shown} contains {bad!r}; only letters, digits, '.', '_' and '-' are allowed"
        )
    return doc_id


def _discover(paths: Sequence[Path]) -> list[tuple[Path, Path]]:
    """Return (file, ingest root) pairs: a folder is the root of its files, a file's parent its."""
    found: list[tuple[Path, Path]] = []
    seen: set[Path] = set()
    for given in paths:
        given = Path(given)
        if not given.exists():
            raise InputError(f"{given}: no such file or folder")
        # a file named explicitly is kept whatever its suffix, so an odd one is reported, not lost
        pairs = [(path, given) for path in _walk_folder(given)] if given.is_dir() else [(given, given.parent)]
        for path, root in pairs:
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                found.append((path, root))
    return found


def _walk_folder(folder: Path) -> list[Path]:
    """List a folder's article files recursively and sorted, skipping hidden entries and sidecars."""
    files: list[Path] = []
    for current, dirs, names in os.walk(folder):  # os.walk does not follow symlinked folders
        dirs[:] = [name for name in dirs if not name.startswith(".")]
        files.extend(
            Path(current) / name
            for name in names
            if not name.startswith(".")
            and name.lower().endswith(SUPPORTED_SUFFIXES)
            and not name.lower().endswith(SIDECAR_SUFFIXES)
        )
    return sorted(files)


def _display_path(path: Path, root: Path | None) -> str:
    """Return the path relative to the ingest root when it lies under it, POSIX style."""
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    """Read a file, refusing one over max_bytes before reading it."""
    if not path.is_file():
        raise UnsupportedFileError(str(path), "not a regular file")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise UnsupportedFileError(
                str(path),
                f"file is {_format_size(size)}, over the {_format_size(max_bytes)} limit",
            )
        return path.read_bytes()
    except OSError as exc:
        raise UnsupportedFileError(str(path), f"cannot read file: {exc.strerror or exc}") from exc


def _format_size(n_bytes: int) -> str:
    """Format a byte count the way people read it: '11 MB', '1.5 kB', '20 bytes'."""
    for unit, scale in (("MB", 1024 * 1024), ("kB", 1024)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n_bytes} bytes"


def _decode(data: bytes, name: str) -> tuple[str, str]:
    """Decode file bytes (UTF-8/16/32 by BOM, UTF-8, else cp1252/latin-1); reject binary data."""
    encoding = next((codec for bom, codec in _BOMS if data.startswith(bom)), None)
    if encoding is None and b"\x00" in data:
        raise UnsupportedFileError(name, "binary file")
    try:
        text = data.decode(encoding or "utf-8")
        encoding = encoding or "utf-8"
    except UnicodeDecodeError as exc:
        if encoding:
            raise UnsupportedFileError(name, "binary file") from exc
        text, encoding = _decode_single_byte(data)
    return _check_text(text.lstrip("\ufeff"), name), encoding


def _decode_single_byte(data: bytes) -> tuple[str, str]:
    """Decode non-UTF-8 bytes as cp1252 where they use its 0x80-0x9f letters, else as latin-1."""
    # the two agree outside 0x80-0x9f, where latin-1 has only control characters
    if re.search(rb"[\x80-\x9f]", data):
        try:
            return data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            pass
    return data.decode("latin-1"), "latin-1"


def _check_text(text: str, name: str) -> str:
    """Return decoded text, or raise for text that is empty or mostly control characters."""
    if text and len(_CONTROL_CHARS.findall(text)) > MAX_CONTROL_SHARE * len(text):
        raise UnsupportedFileError(name, "binary file")
    if not text.strip():
        raise UnsupportedFileError(name, "empty file")
    return text


def _find_sidecar(path: Path) -> tuple[Path | None, bytes]:
    """Return the sidecar beside a file and its bytes, or (None, b"")."""
    sidecar = next((s for x in SIDECAR_SUFFIXES if (s := path.with_name(path.stem + x)).is_file()), None)
    try:
        return sidecar, sidecar.read_bytes() if sidecar else b""
    except OSError as exc:
        raise UnsupportedFileError(str(path), f"cannot read sidecar {sidecar}: {exc.strerror}") from exc


def _read_sidecar(sidecar: Path, data: bytes, name: str) -> dict[str, str | None]:
    """Parse and check a sidecar's metadata; unknown keys and bad values are errors."""
    where = f"sidecar {sidecar.name}"
    try:
        text = data.decode("utf-8-sig")
        values = json.loads(text) if sidecar.suffix == ".json" else yaml.safe_load(text)
    except (UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise UnsupportedFileError(name, f"{where} cannot be parsed: {exc}") from exc
    values = {} if values is None else values
    if not isinstance(values, dict):
        raise UnsupportedFileError(name, f"{where} must hold a mapping of {OVERRIDE_KEYS}")
    unknown = sorted(str(key) for key in values if key not in OVERRIDE_KEYS)
    if unknown:
        raise UnsupportedFileError(
            name, f"{where} has unknown key(s) {unknown}; expected {', '.join(OVERRIDE_KEYS)}"
        )
    try:
        return _check_overrides(values, where)
    except InputError as exc:
        raise UnsupportedFileError(name, str(exc)) from exc


def _check_overrides(values: dict[Any, Any], where: str) -> dict[str, str | None]:
    """Normalise title/published/source overrides; raise InputError naming a bad value."""
    checked: dict[str, str | None] = {}
    for key in OVERRIDE_KEYS:
        if key not in values:
            continue
        value = values[key]
        if key == "published":
            checked[key] = _check_date(value, where)
        elif value is None and key == "source":
            checked[key] = None
        elif isinstance(value, str | int | float) and str(value).strip():
            checked[key] = " ".join(str(value).split())
        else:
            raise InputError(f"{where} has {key} {value!r}, expected non-empty text")
    return checked


def _check_date(value: Any, where: str) -> str | None:
    """Return an ISO date from a YAML date or a YYYY-MM-DD string; None stays None."""
    if isinstance(value, dt.datetime):  # YAML reads 2016-12-01 as a date, with a time as a datetime
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is None:
        return None
    if isinstance(value, int) and 1000 <= value <= 9999:
        return str(value)  # YAML reads a bare year as a number
    text = value.strip() if isinstance(value, str) else ""
    if _ISO_DATE.fullmatch(text):
        try:
            return dt.date.fromisoformat(text).isoformat() if len(text) == 10 else text
        except ValueError:
            pass
    raise InputError(
        f"{where} has published {value!r}, expected an ISO date YYYY-MM-DD such as 2016-12-01 "
        "(or YYYY-MM / YYYY when only the month or year is known)"
    )


def _split_front_matter(text: str, name: str) -> tuple[dict[str, str | None], str]:
    """Split YAML front matter off the top of a text; a block that is not a mapping stays text."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        values = yaml.safe_load(match.group(1) or "")
    except yaml.YAMLError:
        return {}, text  # a "---" rule followed by prose, not front matter
    if not isinstance(values, dict):
        return {}, text
    values = {key: value for key, value in values.items() if value not in (None, "")}
    try:
        return _check_overrides(values, "front matter"), text[match.end() :]
    except InputError as exc:
        raise UnsupportedFileError(name, str(exc)) from exc


def _build_document(
    doc_id: str,
    text: str,
    fmt: Format,
    *,
    name: str,
    overrides: dict[str, str | None],
    override_basis: str,
    path: str | None,
    content_hash: str,
    extra: dict[str, str],
    given_tables: list[LinearTable] | None = None,
) -> Document:
    """Clean decoded text, extract metadata and apply front matter and overrides.

    `given_tables` are tables a reader already linearised into `text` (a PDF's)."""
    front: dict[str, str | None] = {}
    if fmt in ("text", "markdown"):
        front, text = _split_front_matter(text.replace("\r\n", "\n"), name)
    visible, linear = (text, given_tables) if given_tables is not None else _visible_text(text, fmt)
    cleaned = clean_text(visible, table_lines(linear))
    if count_word_chars(cleaned) < MIN_WORD_CHARS:
        raise UnsupportedFileError(name, "no article text after cleaning")
    meta = extract_metadata(visible, cleaned)
    if fmt == "html":
        meta = _merge_html_metadata(meta, extract_html_metadata(text))
    in_file_title = meta.title if meta.title_basis.startswith("html") else front.get("title")
    cleaned = _with_title_line(cleaned, in_file_title)
    tables = place_tables(cleaned, linear) if linear else ()
    fields = _apply_overrides(asdict(meta), front, "front-matter")
    fields = _apply_overrides(fields, overrides, override_basis)
    note = fields.get("published_note")
    return Document(
        doc_id=doc_id,
        text=cleaned,
        title=fields["title"] or meta.title,
        published=fields["published"],
        published_basis=fields["published_basis"] if fields["published"] else None,
        source=fields["source"],
        path=path,
        content_hash=content_hash,
        extra={
            **extra,
            "title_basis": fields["title_basis"] or meta.title_basis,
            **({"published_note": note} if note else {}),
        },
        tables=tables,
    )


def _visible_text(text: str, fmt: Format) -> tuple[str, list[LinearTable]]:
    """Return the visible text of a decoded file and its tables, linearised into that text."""
    if fmt == "html":
        return html_to_text_and_tables(text)
    if fmt == "markdown":
        return markdown_to_text_and_tables(text)
    return text, []


def _with_title_line(cleaned: str, title: str | None) -> str:
    """Put a title from the file's own markup in front of the text unless it already starts it."""
    if title and cleaned.split("\n", 1)[0] != title:
        return f"{title}\n\n{cleaned}"
    return cleaned


def _merge_html_metadata(meta: Metadata, page: Metadata) -> Metadata:
    """Prefer a page's <h1>/<title> and published meta tags over what the text rules found."""
    if page.title:
        meta = replace(meta, title=page.title, title_basis=page.title_basis)
    if page.published:
        meta = replace(meta, published=page.published, published_basis=page.published_basis)
    return meta


def _apply_overrides(
    fields: dict[str, str | None], overrides: dict[str, str | None], basis: str
) -> dict[str, str | None]:
    """Return fields with one layer of overrides applied, recording where values came from."""
    bases = {f"{key}_basis": basis for key in ("title", "published") if key in overrides}
    return {**fields, **overrides, **bases}
