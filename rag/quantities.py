"""The project's one quantity parser: the answerer, the eval scorer and the eval-set checks use it.

Conventions:
- Spans cover the whole mention, qualifier included ("more than $26 billion"); text == source[start:end].
- money: value with scale words applied ("$26 billion" -> 26e9); unit an ISO-4217 code ("USD", "CNY").
- percent: value as written ("11.1%" -> 11.1), unit "%".  length: unit "km", "m", "cm", "mm" or "mi".
- count: a number and the noun it counts; unit is that head noun, lower-cased as written ("projects",
  "depot", "people"); "12-hour", "7-day" count "hour", "day".  Spelled-out numbers ("Eleven projects",
  "a dozen more projects") are kept only as counts.
- number: any other figure; unit None, or a non-length measure ("t", "kg", "ha", "MW").
- year, date, ordinal, range: exact integers.  A date's value is its day (its month when it has no day)
  and month/day/year are filled in; "Dec. 16-18" puts 18 in value_end, as "2013 to 2016" puts 2016.
- Times ("12:03") and numbers glued to letters ("G20", "5G", "Covid-19") are not quantities.
- format_quantity never includes the qualifier; callers prepend q.qualifier when they want it.
"""

import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

QuantityKind = Literal["money", "count", "percent", "length", "date", "year", "ordinal", "range", "number"]


@dataclass(frozen=True)
class Quantity:
    """One quantity mention and its normalised value (see the module docstring)."""

    value: float
    unit: str | None
    kind: QuantityKind
    text: str
    start: int
    end: int
    qualifier: str | None = None
    value_end: float | None = None
    month: int | None = None
    day: int | None = None
    year: int | None = None


def _alt(words: Iterable[str]) -> str:
    # Longest first, so that an alternation never stops at a prefix of the real word.
    return "|".join(sorted(map(re.escape, words), key=len, reverse=True))


def _table(*specs: str) -> dict[str, str]:
    # "key=value key=value": keeps each lookup table to a line or two.
    return dict(pair.split("=") for spec in specs for pair in spec.split())


_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen".split()
_ONES += "fifteen sixteen seventeen eighteen nineteen".split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_WORD_NUM = {w: i for i, w in enumerate(_ONES)} | {w: 20 + 10 * i for i, w in enumerate(_TENS)}
_ORD_ONES = "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split()
_ORD_WORD = {w: i + 1 for i, w in enumerate(_ORD_ONES)} | {w + "th": _WORD_NUM[w] for w in _ONES[13:]}
_ORD_WORD |= {w[:-1] + "ieth": _WORD_NUM[w] for w in _TENS}  # "twentieth"
_SCALES_SPEC = "hundred=1e2 thousand=1e3 million=1e6 billion=1e9 trillion=1e12 dozen=12 k=1e3 m=1e6"
_SCALES = {
    w: float(v) for w, v in _table(_SCALES_SPEC, "mn=1e6 mln=1e6 b=1e9 bn=1e9 tn=1e12 trn=1e12").items()
}
_SYMBOLS = _table(
    "$=USD US$=USD U.S.$=USD HK$=HKD A$=AUD C$=CAD S$=SGD NZ$=NZD R$=BRL €=EUR £=GBP ¥=CNY ₸=KZT ₽=RUB",
    "₹=INR ₩=KRW Rs=INR Rs.=INR",
)
_CODES = """USD EUR CNY RMB KZT GBP JPY RUB HKD AUD CAD SGD CHF INR NZD SEK NOK DKK ZAR BRL MXN KRW TRY
    TWD THB IDR MYR PLN ILS AED SAR PKR IQD KWD NGN EGP CZK HUF ARS""".split()
