"""Clean stage on the bundled corpus: furniture goes, every body sentence stays, metadata is found."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.clean import clean_text, extract_html_metadata, extract_metadata, html_to_text, markdown_to_text

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
NAV_LIST = [
    "MorePhoto", "Most popular in 24h", "MoreTop news", "MoreVideo", "News", "Politics", "Business",
    "Society", "Culture", "Military", "Sci-tech", "Entertainment", "Sports", "Odd", "Features", "Biz",
    "Economy", "Travel", "Travel News", "Travel Types", "Events", "Food", "Hotel", "Bar & Club",
    "Architecture", "Gallery", "Photo", "CNS Photo", "Video", "Learning Chinese", "Learn About China",
    "Social Chinese", "Business Chinese", "Buzz Words", "Bilingual", "Resources", "ECNS Wire",
    "Special Coverage", "Infographics", "Voices",
]  # fmt: skip

# Every raw line that is site furniture; every other raw line must survive verbatim.
FURNITURE = {
    "000_3f9b3e589f18f68f": [],
    "001_5488eb069d420042": [
        "Trade Resources Business Cooperation Project China, Kazakhstan to Step up Capacity Cooperation",
        "Contribute Copyright Policy",
    ],
    "002_158f33fd42f0f3d5": [
        "LINE",
        "Text:AAAPrint",
        "Economy",
        "1",
        "2017-05-13 12:03Xinhua Editor: Gu Liping ECNS App Download",
        "Related news",
        *NAV_LIST,
        "Back to top Links | About Us | Jobs | Contact Us | Privacy Policy",
        "Copyright ©1999-2018 Chinanews.com. All rights reserved.",
        "Reproduction in whole or in part without permission is prohibited.",
    ],
    "003_f70ee63ae281a647": [],
    "004_c370dfeada57f66a": [
        "28.11.2023, 11:11 157556",
        "Images | primeminister.kz",
        "This information may not be reproduced without reference to Kazakhstan Today. "
        "Copyright of materials of News Agency Kazakhstan Today.",
        "Found an error in the text?",
        "Select the error and press Ctrl + Enter at the same time.",
        "relevant news",
        "Most viewed",
    ],
}
FURNITURE_FRAGMENTS = [
    "Text:AAAPrint",
    "Xinhua Editor: Gu Liping",
    "ECNS App Download",
    "Back to top",
    "All rights reserved",
    "Reproduction in whole or in part",
    "may not be reproduced",
    "Found an error in the text",
    "Ctrl + Enter",
    "Most viewed",
    "Related news",
    "relevant news",
    "Contribute Copyright Policy",
    "Images | primeminister.kz",
    "28.11.2023",
    "157556",
    "Trade Resources Business Cooperation Project",
]
SENTENCES = {
    "000_3f9b3e589f18f68f": [
        "Kazakhstan is represented by 20 delegates from ministries, the State Revenue Committee, the "
        "Federation of Kazakhstan Trade Unions, JSC NC Kazakhstan Temir Zholy, the Kazakhstan Light "
        "Industry Association, departments of education of East Kazakhstan and Mangystau regions.",
        'as well as the 15th anniversary of the Shanghai Cooperation Organization,"Yerik Ashimov, '
        "Kazakhstan's permanent delegate to the SCO",
        "The seminar is taking place till December 18.",
    ],
    "001_5488eb069d420042": [
        "Chinese Premier Li Keqiang shakes hands with Kazakh Prime Minister Karim Masimov at the Great "
        "Hall of the People in Beijing on December 14, 2015. [Photo: Xinhua]",
        "China Railway Group (CRG) will help build the 22.4 km light railway in Astana, which will have "
        "18 stations and one depot, according to the bilateral deal signed in May this year.",
        "He will also attend the second World Internet Conference in Wuzhen in east China's Zhejiang "
        "Province on Dec. 16-18.",
    ],
    "002_158f33fd42f0f3d5": [
        "Industrial capacity cooperation between China and Kazakhstan has grown rapidly in the past few "
        "years and yielded rich results under the Belt and Road Initiative, an official said Friday.",
        "Currently, 34 projects, including copper mining, electrolytic aluminum and cement plants, have "
        "been completed and put into production in Kazakhstan. Another 43 projects are under construction.",
        "China has signed capacity cooperation documents with more than 30 countries.",
    ],
    "003_f70ee63ae281a647": [
        "NUR-SULTAN. KAZINFORM Prime Minister Askar Mamin has met today with a member of the Standing "
        "Committee of the Political Bureau of the Central Committee of the Communist Party of China",
        "A total of 55 Kazakh-Chinese projects worth $27 billion will be implemented.",
        "In the first two months of 2019, trade volume amounted to $2 billion, that is 12.1% higher "
        "against the same period of 2018.",
    ],
    "004_c370dfeada57f66a": [
        "who is in Astana on a working visit, primeminister.kz reports.",
        "Thus, last year it increased by 35% and reached an impressive volume of $24.2 billion.",
        "Today, about 85% of goods from China to Europe are transported through Kazakhstan.",
        "The Chinese side will continue to firmly support Kazakhstan and all efforts aimed at development "
        'and prosperity," Ding Xuexiang said.',
    ],
}
TITLES = {
    "000_3f9b3e589f18f68f": "Kazakhstan and China actively cooperate in production capacity",
    "001_5488eb069d420042": "China, Kazakhstan to Step up Capacity Cooperation",
    "002_158f33fd42f0f3d5": "China-Kazakhstan capacity cooperation on fast track: official",
    "003_f70ee63ae281a647": "Prime Minister Askar Mamin has met today with a member of the Standing…",
    "004_c370dfeada57f66a": (
        "Alikhan Smailov suggests expanding Kazakhstan-China Industrialization Projects List"
    ),
}
DATES = {
    "000_3f9b3e589f18f68f": None,
    "001_5488eb069d420042": "2015-12-14",
    "002_158f33fd42f0f3d5": "2017-05-13",
    "003_f70ee63ae281a647": None,
    "004_c370dfeada57f66a": "2023-11-28",
}
SOURCES = {
    "000_3f9b3e589f18f68f": "Kazinform",
    "001_5488eb069d420042": "Xinhua",
    "002_158f33fd42f0f3d5": "Xinhua",
    "003_f70ee63ae281a647": "Kazinform",
    "004_c370dfeada57f66a": "Kazakhstan Today",
}
DOC_IDS = sorted(FURNITURE)


def read_raw(doc_id: str) -> str:
    """Return the raw text of a bundled article."""
    return (CORPUS / f"{doc_id}.txt").read_text(encoding="utf-8")


def normalise(line: str) -> str:
    """Collapse whitespace the way the cleaner does."""
    return " ".join(line.split())


@pytest.fixture(scope="module")
def cleaned() -> dict[str, str]:
    """Cleaned text of every bundled article."""
    return {doc_id: clean_text(read_raw(doc_id)) for doc_id in DOC_IDS}


@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_furniture_lines_are_removed(cleaned: dict[str, str], doc_id: str) -> None:
    lines = cleaned[doc_id].split("\n")
    for furniture in FURNITURE[doc_id]:
        assert normalise(furniture) not in lines


@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_furniture_fragments_are_absent(cleaned: dict[str, str], doc_id: str) -> None:
    present = [fragment for fragment in FURNITURE_FRAGMENTS if fragment in cleaned[doc_id]]
    assert present == []


@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_every_other_line_survives_verbatim_and_in_order(cleaned: dict[str, str], doc_id: str) -> None:
    furniture = {normalise(line) for line in FURNITURE[doc_id]}
    expected = [normalise(line) for line in read_raw(doc_id).splitlines() if line.strip()]
    expected = [line for i, line in enumerate(expected) if line not in furniture and line not in expected[:i]]
    assert [line for line in cleaned[doc_id].split("\n") if line] == expected


@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_body_sentences_are_present_verbatim(cleaned: dict[str, str], doc_id: str) -> None:
    for sentence in SENTENCES[doc_id]:
        assert sentence in cleaned[doc_id]


@pytest.mark.parametrize("doc_id", [d for d in DOC_IDS if d != "003_f70ee63ae281a647"])
def test_title_is_the_first_line_once(cleaned: dict[str, str], doc_id: str) -> None:
    assert cleaned[doc_id].split("\n")[0] == TITLES[doc_id]
    assert cleaned[doc_id].count(TITLES[doc_id]) == 1


def test_paragraphs_are_joined_by_one_blank_line(cleaned: dict[str, str]) -> None:
    text = cleaned["003_f70ee63ae281a647"]
    assert "\n\n\n" not in text
    assert text.count("\n\n") == 5
    assert all(line == line.strip() and "  " not in line for line in text.split("\n"))


@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_metadata_of_bundled_articles(cleaned: dict[str, str], doc_id: str) -> None:
    meta = extract_metadata(read_raw(doc_id), cleaned[doc_id])
    assert (meta.title, meta.published, meta.source) == (TITLES[doc_id], DATES[doc_id], SOURCES[doc_id])
    assert meta.published_basis == ("text" if DATES[doc_id] else None)


def test_title_without_headline_is_the_shortened_first_sentence(cleaned: dict[str, str]) -> None:
    meta = extract_metadata(read_raw("003_f70ee63ae281a647"), cleaned["003_f70ee63ae281a647"])
    assert meta.title_basis == "first-sentence"
    assert len(meta.title) <= 80 and meta.title.endswith("…")


def test_date_deep_in_the_body_is_not_taken() -> None:
    raw = "Headline about trade\n\n" + "Officials met to talk about trade and more trade.\n\n" * 8
    raw += "The agreement was signed on December 14, 2015 in Beijing by both sides.\n"
    assert extract_metadata(raw, clean_text(raw)).published is None


def test_footer_marker_followed_by_prose_is_kept() -> None:
    raw = (
        "Headline\n\nThe first paragraph of the story says something important here.\n\n"
        "Related news\n\nThe story goes on after the marker with another full sentence of prose."
    )
    assert "another full sentence of prose." in clean_text(raw)
    assert "Related news" in clean_text(raw)


def test_hard_wrapped_lines_are_joined() -> None:
    raw = "Headline here\n\nThe minister said the\nagreement was signed\nyesterday in Astana.\n"
    assert (
        clean_text(raw) == "Headline here\n\nThe minister said the agreement was signed yesterday in Astana."
    )


def test_data_rows_with_pipes_are_kept() -> None:
    raw = (
        "Headline\n\nTrade grew strongly over the last two years, the ministry said today.\n2018 | 11.1% | up"
    )
    assert "2018 | 11.1% | up" in clean_text(raw)


def test_html_to_text_drops_scripts_and_page_chrome() -> None:
    html = (
        "<html><head><title>T</title><style>p {color: red}</style></head><body>"
        "<nav>Home | News</nav><header>Site header</header><script>var secret = 1;</script>"
        "<article><h1>Headline</h1><p>First <b>paragraph</b>\n text.</p><p>Second<br>line</p></article>"
        "<aside>Ads</aside><form>Search</form><noscript>Enable JS</noscript><footer>Footer</footer>"
        "</body></html>"
    )
    assert html_to_text(html) == "Headline\n\nFirst paragraph text.\n\nSecond\nline"


def test_html_metadata_prefers_h1_and_published_time() -> None:
    html = (
        '<html><head><title>Page title | Site</title><meta property="article:published_time" '
        'content="2017-05-13T12:03:00+08:00"></head><body><h1>The headline</h1></body></html>'
    )
    meta = extract_html_metadata(html)
    assert (meta.title, meta.published, meta.published_basis) == ("The headline", "2017-05-13", "html-meta")


def test_html_metadata_falls_back_to_title_and_time_tag() -> None:
    html = '<title>Page title | Site</title><p>Text <time datetime="2016-12-01">1 Dec</time></p>'
    meta = extract_html_metadata(html)
    assert (meta.title, meta.published) == ("Page title", "2016-12-01")


def test_markdown_to_text_strips_heading_marks_and_links() -> None:
    markdown = '# Headline #\n\nSee [the report](http://x.org/r "r") and ![chart](c.png) here.\n'
    assert markdown_to_text(markdown) == "Headline\n\nSee the report and  here.\n"
