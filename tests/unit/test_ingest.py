"""Ingest stage: discovery, decoding, bad files, overrides and document ids, on real files."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from index.errors import InputError, InvalidDocIdError, UnsupportedFileError
from index.ingest import (
    discover_files,
    document_from_text,
    load_document,
    load_documents,
    validate_doc_id,
)

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
CORPUS_IDS = sorted(path.stem for path in CORPUS.glob("*.txt"))
BODY = "Kazakhstan and China signed a trade agreement worth 27 billion dollars on Friday in Astana."
SCRIPT_HEAVY_HTML = (
    "<!doctype html><html><head><title>Trade deal signed | News Site</title>"
    '<meta property="article:published_time" content="2019-03-28T09:00:00+06:00">'
    + "<script>window.dataLayer = window.dataLayer || []; function gtag(){}</script>" * 50
    + "<style>body { font-family: sans-serif } .ad { display: none }</style>" * 20
    + "</head><body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
    "<header><div class='logo'>News Site</div></header>"
    f"<article><p>{BODY}</p><script>trackArticle(42);</script>"
    "<p>Officials said exports of grain would double by 2025.</p></article>"
    "<aside>Most read: something else</aside><footer>Copyright 2019 News Site</footer>"
    + "<script>var ads = {slot: 'x'};</script>" * 50
    + "</body></html>"
)


@pytest.fixture
def mixed_folder(tmp_path: Path) -> Path:
    """A folder with two good articles from the corpus and one bad file of every kind beside them."""
    folder = tmp_path / "articles"
    (folder / "nested").mkdir(parents=True)
    shutil.copy(CORPUS / "002_158f33fd42f0f3d5.txt", folder)
    shutil.copy(CORPUS / "004_c370dfeada57f66a.txt", folder / "nested")
    (folder / "binary.txt").write_bytes(b"GIF89a\x00\x01\x02\x00\xff" * 20)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.md").write_text(" \n\t\n\n")
    (folder / "latin.txt").write_bytes(f"Caf\xe9 owners: {BODY}".encode("latin-1"))
    (folder / "utf16le.txt").write_bytes(f"Headline\n\n{BODY}".encode("utf-16"))
    (folder / "utf16be.txt").write_bytes(b"\xfe\xff" + f"Headline\n\n{BODY}".encode("utf-16-be"))
    (folder / "bom.txt").write_bytes(f"Headline\n\n{BODY}".encode("utf-8-sig"))
    (folder / "page.html").write_text(SCRIPT_HEAVY_HTML)
    (folder / "boilerplate.txt").write_text(
        "LINE\n\nText:AAAPrint\n\nFound an error in the text?\n\nRelated news\n\nMorePhoto\nNews\n"
    )
    (folder / "big.txt").write_text(BODY + "\n" * (11 * 1024 * 1024))
    (folder / ".hidden.txt").write_text(BODY)
    (folder / "notes.csv").write_text("a,b\n")
    return folder


@pytest.fixture
def loaded(mixed_folder: Path):
    """Documents and skipped files of the mixed folder, by doc id and by file name."""
    documents, skipped = load_documents([mixed_folder])
    return {doc.doc_id: doc for doc in documents}, {Path(item.path).name: item.reason for item in skipped}


def test_corpus_doc_ids_are_the_file_stems() -> None:
    documents, skipped = load_documents([CORPUS])
    assert skipped == []
    assert [doc.doc_id for doc in documents] == CORPUS_IDS
    assert CORPUS_IDS[2] == "002_158f33fd42f0f3d5"
    assert [doc.path for doc in documents] == [f"{doc_id}.txt" for doc_id in CORPUS_IDS]


def test_content_hash_is_sha256_of_raw_bytes() -> None:
    path = CORPUS / "002_158f33fd42f0f3d5.txt"
    assert load_document(path).content_hash == hashlib.sha256(path.read_bytes()).hexdigest()


def test_corpus_metadata() -> None:
    documents = {doc.doc_id: doc for doc in load_documents([CORPUS])[0]}
    found = {d: (doc.published, doc.published_basis, doc.source) for d, doc in documents.items()}
    assert found == {
        # 000 and 003 state no date: the bundled sidecars give month/year with their basis
        "000_3f9b3e589f18f68f": ("2016-12", "sidecar", "Kazinform"),
        "001_5488eb069d420042": ("2015-12-14", "text", "Xinhua"),
        "002_158f33fd42f0f3d5": ("2017-05-13", "text", "Xinhua"),
        "003_f70ee63ae281a647": ("2019", "sidecar", "Kazinform"),
        "004_c370dfeada57f66a": ("2023-11-28", "text", "Kazakhstan Today"),
    }
    assert documents["001_5488eb069d420042"].title == "China, Kazakhstan to Step up Capacity Cooperation"
    for doc_id in ("000_3f9b3e589f18f68f", "003_f70ee63ae281a647"):
        assert "inferred from the text" in documents[doc_id].extra["published_note"]
    assert "published_note" not in documents["002_158f33fd42f0f3d5"].extra


@pytest.mark.parametrize("published", ["2016-12", "2019", 2019])
def test_sidecar_accepts_reduced_precision_dates(tmp_path: Path, published) -> None:
    (tmp_path / "story.txt").write_text("Headline\n\n" + "The fund holds two billion dollars today. " * 3)
    (tmp_path / "story.meta.yaml").write_text(f"published: {published}\npublished_note: from a press list\n")
    document = load_document(tmp_path / "story.txt")
    assert document.published == str(published)
    assert document.extra["published_note"] == "from a press list"


def test_discover_is_sorted_recursive_and_skips_hidden_sidecars_and_other_types(mixed_folder: Path) -> None:
    (mixed_folder / ".git").mkdir()
    (mixed_folder / ".git" / "x.txt").write_text(BODY)
    (mixed_folder / "latin.meta.yaml").write_text("source: Reuters\n")
    names = [path.relative_to(mixed_folder).as_posix() for path in discover_files([mixed_folder])]
    assert names == sorted(names)
    assert "nested/004_c370dfeada57f66a.txt" in names
    assert not any(name.startswith(".") or name.endswith((".csv", ".yaml")) for name in names)
    assert discover_files([mixed_folder]) == discover_files([mixed_folder])


def test_discover_names_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nowhere.txt"):
        discover_files([tmp_path / "nowhere.txt"])


def test_good_files_load_beside_bad_ones(loaded) -> None:
    documents, _ = loaded
    assert {"002_158f33fd42f0f3d5", "004_c370dfeada57f66a"} <= set(documents)
    assert documents["004_c370dfeada57f66a"].path == "nested/004_c370dfeada57f66a.txt"


@pytest.mark.parametrize(
    "name,reason",
    [
        ("binary.txt", "binary file"),
        ("empty.txt", "empty file"),
        ("blank.md", "empty file"),
        ("boilerplate.txt", "no article text after cleaning"),
        ("big.txt", "file is 11 MB, over the 10 MB limit"),
    ],
)
def test_bad_files_are_skipped_with_a_reason(loaded, name: str, reason: str) -> None:
    _, skipped = loaded
    assert skipped[name] == reason


def test_only_bad_files_are_skipped(loaded) -> None:
    _, skipped = loaded
    assert set(skipped) == {"binary.txt", "empty.txt", "blank.md", "boilerplate.txt", "big.txt"}


@pytest.mark.parametrize(
    "doc_id,encoding",
    [("utf16le", "utf-16"), ("utf16be", "utf-16"), ("bom", "utf-8-sig"), ("latin", "latin-1")],
)
def test_encodings_are_decoded(loaded, doc_id: str, encoding: str) -> None:
    documents, _ = loaded
    assert documents[doc_id].extra["encoding"] == encoding
    assert BODY in documents[doc_id].text
    assert "\ufeff" not in documents[doc_id].text


def test_latin1_text_keeps_its_accents(loaded) -> None:
    documents, _ = loaded
    assert documents["latin"].text.startswith("Café owners:")


def test_cp1252_quotes_are_decoded(tmp_path: Path) -> None:
    path = tmp_path / "quotes.txt"
    path.write_bytes(b"He said \x93yes\x94 today. " + BODY.encode())
    document = load_document(path)
    assert document.extra["encoding"] == "cp1252"
    assert "\u201cyes\u201d" in document.text


def test_script_heavy_html_keeps_only_the_article(loaded) -> None:
    page = loaded[0]["page"]
    assert page.text == (
        f"Trade deal signed\n\n{BODY}\n\nOfficials said exports of grain would double by 2025."
    )
    assert (page.title, page.published, page.published_basis) == (
        "Trade deal signed",
        "2019-03-28",
        "html-meta",
    )


def test_max_bytes_parameter(tmp_path: Path) -> None:
    path = tmp_path / "article.txt"
    path.write_text(BODY * 40)
    with pytest.raises(UnsupportedFileError, match=r"file is 3\.6 kB, over the 1 kB limit"):
        load_document(path, max_bytes=1024)
    documents, skipped = load_documents([tmp_path], max_bytes=1024)
    assert documents == [] and skipped[0].reason == "file is 3.6 kB, over the 1 kB limit"


def test_duplicate_stem_in_two_folders_is_skipped(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        shutil.copy(CORPUS / "002_158f33fd42f0f3d5.txt", tmp_path / folder)
    documents, skipped = load_documents([tmp_path / "a", tmp_path / "b"])
    assert [doc.doc_id for doc in documents] == ["002_158f33fd42f0f3d5"]
    assert skipped[0].path == str(tmp_path / "b" / "002_158f33fd42f0f3d5.txt")
    assert skipped[0].reason.startswith("duplicate document id '002_158f33fd42f0f3d5': already loaded from")
    assert str(tmp_path / "a") in skipped[0].reason


def test_front_matter_overrides_and_is_stripped(tmp_path: Path) -> None:
    path = tmp_path / "story.md"
    path.write_text(
        f"---\ntitle: Given title\npublished: 2016-12-01\nsource: Reuters\ntags: [x]\n---\n{BODY}\n"
    )
    document = load_document(path)
    assert (document.title, document.published, document.source) == ("Given title", "2016-12-01", "Reuters")
    assert document.published_basis == "front-matter"
    assert document.text == f"Given title\n\n{BODY}"
    assert "tags" not in document.text and "---" not in document.text


def test_markdown_headings_lose_their_marks(tmp_path: Path) -> None:
    path = tmp_path / "story.md"
    path.write_text(f"# Trade deal signed\n\n{BODY}\n")
    document = load_document(path)
    assert document.title == "Trade deal signed"
    assert document.text == f"Trade deal signed\n\n{BODY}"


def test_sidecar_wins_over_front_matter_and_text(tmp_path: Path) -> None:
    shutil.copy(CORPUS / "002_158f33fd42f0f3d5.txt", tmp_path)
    sidecar = tmp_path / "002_158f33fd42f0f3d5.meta.yaml"
    sidecar.write_text("published: 2017-05-12\nsource: China Daily\n")
    document = load_document(tmp_path / "002_158f33fd42f0f3d5.txt")
    assert (document.published, document.published_basis, document.source) == (
        "2017-05-12",
        "sidecar",
        "China Daily",
    )
    assert document.title == "China-Kazakhstan capacity cooperation on fast track: official"
    raw = (tmp_path / "002_158f33fd42f0f3d5.txt").read_bytes()
    assert document.content_hash == hashlib.sha256(raw + sidecar.read_bytes()).hexdigest()


def test_json_sidecar_beats_front_matter(tmp_path: Path) -> None:
    (tmp_path / "story.txt").write_text(f"---\npublished: 2016-12-01\n---\nHeadline\n\n{BODY}\n")
    (tmp_path / "story.meta.json").write_text(json.dumps({"published": "2016-12-02", "title": "T"}))
    document = load_document(tmp_path / "story.txt")
    assert (document.title, document.published, document.published_basis) == ("T", "2016-12-02", "sidecar")


@pytest.mark.parametrize(
    "sidecar,message",
    [
        ("published: 13/05/2017\n", "sidecar story.meta.yaml has published '13/05/2017'"),
        ("published: '2017-02-30'\n", "sidecar story.meta.yaml has published '2017-02-30'"),
        ("publised: 2017-05-13\n", "unknown key(s) ['publised']"),
        ("title: [unclosed\n", "sidecar story.meta.yaml cannot be parsed"),
    ],
)
def test_bad_sidecar_is_skipped_naming_the_file(tmp_path: Path, sidecar: str, message: str) -> None:
    (tmp_path / "story.txt").write_text(f"Headline\n\n{BODY}\n")
    (tmp_path / "story.meta.yaml").write_text(sidecar)
    (tmp_path / "other.txt").write_text(f"Headline\n\n{BODY}\n")
    documents, skipped = load_documents([tmp_path])
    assert [doc.doc_id for doc in documents] == ["other"]
    assert skipped[0].path.endswith("story.txt") and message in skipped[0].reason
    with pytest.raises(UnsupportedFileError, match="story.txt"):
        load_document(tmp_path / "story.txt")


def test_bad_front_matter_date_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "story.md"
    path.write_text(f"---\npublished: May 2017\n---\n{BODY}\n")
    with pytest.raises(UnsupportedFileError, match="front matter has published 'May 2017'"):
        load_document(path)


def test_unsupported_file_named_explicitly_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "report.docx"
    path.write_bytes(b"PK\x03\x04")
    documents, skipped = load_documents([path])
    assert documents == [] and skipped[0].reason.startswith("unsupported file type '.docx'")


def test_document_from_text_cleans_like_a_file() -> None:
    raw = (CORPUS / "002_158f33fd42f0f3d5.txt").read_text(encoding="utf-8")
    document = document_from_text("upload-1", raw)
    assert document.text == load_document(CORPUS / "002_158f33fd42f0f3d5.txt").text
    assert (document.published, document.source) == ("2017-05-13", "Xinhua")


def test_document_from_text_takes_given_metadata() -> None:
    document = document_from_text("up", f"<p>{BODY}</p>", title="T", published="2020-01-02", fmt="html")
    assert (document.title, document.published, document.published_basis) == ("T", "2020-01-02", "user")
    assert document.text == BODY


def test_document_from_text_rejects_a_bad_date_and_empty_text() -> None:
    with pytest.raises(InputError, match="'2020-13-01'"):
        document_from_text("up", BODY, published="2020-13-01")
    with pytest.raises(UnsupportedFileError, match="empty file"):
        document_from_text("up", "   \n")


@pytest.mark.parametrize(
    "doc_id,problem",
    [
        ("../x", "path separator"),
        ("a/b", "path separator"),
        ("a\\b", "path separator"),
        ("a\x00b", "control character"),
        ("", "empty"),
        (".hidden", "must start with a letter or a digit"),
        ("a..b", "'..'"),
        ("a b", "contains ' '"),
        ("x" * 129, "129 characters long, over the 128 limit"),
    ],
)
def test_validate_doc_id_rejects(doc_id: str, problem: str) -> None:
    with pytest.raises(InvalidDocIdError, match=problem.replace(".", r"\.")):
        validate_doc_id(doc_id)


@pytest.mark.parametrize("doc_id", ["002_158f33fd42f0f3d5", "a", "A.b-c_d", "x" * 128])
def test_validate_doc_id_accepts(doc_id: str) -> None:
    assert validate_doc_id(doc_id) == doc_id


def test_file_name_that_is_not_a_doc_id_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "my story.txt").write_text(BODY)
    _, skipped = load_documents([tmp_path])
    assert "not a usable document id" in skipped[0].reason