# Currencies written as words, singular; a country's name goes first where the word is shared
# ("Australian dollars" are AUD, "dollars" alone USD). A word with no one country ("dinars") keeps
# the word as its unit, so that two mentions of it still match each other.
_CURRENCY_WORDS = _table(
    "us_dollar=USD u.s._dollar=USD american_dollar=USD australian_dollar=AUD canadian_dollar=CAD",
    "new_zealand_dollar=NZD hong_kong_dollar=HKD singapore_dollar=SGD taiwan_dollar=TWD dollar=USD",
    "euro=EUR yuan=CNY renminbi=CNY tenge=KZT rouble=RUB ruble=RUB yen=JPY pound_sterling=GBP",
    "swiss_franc=CHF franc=CHF indian_rupee=INR pakistani_rupee=PKR rupee=INR mexican_peso=MXN",
    "philippine_peso=PHP argentine_peso=ARS chilean_peso=CLP peso=PESO iraqi_dinar=IQD",
    "kuwaiti_dinar=KWD jordanian_dinar=JOD algerian_dinar=DZD tunisian_dinar=TND serbian_dinar=RSD",
    "bahraini_dinar=BHD libyan_dinar=LYD dinar=DINAR swedish_krona=SEK swedish_kronor=SEK",
    "norwegian_krone=NOK norwegian_kroner=NOK danish_krone=DKK danish_kroner=DKK kronor=SEK krona=SEK",
    "kroner=KRONE krone=KRONE south_african_rand=ZAR rand=ZAR turkish_lira=TRY lira=TRY",
    "brazilian_real=BRL reais=BRL ringgit=MYR baht=THB rupiah=IDR naira=NGN shekel=ILS zloty=PLN",
    "cfa_franc=XOF forint=HUF hryvnia=UAH dirham=AED riyal=SAR rial=IRR egyptian_pound=EGP",
    "pence=GBP penny=GBP",
    "cent=USD",
)
_CURRENCY_WORDS = {word.replace("_", " "): code for word, code in _CURRENCY_WORDS.items()}
_SUBUNITS = frozenset({"pence", "penny", "cent"})  # a hundredth of the unit: "530 pence" is £5.30
_WORDLESS_CODES = {"PESO": "pesos", "DINAR": "dinars", "KRONE": "kroner"}  # units named as a word only
# The won and the real are words of English too: they name money only after a scale ("1.2tn won").
_SCALED_ONLY = frozenset({"won", "real"})
# Surface prefix -> canonical unit; the first prefix that fits wins, so "mi"/"mm" precede "m".
_MEASURE_UNITS = _table(
    "sq=km2 square=km2 km2=km2 km²=km2 kilom=km km=km cm=cm mm=mm mi=mi m=m t=t",
    "kilog=kg kg=kg ha=ha hectare=ha h=hour",
)
_METRES = {"km": 1000.0, "m": 1.0, "cm": 0.01, "mm": 0.001, "mi": 1609.344}
MONTH_NAMES = "January February March April May June July August September October November December".split()
_MONTH_NUM = {name[:3]: i + 1 for i, name in enumerate(MONTH_NAMES)}
_TIME_UNITS = frozenset("second minute hour day night week month year decade century".split())
# Words that end a counted-noun phrase: function words, auxiliaries, prepositions, numbers.
_STOP_WORDS = """a an the and or but nor of in on at to from for with by as than that which who whom whose
    worth is are was were be been being am pm have has had will would can could may might must shall
    should do does did this these those it its their his her our my your we they he she i you there
    here then now ago not no also just only very too up down out off all both each per between into
    over under after before since until till during while including according against along across
    among about around via plus versus vs another"""
_NOT_NOUNS = frozenset(_STOP_WORDS.split()) | set(_WORD_NUM) | set(_ORD_WORD)
# Modifiers that can sit between a number and its noun but are never the noun themselves.
_MODIFIERS = frozenset(
    """more less fewer other new major additional such own big large small key main joint bilateral
    several various different similar same total further extra old former""".split()
)
_IRREGULAR_PLURALS = frozenset(
    "people children men women staff personnel police cattle sheep fish feet teeth mice geese data media "
    "aircraft livestock".split()
)
_QUALIFIERS = """more than|less than|fewer than|no more than|no less than|not more than|over|about|
around|nearly|almost|approximately|roughly|some|up to|at least|at most|another|under|as many as|
as much as|as few as|close to|just over|just under|an estimated|an additional|a further|
exceeding|upwards of|below|above""".replace("\n", "").split("|")

_CORE = re.compile(
    rf"(?<![\w.])(?P<num>(?:\d{{1,3}}(?:,\d{{3}}){{1,4}}(?!\d)|\d{{1,15}})(?:\.\d{{1,9}})?)(?!\d)"
    rf"|(?i:\b(?P<word>(?:{_alt(_TENS)})(?:-(?:{_alt(_ONES[1:10])}))?|{_alt(_ONES)}"
    r"|a(?=\s+(?:dozen|hundred|thousand|million|billion)\b))\b)"
)
_CUR_BEFORE = re.compile(
    rf"(?:(?P<sym>(?:(?:US|U\.S\.)\s?|HK|NZ|A|C|S|R)?\$|[€£¥₸₽₹₩]|\bRs\.?)|\b(?P<code>{_alt(_CODES)}))\s?$"
)
# what follows a figure written "100m" when the m is metres, not a million
_DIMENSION = re.compile(
    r"\s*-?\s*(?i:long|high|tall|wide|deep|thick|above|below|deep|in\s+(?:length|height|diameter|depth|width)"
    r"|sprint|race|hurdles|freestyle|relay|square|sq\b|radius|altitude|elevation|from|away|of\s+water)\b"
)
_SCALE = re.compile(
    # a plural scale word scales too ("600,000 thousands"), but not "thousands of" (a count of them)
    r"(?:\s+|\s*-\s*)?(?P<w>(?i:thousand|million|billion|trillion|hundred|dozen))(?i:s(?!\s+of\b))?\b"
    r"|\s?(?P<a>(?i:bn|mn|mln|trn|tn))\b|\s?(?P<s>[kKmMbB])\b"
)
_CURRENCY_PHRASE = (
    r"(?:"
    + "|".join(
        re.escape(w).replace(r"\ ", r"\s+")
        + ("" if w.endswith(("s", "yen", "yuan", "baht", "rand")) else "(?:e?s)?")
        for w in sorted([*_CURRENCY_WORDS, "pounds sterling"], key=len, reverse=True)
        if w not in ("pound sterling",)
    )
    + ")"
)
_CUR_AFTER = re.compile(
    rf"(?:\s+|\s*-\s*)(?P<w>(?i:{_CURRENCY_PHRASE}|won|real))\b"
    rf"|\s*(?P<code>{_alt(_CODES)})\b|(?P<p>p)\b(?!\.m\.)"
)
# "Australian dollars 648m", "euros 5bn": a currency written as words before its figure (plural
# or with its country, so "the euro 5 years on" is not read as money)
_CUR_WORD_BEFORE = re.compile(
    r"(?i:\b(?P<w>(?:us|u\.s\.|american|australian|canadian|new\s+zealand|hong\s+kong|singapore|swiss"
    r"|cfa|indian|mexican|iraqi|kuwaiti|swedish|norwegian|danish|south\s+african|turkish|brazilian)"
    r"\s+(?:dollars?|francs?|rupees?|pesos?|dinars?|kronor|krona|kroner|krone|rand|lira|reais|real)"
    r"|dollars|euros|yuan|renminbi|tenge|roubles|rubles|yen|dinars|rupees|pesos|francs))\s+$"
)
_PERCENT = re.compile(r"\s*-?\s*(?:%|(?i:per\s*cent(?:age\s+points?)?|pct)\b)")
_MEASURE = re.compile(
    r"\s*-?\s*(?P<u>(?i:sq\.?\s*km|square\s+kilomet(?:re|er)s?|kilomet(?:re|er)s?|met(?:re|er)s?"
    r"|miles?|tonnes?|tons?|kilograms?|hectares?)|km2|km²|km|cm|mm|mi|m|kg|t|ha|MW|GW|kW|h|hrs?)\b"
)
_COMPOUND = re.compile(r"-([a-z]+)\b")
_NOUN_TOKEN = re.compile(r"[ \t]+[\"'“‘«(]?([A-Za-z](?:[A-Za-z'’-]*[A-Za-z])?)[\"'”’»)]?")
_QUALIFIER = re.compile(rf"(?i:\b({_alt(_QUALIFIERS)}))\s+$")
_PLURAL = re.compile(r"[a-z'-]{2,}(?<!ss|us|is)s")  # "projects", not "business", "bus", "basis"
_DISPLAYED = re.compile(r"\d[\d,]*(?:\.(\d+))?")

_MON = (
    rf"(?:{_alt(MONTH_NAMES)}|(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?)"
    r"(?![A-Za-z])"
)
_Y = r"(?:19|20)\d\d"
_Y_OF_DATE = r"(?:1\d|20)\d\d"  # after a month name a year may be older: "10 November 1483"
_DATES = [
    re.compile(p)
    for p in (
        rf"\b(?P<q>(?P<mon>{_MON})\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?:\s*[-–]\s*(?P<d2>\d{{1,2}}))?"
        rf"(?:,?\s+(?P<y>{_Y_OF_DATE}))?)(?![\d:])(?!\s*(?:%|per\s*cent))",  # not "in March 5%"
        rf"\b(?P<q>(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?:\s*[-–]\s*(?P<d2>\d{{1,2}}))?\s+(?:of\s+)?"
        rf"(?P<mon>{_MON})(?:,?\s+(?P<y>{_Y_OF_DATE}))?)(?!\d)",
        rf"\b(?P<q>(?P<mon>{_MON}),?\s+(?P<y>{_Y_OF_DATE}))(?!\d)",
        rf"\b(?P<q>(?P<mon>{_MON})\s+(?:this|last|next)\s+year)\b",
        rf"(?i:\b(?:in|since|until|till|by|from|of|during|early|late|mid|before|after|through|last"
        rf"|next|this)[\s-]+)(?P<q>(?P<mon>{_MON}))",
        rf"\b(?P<q>(?P<y>{_Y})-(?P<m>\d{{1,2}})-(?P<d>\d{{1,2}}))\b",
        rf"\b(?P<q>(?P<d>\d{{1,2}})\.(?P<m>\d{{1,2}})\.(?P<y>{_Y}))\b",
    )
]
_BARE_MONTH = re.compile(rf"(?P<q>(?P<mon>{_MON}))")  # a gold answer may be just "May"
_RANGES = [
    re.compile(p)
    for p in (
        rf"(?:(?i:\bfrom)\s+)?(?<![\w.])(?P<a>{_Y})(?:\s*[-–—]\s*(?P<b>(?:19|20)?\d\d)"
        rf"|\s+(?i:to|through|until|till)\s+(?P<c>{_Y}))(?!\w)",
        rf"(?i:\bbetween)\s+(?P<a>{_Y})\s+and\s+(?P<c>{_Y})\b",
    )
]
_ORDINAL = re.compile(
    r"(?<![\w.])(?P<n>\d{1,4})(?:st|nd|rd|th)\b"
    rf"|(?i:\b(?:(?P<t>{_alt(_TENS)})-(?P<o>{_alt(_ORD_ONES[:9])})|(?P<w>{_alt(_ORD_WORD)}))\b)"
    # Roman numerals only before a Capitalised name ("XII Astana Economic Forum"); "I" is a pronoun.
    r"|(?<![\w-])(?P<r>[IVX]{2,6})(?=\s+[A-Z][a-z])"
)
_ROMAN_VALUES = {
    t + o: 10 * i + j
    for i, t in enumerate(("", "X", "XX", "XXX"))
    for j, o in enumerate(["", *"I II III IV V VI VII VIII IX".split()])
}
_TIME = re.compile(
    r"(?<![\d:])\d{1,2}(?::\d{2}){1,2}(?![\d:])(?:\s*(?i:[ap]\.m\.|[ap]m\b))?"
    r"|\b\d{1,2}\s*(?i:[ap]\.m\.|[ap]m\b)"
)

_Cand = tuple[int, int, int, Quantity | None]  # start, end, priority (lower wins ties), quantity


def parse_quantities(text: str) -> list[Quantity]:
    """Every quantity mention in text, sorted by start, non-overlapping, with exact spans."""
    return _parse(text, bare_words=False)


def parse_quantity(text: str) -> Quantity | None:
    """The single main quantity of a short string such as a gold answer ("$2 billion")."""
    found = _parse(text, bare_words=True)
    rank = ("money", "percent", "length", "count", "number", "date", "range", "year", "ordinal")
    return min(found, key=lambda q: (rank.index(q.kind), q.start), default=None)


def _parse(text: str, bare_words: bool) -> list[Quantity]:
    cands = _specials(text, bare_words)
    for m in _CORE.finditer(text):
        q = None if _glued(text, m.start()) else _number_at(text, m, bare_words)
        if q is not None:
            cands.append((q.start, q.end, 4, q))
    return _join_ranges(text, _resolve(cands))


_RANGE_KINDS = frozenset({"money", "percent", "count", "number", "length"})
_DASH = re.compile(r"\s*[-–—]\s*")
_TO = re.compile(r"\s+(?i:to)\s+")
_AND = re.compile(r"\s+(?i:and)\s+")
_BETWEEN = re.compile(r"(?i:\bbetween)\s+$")
_FROM = re.compile(r"(?i:\bfrom)\s+$")


def _join_ranges(text: str, found: list[Quantity]) -> list[Quantity]:
    """Two figures that make one range become one mention: "30-40%", "$3-5bn", "3 to 5 days",
    "between 3% and 5%". "From 3% to 5%" is a change, not a range, and stays two mentions."""
    out: list[Quantity] = []
    for q in found:
        low = out[-1] if out else None
        joined = _range_of(text, low, q) if low is not None else None
        if joined is not None:
            out[-1] = joined
        else:
            out.append(q)
    return out


def _range_of(text: str, low: Quantity, high: Quantity) -> Quantity | None:
    if low.kind not in _RANGE_KINDS or high.kind not in _RANGE_KINDS or low.value_end is not None:
        return None
    gap = text[low.end : high.start]
    between = _BETWEEN.search(text, max(0, low.start - 12), low.start)
    bare = low.kind == "number" and low.unit is None
    if bare and high.kind == "number" and high.unit is None and _yearlike(low) and _yearlike(high):
        return None  # "(1894–1895)": years before 1900, which a gold "1894" names
    if between and _AND.fullmatch(gap):
        start = between.start()
    elif (_DASH.fullmatch(gap) or (_TO.fullmatch(gap) and bare)) and not _FROM.search(
        text, max(0, low.start - 8), low.start
    ):
        start = low.start
    else:
        return None
    if bare:
        kind, unit = high.kind, high.unit
    elif (high.kind == "number" and high.unit is None) or (low.kind, low.unit) == (high.kind, high.unit):
        kind, unit = low.kind, low.unit  # "$3-5bn": the currency comes first
    else:
        return None
    value = low.value * _written_scale(high) if _written_scale(low) == 1.0 else low.value
    if not value < high.value:
        return None
    return Quantity(value, unit, kind, text[start : high.end], start, high.end, low.qualifier, high.value)


def _yearlike(q: Quantity) -> bool:
    return bool(re.fullmatch(r"\d{4}", q.text)) and 1000 <= q.value <= 2100


def _written_scale(q: Quantity) -> float:
    """What a mention's scale word or letter multiplies its digits by ("5bn" -> 1e9), 1 when none."""
    m = _DISPLAYED.search(q.text)
    if m is None or q.kind == "percent":
        return 1.0
    core = float(m.group().replace(",", ""))
    factor = q.value / core if core else 1.0
    return 100.0 if q.unit == "GBP" and m.end() < len(q.text) and q.text[m.end()] == "p" else factor


def _resolve(cands: list[_Cand]) -> list[Quantity]:
    # Times, dates and ranges claim their text first ("2015-16 season" is no "16 season"); then
    # the longest mention wins ("30 second" is a count, not an ordinal), priority breaks ties.
    starts: list[int] = []
    chosen: list[_Cand] = []
    for cand in sorted(cands, key=lambda c: (c[2] > 2, c[0] - c[1], c[2], c[0])):
        i = bisect_right(starts, cand[0])
        if (i and chosen[i - 1][1] > cand[0]) or (i < len(chosen) and chosen[i][0] < cand[1]):
            continue
        starts.insert(i, cand[0])
        chosen.insert(i, cand)
    return [c[3] for c in chosen if c[3] is not None]


def _glued(text: str, start: int) -> bool:
    # "Covid-19", "Su-35" are names; "mid-2019", "pre-2020" still carry a year.
    if start >= 2 and text[start - 1] in "-–" and text[start - 2].isalpha():
        word = re.search(r"[^\W\d_]+$", text[max(0, start - 12) : start - 1])
        return word is None or word.group().lower() not in {"mid", "pre", "post"}
    return False


def _number_at(text: str, m: re.Match[str], bare_words: bool) -> Quantity | None:
    is_word = m["num"] is None
    # "a" only matches before a scale word ("a dozen", "a million"), where it means one.
    words = () if m["num"] else m["word"].lower().split("-")
    core = float(m["num"].replace(",", "")) if m["num"] else float(sum(_WORD_NUM.get(w, 1) for w in words))
    start, end = m.span()
    before = None
    if not is_word:
        before = _CUR_BEFORE.search(text, max(0, start - 8), start)
        before = before or _CUR_WORD_BEFORE.search(text, max(0, start - 40), start)
    if before:
        start = before.start()
    value, end, scaled = _scale_after(text, end, core, before is not None)
    after = None if before else _currency_after(text, end, scaled)
    if after:
        end = after.end()
        if (after["w"] or after["p"] or "").lower().rstrip("s") in _SUBUNITS or after["p"]:
            value /= 100  # "530 pence", "583p": pounds
    kind, unit, end = _classify(text, end, value, _currency_code(before or after), is_word)
    if text[end : end + 1].isalpha() or (is_word and kind == "number" and not bare_words):
        return None  # "5G", "25th", "1990s"; a spelled-out number with nothing counted
    qualifier, qstart = _qualifier_before(text, start)
    plain = m.group("num") or ""
    # a four-digit number alone (a gold answer such as "1856") is a year from 1000 on
    oldest = 1000 if bare_words and text.strip() == plain else 1900
    yearlike = bool(re.fullmatch(r"\d{4}", plain)) and oldest <= core <= 2100 and not scaled
    if yearlike and (kind == "number" or (kind == "count" and qualifier is None)):
        return Quantity(core, None, "year", plain, m.start(), m.end(), year=int(core))
    return Quantity(value, unit, kind, text[qstart:end], qstart, end, qualifier)


def _currency_after(text: str, end: int, scaled: bool) -> re.Match[str] | None:
    """A currency written after the figure ("77m euros", "200 dinars", "583p"), if any."""
    after = _CUR_AFTER.match(text, end)
    if after is None or (after["w"] and after["w"].lower() in _SCALED_ONLY and not scaled):
        return None
    return after


def _scale_after(text: str, end: int, value: float, currency: bool) -> tuple[float, int, bool]:
    """Up to two scale words ("2 thousand million"). A scale letter needs a reason to be one: "m"
    is a million unless a measure follows ("a 100m-long bridge"), as business news writes it
    ("4.5m barrels", "77m euros"); "k" and "b" need a currency before or after ("$5k", "5bn")."""
    scaled = False
    for _ in range(2):
        m = _SCALE.match(text, end)
        if m is None:
            break
        letter = m.group("s")
        # "22,400 m" with a space is metres; "4.5m barrels" a million
        if (
            letter
            and not currency
            and (m.group(0)[0].isspace() or not _letter_is_scale(text, m.end(), letter))
        ):
            break
        value *= _SCALES[(m.group("w") or m.group("a") or letter).lower()]
        end, scaled = m.end(), True
    return value, end, scaled


def _letter_is_scale(text: str, end: int, letter: str) -> bool:
    after = _CUR_AFTER.match(text, end)
    if after and not after["p"]:
        return True
    return letter in "mM" and not _DIMENSION.match(text, end)


def _currency_code(m: re.Match[str] | None) -> str | None:
    if m is None:
        return None
    found = m.groupdict()
    if sym := found.get("sym"):
        return _SYMBOLS["".join(sym.split())]
    if found.get("code"):
        return "CNY" if m["code"] == "RMB" else m["code"]
    if found.get("p"):
        return "GBP"
    words = " ".join(m["w"].lower().split())
    if words in _SCALED_ONLY:
        return "KRW" if words == "won" else "BRL"
    return next(code for word, code in _CURRENCY_WORDS.items() if words.startswith(word))


def _classify(
    text: str, end: int, value: float, currency: str | None, is_word: bool
) -> tuple[QuantityKind, str | None, int]:
    """Kind and unit from what follows the number; also returns the new end of the mention."""
    if currency:
        return "money", currency, end
    if p := _PERCENT.match(text, end):
        return "percent", "%", p.end()
    if u := _MEASURE.match(text, end):
        unit, kind = _measure_unit(u.group("u"))
        return kind, unit, u.end()
    c = _COMPOUND.match(text, end)
    # "12-hour", "7-day"; a spelled-out "two-state" or "one-stop" is a word, not a count.
    if c and (not is_word or c.group(1) in _TIME_UNITS):
        return "count", c.group(1), c.end()
    if noun := _counted_noun(text, end, value, is_word):
        return "count", noun[0], noun[1]
    return "number", None, end


def _measure_unit(surface: str) -> tuple[str, QuantityKind]:
    if surface in ("MW", "GW", "kW"):
        return surface, "number"
    low = surface.lower()
    unit = next(u for prefix, u in _MEASURE_UNITS.items() if low.startswith(prefix))
    return unit, ("length" if unit in _METRES else "count" if unit == "hour" else "number")


def _counted_noun(text: str, pos: int, value: float, is_word: bool) -> tuple[str, int] | None:
    """Head noun after a number: "55 Kazakh-Chinese projects" -> "projects"; None if none."""
    # The phrase runs over at most four words and stops at punctuation, a line break, a function
    # word, or a verb-looking word; adjectives and modifiers inside it are skipped.
    words: list[tuple[str, int]] = []
    while len(words) < 4 and (m := _NOUN_TOKEN.match(text, pos)):
        word = m.group(1)
        low = word.lower()
        if low in _NOT_NOUNS or low.endswith("ly") or (words and low.endswith("ing")):
            break
        if low.endswith("ed") and not _plural_next(text, m.end()):
            break  # "20 delegates attended"; but "27,000 taped conversations" counts conversations
        if is_word and not words and word[0].isupper() and not _plural_next(text, m.end()):
            return None  # "One Belt, One Road": a spelled-out number before a Name is the name
        words.append((word, m.end(1)))
        pos = m.end()
    # Nor is a scale, unit or currency further on ("billion", "percent", "km", "dollars") counted.
    special = (_SCALE, _PERCENT, _MEASURE, _CUR_AFTER)
    heads = [
        (w, e)
        for w, e in words
        if w.lower() not in _MODIFIERS and not any(p.fullmatch(" " + w) for p in special)
    ]
    plurals = [(w, e) for w, e in heads if w.lower() in _IRREGULAR_PLURALS or _PLURAL.fullmatch(w.lower())]
    if not heads:
        return None
    if not plurals and value >= 1e6 and heads[0][0].lower() not in _TIME_UNITS:
        return None  # "a 5bn deal": a scaled figure before a singular noun describes it
    word, end = plurals[0] if plurals and value != 1 else heads[-1]
    if heads[0][0].lower() in _TIME_UNITS:
        word, end = heads[0]  # "a 10 year jail sentence" is ten years
    return None if word[0].isupper() else (word.lower(), end)


def _plural_next(text: str, pos: int) -> bool:
    """True when the word at pos is a lower-case plural noun ("six WorldCom executives")."""
    m = _NOUN_TOKEN.match(text, pos)
    if m is None:
        return False
    low = m.group(1)
    return (
        low.islower() and low not in _NOT_NOUNS and bool(_PLURAL.fullmatch(low) or low in _IRREGULAR_PLURALS)
    )


def _qualifier_before(text: str, start: int) -> tuple[str | None, int]:
    m = _QUALIFIER.search(text, max(0, start - 20), start)
    if m is None:
        return None, start
    return " ".join(m.group(1).lower().split()), m.start()


def _specials(text: str, bare_words: bool) -> list[_Cand]:
    # Times only block their digits; dates, ranges and ordinals come from their own patterns.
    out: list[_Cand] = [(m.start(), m.end(), 0, None) for m in _TIME.finditer(text)]
    dates = [*_DATES, _BARE_MONTH] if bare_words else _DATES
    for priority, patterns, build in (
        (1, dates, _date_from),
        (2, _RANGES, _range_from),
        (3, [_ORDINAL], _ordinal_from),
    ):
        for m in (m for pattern in patterns for m in pattern.finditer(text)):
            if q := build(m):
                out.append((q.start, q.end, priority, q))
    return out


def _date_from(m: re.Match[str]) -> Quantity | None:
    g = m.groupdict()
    month = _MONTH_NUM[g["mon"][:3]] if g.get("mon") else int(g["m"])
    day = int(g["d"]) if g.get("d") else None
    end = int(g["d2"]) if g.get("d2") else None
    year = int(g["y"]) if g.get("y") else None
    if not 1 <= month <= 12 or (day is not None and not 1 <= day <= 31):
        return None
    if end is not None and (day is None or not day < end <= 31):
        return None
    s, e = m.span("q")
    value = float(day if day is not None else month)
    value_end = None if end is None else float(end)
    return Quantity(value, None, "date", m["q"], s, e, None, value_end, month, day, year)


def _range_from(m: re.Match[str]) -> Quantity | None:
    start, tail = int(m["a"]), m.groupdict().get("b") or m["c"]
    end = int(tail) + (start // 100 * 100 if len(tail) == 2 else 0)  # "2015-16"
    if end <= start:
        return None
    return Quantity(float(start), None, "range", m[0], m.start(), m.end(), value_end=float(end))


def _ordinal_from(m: re.Match[str]) -> Quantity | None:
    if m["r"]:
        value = _ROMAN_VALUES.get(m["r"])
    elif m["n"]:
        value = int(m["n"])
    else:  # "fifth", "twenty-first"
        value = (_WORD_NUM[m["t"].lower()] if m["t"] else 0) + _ORD_WORD[(m["o"] or m["w"]).lower()]
    return None if value is None else Quantity(float(value), None, "ordinal", m[0], m.start(), m.end())


def year_of(quantity: Quantity) -> Quantity | None:
    """The year a date states, as a year quantity spanning its digits ("January 7, 1943" -> 1943)."""
    if quantity.kind != "date" or quantity.year is None:
        return None
    digits = str(quantity.year)
    at = quantity.text.rfind(digits)
    if at < 0:
        return None
    start, year = quantity.start + at, quantity.year
    return Quantity(float(year), None, "year", digits, start, start + len(digits), year=year)


# A table's unit line ("$ in millions", "(in thousands)", "in € million", "%"): its currency, scale, percent.
_UNIT_CURRENCY = re.compile(
    rf"(?P<sym>(?:US|U\.S\.|HK|NZ|A|C|S|R)?\$|[€£¥₸₽₹₩])|\b(?P<code>{_alt(_CODES)})\b"
    rf"|(?i:\b(?P<w>{_CURRENCY_PHRASE}))\b"
)
_UNIT_SCALE = re.compile(
    r"(?i:\b(?P<w>thousand|million|billion|trillion|mn|mln|bn|tn|trn|m|k)s?\b)|(?<![\d.,])'?000s?\b"
)
_EXCEPT = re.compile(r"\bexcept\b(.*)", re.IGNORECASE)  # "in thousands, except per share data"
# a per-share figure, in a unit's "except" clause or in a row or column header ("Basic earnings per share")
PER_SHARE = re.compile(r"\bper[\s-]+(?:common\s+|ordinary\s+)?share\b|\bEPS\b", re.IGNORECASE)
_SHARE_COUNTS = re.compile(
    r"\bshares?\b(?![\s-]+(?:data|amounts?)\b)(?<!per share)(?<!per-share)", re.IGNORECASE
)
_SCALABLE = frozenset({"number", "year"})  # a bare figure in a cell ("2004" under "$ millions" is money)


@dataclass(frozen=True)
class TableUnit:
    """What a table's unit line says of its bare figures."""

    scale: float = 1.0  # "in millions": 1e6
    currency: str | None = None  # ISO code ("$ in millions": "USD")
    percent: bool = False  # "%", "per cent"
    except_per_share: bool = False  # "…, except per share data": per-share figures are not scaled
    except_shares: bool = False  # "…, except share and per share data": nor are share counts


def parse_table_unit(line: str | None) -> TableUnit:
    """The currency, scale and percent a table's unit line states ("$ in millions" -> USD, 1e6)."""
    if not line:
        return TableUnit()
    currency = _currency_code(_UNIT_CURRENCY.search(line))
    scale = _UNIT_SCALE.search(line)
    factor = _SCALES[scale.group("w").lower()] if scale and scale.group("w") else 1e3 if scale else 1.0
    excepted = _EXCEPT.search(line)
    clause = excepted.group(1) if excepted else ""
    return TableUnit(factor, currency, bool(_PERCENT.search(line)) and currency is None,
                     except_per_share=bool(PER_SHARE.search(clause)),
                     except_shares=bool(_SHARE_COUNTS.search(clause)))  # fmt: skip


def in_table_unit(quantity: Quantity, unit: TableUnit) -> Quantity:
    """A cell's quantity with its table's unit applied: "1,234" under "$ in millions" is $1,234 million;
    its text and offsets stay the cell's own."""
    end = None if quantity.value_end is None else quantity.value_end * unit.scale
    if quantity.kind in _SCALABLE and quantity.unit is None:
        if unit.percent:
            return replace(quantity, kind="percent", unit="%", year=None)
        if unit.currency is not None:
            value = quantity.value * unit.scale
            return replace(quantity, kind="money", unit=unit.currency, value=value, value_end=end, year=None)
        return replace(quantity, kind="number", value=quantity.value * unit.scale, value_end=end, year=None)
    if quantity.kind == "money" and _written_scale(quantity) == 1.0:  # "$1,234" under "$ in millions"
        return replace(quantity, value=quantity.value * unit.scale, value_end=end)
    return quantity


_MINUS_BEFORE = re.compile(r"(?:^|[\s(:|])[-\u2212\u2013]\s?(?:[$€£¥₸₽₹₩]\s?)?$")
_OPEN_BEFORE = re.compile(r"\(\s?(?:[$€£¥₸₽₹₩]\s?)?$")


def signed_value(text: str, quantity: Quantity) -> float:
    """A quantity's value with the sign its text gives it: "-3,000" and "−3,000" are negative, and
    so is a figure in parentheses, as accounts write a loss ("(3,781)", "$(1,867)"). The parser
    reads figures unsigned, as a hyphen before a figure is more often a range or a compound."""
    before = text[max(0, quantity.start - 4) : quantity.start]
    if _MINUS_BEFORE.search(before):
        return -abs(quantity.value)
    if _OPEN_BEFORE.search(before) and text[quantity.end : quantity.end + 2].lstrip().startswith(")"):
        return -abs(quantity.value)
    return quantity.value


def quantities_match(a: Quantity, b: Quantity, rel_tol: float = 0.01) -> bool:
    """Same quantity: compatible kind and unit, values equal up to rel_tol or display rounding."""
    if not _compatible(a, b):
        return False
    if "year" in (a.kind, b.kind) and "number" in (a.kind, b.kind):
        return a.value == b.value  # a year is exact: 1895 is not "about" 1894
    if a.kind in ("year", "ordinal", "range", "date"):
        same_year = a.year is None or b.year is None or a.year == b.year
        return (a.value, a.value_end, a.month, a.day) == (b.value, b.value_end, b.month, b.day) and same_year
    if (a.value_end is None) != (b.value_end is None):
        return False  # "30-40%" is neither 30% nor 40%
    va, ha = _normalised(a)
    vb, hb = _normalised(b)
    if not _close(va, vb, max(ha, hb), rel_tol):
        return False
    if a.value_end is None or b.value_end is None:
        return True
    factor_a, factor_b = va / a.value if a.value else 1.0, vb / b.value if b.value else 1.0
    return _close(a.value_end * factor_a, b.value_end * factor_b, max(ha, hb), rel_tol)


def _close(va: float, vb: float, half_unit: float, rel_tol: float) -> bool:
    # A displayed "$2 billion" stands for anything that rounds to it: strictly under half a unit.
    diff, size = abs(va - vb), max(abs(va), abs(vb))
    return diff <= rel_tol * size + 1e-12 * max(size, 1.0) or diff < half_unit


def _compatible(a: Quantity, b: Quantity) -> bool:
    countlike = ("count", "number")
    if {a.kind, b.kind} == {"year", "number"}:  # "1894" in "(1894–1895)" is the year 1894 of a gold answer
        number = a if a.kind == "number" else b
        return number.unit is None and float(number.value).is_integer() and number.value_end is None
    if a.kind in countlike and b.kind in countlike:
        return a.unit is None or b.unit is None or _singular(a.unit) == _singular(b.unit)
    if a.kind != b.kind:
        return False
    if a.kind == "money":
        return a.unit == b.unit
    if a.kind == "length":
        return a.unit in _METRES and b.unit in _METRES
    return True


def _singular(unit: str) -> str:
    unit = unit.lower()
    if unit.endswith("ies"):
        return unit[:-3] + "y"
    return unit[:-1] if unit.endswith("s") and not unit.endswith("ss") else unit


def _normalised(q: Quantity) -> tuple[float, float]:
    # Value and half of its last displayed digit, lengths in metres.
    factor = _METRES.get(q.unit or "", 1.0) if q.kind == "length" else 1.0
    m = _DISPLAYED.search(q.text)
    if m is None:
        return q.value * factor, 0.0
    core = float(m.group().replace(",", ""))
    scale = abs(q.value / core) if core else 1.0
    return q.value * factor, 0.5 * 10.0 ** -len(m.group(1) or "") * scale * factor


def format_quantity(q: Quantity) -> str:
    """Canonical short answer: "$2 billion", "CNY 3 billion", "11.1%", "20,000 people", "25th"."""
    if q.value_end is not None and q.kind in _RANGE_KINDS:
        low, high = replace(q, value_end=None), replace(q, value=q.value_end, value_end=None)
        if q.kind == "number" and q.unit is None:  # digits at both ends: "5-1,352,015" reads back whole
            return f"{_format_amount(q.value, False)}-{_format_amount(q.value_end, False)}"
        if q.kind == "percent":
            first = _format_amount(q.value, False)
        elif q.kind in ("count", "length") or (q.kind == "number" and q.unit):
            first = _format_amount(q.value)
        else:
            first = format_quantity(low)
        # "30-40%", but "16 billion – 18 billion": a hyphen after a word would glue the figure to it
        return f"{first}{'-' if first[-1].isdigit() else ' – '}{format_quantity(high)}"
    if q.kind == "money":
        amount = _format_money(q.value)
        if q.unit in _WORDLESS_CODES:
            return f"{amount} {_WORDLESS_CODES[q.unit]}"
        symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(q.unit or "")
        return f"{symbol}{amount}" if symbol else f"{q.unit or ''} {amount}".strip()
    if q.kind == "percent":
        return f"{_format_amount(q.value, False)}%"
    if q.kind == "number" and q.unit is None and re.fullmatch(r"\d{4}", q.text.strip()):
        return q.text.strip()  # a year the parser could not call one ("in 1748"): no separator
    if q.kind in ("year", "range"):
        end = f"-{int(q.value_end)}" if q.value_end is not None else ""
        return f"{int(q.value)}{end}"
    if q.kind == "ordinal":
        n = int(q.value)
        suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
        return f"{n}{suffix}"
    if q.kind == "date":
        return _format_date(q)
    amount = _format_amount(q.value)
    return f"{amount} {q.unit}" if q.unit else amount


def _format_money(value: float) -> str:
    """An amount of money: pence and cents keep two decimals ("£5.30"), large sums a scale word."""
    if abs(value) < 1e6 and not float(value).is_integer():
        return f"{value:,.2f}" if abs(round(value, 2) - value) < 1e-9 else _format_amount(value)
    return _format_amount(value)


def _format_amount(value: float, scale_words: bool = True) -> str:
    # Scale words from a million up ("$310 million", "1.4 billion people"), digits below.
    for word, factor in (("trillion", 1e12), ("billion", 1e9), ("million", 1e6)):
        if scale_words and abs(value) >= factor:
            return f"{_format_amount(value / factor, False)} {word}"
    text = f"{value:,.9f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _format_date(q: Quantity) -> str:
    if q.month is None or not 1 <= q.month <= 12:
        return _format_amount(q.value, False)
    text = MONTH_NAMES[q.month - 1]
    if q.day is not None:
        text += f" {q.day}" + (f"-{int(q.value_end)}" if q.value_end is not None else "")
        return text + (f", {q.year}" if q.year is not None else "")
    return f"{text} {q.year}" if q.year is not None else text


def currency_names(code: str) -> tuple[str, ...]:
    """The words and symbols that name a currency in text ("GBP" -> "£", "pound", "pence", …)."""
    words = [word.split()[-1] for word, known in _CURRENCY_WORDS.items() if known == code]
    symbols = [symbol for symbol, known in _SYMBOLS.items() if known == code]
    if code == "GBP":
        words += ["pound", "sterling"]
    return tuple(dict.fromkeys([*words, *symbols, code.lower()]))
