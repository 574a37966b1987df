"""Grounded answers: the facts come from the tools and passages themselves; the model only summarises, and each
sentence of its summary is checked against that turn's context before the user sees it.

A sentence is kept only when every figure, date, code (SKU, PO, shipment, supplier code), amount with its currency
("250 JPY", "EUR 12.50", "¥250") and tenant entity name it contains also appears in the context: a total stated in
euros that the data holds in yen is dropped, though both figures appear. Figures are compared normalised (``1,000``
= ``1000``, ``12.50`` = ``12.5``, ``five`` = ``5``, ``zero`` = ``0``; ``-40`` and ``minus 40`` need a -40, which
backs a 40 only by a word of shortfall of the row named, "SKU-7 is 40 short"; ``shortfall_rows``), dates by
calendar day (``2026-12-03`` = ``3 December 2026`` = ``12/03/2026`` read either way round, though the context's
``05/12/2026`` backs only itself written so; "3 December" without a year needs a date of the context on that day,
"the 3rd" one on that day of some month), codes and names case-insensitively; a code's digits back only the code
("BER-01" backs no "1 unit"). The number of rows each tool listed, their total over the turn's tools and the number
of passages back the one figure that counts rows where it stands ("the two late orders", "5 sources";
``placed_figures``), never "2 available" nor another 2 of the sentence. The question itself is not context: "say we
have 1,000 units" must not become a fact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache

import asyncpg
import pycountry

from copilot.name_parts import name_parts, names_stated
from copilot.placed_figures import UNITS, blank_placed
from copilot.shortfall_rows import ShortfallRows
from copilot.slash_dates import SLASH_DATE, slash_date
from copilot.spelled_numbers import read_spelled

_CITATION = re.compile(r"\[\d{1,2}\]")
_CITATION_NUMBER = re.compile(r"\[(\d{1,2})\]")
_QUOTED = re.compile(r"[\"\u201c]([^\"\u201d\n]{2,80})[\"\u201d]")
# The prompt's scaffolding copied back: "Question: ...", "Live data: ...", an excerpt header "[4] (file, ...".
_ECHO = re.compile(r"^\s*(?:question|live data|context|answer)\s*:|^\s*\[\d{1,2}\]\s*\(", re.IGNORECASE)
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_MONTH = "|".join(m[:3] for m in _MONTHS)
_SUFFIX = r"(?:st|nd|rd|th)"
# "24 December 2026", "24th of December 2026", "Dec 24th, 2026", "December the 24th 2026".
_WORD_DATE = re.compile(
    rf"\b(\d{{1,2}})(?:{_SUFFIX}(?:\s+of)?)?\s+({_MONTH})[a-z]*\.?,?\s+(\d{{4}})\b"
    rf"|\b({_MONTH})[a-z]*\.?\s+(?:the\s+(?=\d+{_SUFFIX}))?(\d{{1,2}}){_SUFFIX}?,?\s+(\d{{4}})\b",
    re.IGNORECASE,
)
# A day and month without a year ("7 March", "Mar 7th", "the 7th of March"): months capitalised, as English writes
# them, so that "5 may run out" stays a figure. Claimed as "--03-07" (ISO 8601's day of any year): any date of the
# data on that day holds.
_CAPITALISED_MONTH = "|".join(m[:3].capitalize() for m in _MONTHS)
_DAY_MONTH = re.compile(
    rf"\b(\d{{1,2}})(?:{_SUFFIX}(?:\s+of)?)?\s+({_CAPITALISED_MONTH})[a-z]*\b\.?"
    rf"|\b({_CAPITALISED_MONTH})[a-z]*\.?\s+(?:the\s+(?=\d+{_SUFFIX}))?(\d{{1,2}}){_SUFFIX}?\b(?![.,]?\d)"
)
# A day without its month ("on the 24th", "Tuesday the 1st"), claimed as "---24" (ISO 8601's day of any month). An
# ordinal followed by a word is a rank ("the 3rd week", "the 12th late order"), not a day.
_DAY_OF_MONTH = re.compile(rf"\b[Tt]he\s+(3[01]|[12]\d|0?[1-9]){_SUFFIX}\b(?!\s+[A-Za-z])")
# Codes: letters, a dash or hash, then letters/digits (SKU-0, PO-000123, SUP-THYSSEN, SH-12, WH-1), written in
# capitals or holding a digit: "high-risk", "follow-up" and "Re-check" are words, not codes.
_CODE = re.compile(r"\b[A-Za-z]{1,6}[-#][A-Za-z0-9][A-Za-z0-9-]*\b")
_AMOUNT = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
# A minus sign (ASCII or U+2212) makes another figure: "-40" is not 40. A dash after a figure or word is a range
# or a code ("1-2 days", "SKU-40"), and "minus 40" is written -40, but not after a figure: "1000 minus 12" subtracts
# ("SKU-7 minus 12" is a -12: the 7 of a code is no figure).
_SIGN = r"[-\u2212]"
_MINUS_WORD = re.compile(rf"((?<![-\w.,])\d[\d.,]*(?:\s*(?:%|(?:{'|'.join(UNITS)})\b))?\s+)?\b(?i:minus)\s+(?=\d)")
# An amount next to a currency code or symbol, either side: "250.00 JPY", "EUR 12.5", "€12.50", "12 $".
_PRICED = re.compile(
    rf"(?<![\w.])({_AMOUNT})\s?([A-Z]{{3}}|(?i:euros?|dollars?|yen))\b|\b([A-Z]{{3}})\s?({_AMOUNT})(?![\w])"
    rf"|([€£¥$])\s?({_AMOUNT})(?![\w])|(?<![\w.])({_AMOUNT})\s?([€£¥$])"
)
# A symbol or word stands for any of these; the claim holds when the context has the amount in one of them.
_DOLLARS = "USD|CAD|AUD|NZD|SGD|HKD|MXN"
_SYMBOLS = {"€": "EUR", "£": "GBP", "¥": "JPY|CNY", "$": _DOLLARS, "euro": "EUR", "dollar": _DOLLARS, "yen": "JPY"}
# A word that mixes digits with letters or "_": an ERP's code without a dash (FURN_7800, WH1, a tracking number
# 1Z999AA10123456784) or a figure glued to its unit (500pcs, 12kg, 5k, 12.75kg, 1,000pcs), read whole: a figure
# is never only the part before its decimal point or thousands separator.
_MIXED = re.compile(rf"(?<![\w.])(?:{_SIGN}?(?:{_AMOUNT})[^\W\d]\w*|(?=\w*\d)(?=\w*[A-Za-z_])\w{{2,}})(?![\w])")
_GLUED = re.compile(rf"({_SIGN}?(?:{_AMOUNT}))([a-z]+)")
_ORDINAL = re.compile(rf"{_SIGN}?\d+(?:st|nd|rd|th)")
_WORDLIKE = re.compile(r"\d[A-Z]{2,}|[A-Za-z]\d")  # 3PL, 2FA; Q3, H1: words, not codes
# A figure standing alone, its decimals atomic: "12.75" is never read as its whole part 12.
_NUMBER = re.compile(rf"(?<![\w.]){_SIGN}?(?:{_AMOUNT})(?![\w])(?!\.\d)")
# "12 of 15", "3 out of 4": a ratio the data states in words, which an answer may write "12/15".
_OF_RATIO = re.compile(r"(?<![\w.,])(\d{1,2})\s+(?:out\s+)?of\s+(\d{1,2})(?!\w|[.,]\d)")
# A sentence ends at . ! ? followed by whitespace, or at a line break; "12.5" does not end one.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def normalise_number(text: str) -> str:
    try:
        value = Decimal(text.replace(",", "").replace("\u2212", "-"))
    except InvalidOperation:
        return text
    return f"{value.normalize():f}" if value else "0"  # "-0" is 0


def _month_number(abbreviation: str) -> int | None:
    """1-12 for the month ``_WORD_DATE`` matched. Its case-insensitive match is Unicode's, wider than
    ``str.lower``: "\u017fep" (a long s) matches "sep" but does not lower to it, so compare the way the pattern did."""
    for number, month in enumerate(_MONTHS, start=1):
        if re.fullmatch(month[:3], abbreviation, re.IGNORECASE):
            return number
    return None


def _calendar_day(year: str, month: int, day: str) -> str:
    """The ISO day a date names; an impossible one ("31 June 2026", "2026-02-30") as written, which no context
    holds as a real day, so a sentence stating it is dropped rather than left unchecked."""
    return f"{year}-{month:02d}-{int(day):02d}"


def _written_as_code(token: str) -> bool:
    return token.isupper() or any(c.isdigit() for c in token)


@dataclass(frozen=True)
class Claims:
    numbers: frozenset[str] = frozenset()
    dates: frozenset[str] = frozenset()
    codes: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()
    amounts: frozenset[str] = frozenset()  # "250 JPY"; from a symbol "250 JPY|CNY" (any of them)

    def missing_from(self, context: Claims) -> list[str]:
        unsupported_amounts = {
            claim
            for claim in self.amounts
            if not any(f"{claim.split()[0]} {code}" in context.amounts for code in claim.split()[1].split("|"))
        }
        unsupported_dates = {c for c in self.dates if c not in context.dates and not set(c.split("|")) & context.dates}
        return sorted(
            (self.numbers - context.numbers)
            | unsupported_dates
            | (self.codes - context.codes)
            | (self.names - context.names)
            | unsupported_amounts
        )


@cache
def _currency_codes() -> frozenset[str]:
    return frozenset(c.alpha_3 for c in pycountry.currencies)


def _currency_of(token: str) -> str | None:
    """The ISO code(s) a code, symbol or word names; None for a capitalised word that is no currency."""
    if token in _SYMBOLS:
        return _SYMBOLS[token]
    word = token.lower().removesuffix("s")
    if not token.isupper() and word in _SYMBOLS:
        return _SYMBOLS[word]
    return token if token in _currency_codes() else None


def _amounts(text: str) -> set[str]:
    found = set()
    for match in _PRICED.finditer(text):
        a1, c1, c2, a2, symbol1, a3, a4, symbol2 = match.groups()
        amount, token = (a1, c1) if a1 else (a2, c2) if a2 else (a3, symbol1) if a3 else (a4, symbol2)
        if currency := _currency_of(token):
            found.add(f"{normalise_number(amount)} {currency}")
    return found


def extract(
    text: str, names: Iterable[str] = (), counts: frozenset[str] = frozenset(), sizes: frozenset[str] = frozenset()
) -> Claims:
    """The figures, dates, codes and known entity names a text states; a figure counting rows that ``counts`` holds,
    or a shortfall that ``sizes`` holds, is none (``placed_figures``)."""
    text = _MINUS_WORD.sub(lambda m: m.group() if m.group(1) else "-", _CITATION.sub(" ", text))
    stated = names_stated(text, names)  # names as written: "Seven Seas Logistics" holds a figure in words
    found_names = {name.lower() for name in stated}
    # Names first, as the data writes them: "USB-C cable 1m" is no name once its code is blanked, and its 1 a figure.
    for name in sorted(stated, key=len, reverse=True):  # "Coke Zero" and "Seven Seas" state no 0 and no 7
        text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", " ", text, flags=stated[name])
    dates = {claim for match in SLASH_DATE.finditer(text) if (claim := slash_date(match))}
    text = SLASH_DATE.sub(lambda match: " " if slash_date(match) else match.group(), text)
    dates |= {_calendar_day(y, int(mo), d) for y, mo, d in _ISO_DATE.findall(text)}
    for match in _WORD_DATE.finditer(text):
        d1, m1, y1, m2, d2, y2 = match.groups()
        if month := _month_number(m1 or m2):
            dates.add(_calendar_day(y1 or y2, month, d1 or d2))
    text = _WORD_DATE.sub(" ", _ISO_DATE.sub(" ", text))
    for match in _DAY_MONTH.finditer(text):
        d1, m1, m2, d2 = match.groups()
        if month := _month_number(m1 or m2):
            dates.add(_calendar_day("-", month, d1 or d2))  # "--03-07"; 29 February is a day of some years
    text = _DAY_MONTH.sub(" ", text)
    dates |= {f"---{int(day):02d}" for day in _DAY_OF_MONTH.findall(text)}
    text = _DAY_OF_MONTH.sub(" ", text)
    codes = {c.upper() for c in _CODE.findall(text) if _written_as_code(c)}
    text = _CODE.sub(lambda match: " " if _written_as_code(match.group()) else match.group(), text)
    text = blank_placed(text, counts, sizes, lambda figure: extract(figure).numbers)
    spelled, text = read_spelled(text)  # "five days late", "12 thousand"
    amounts = _amounts(text)
    numbers = {normalise_number(str(figure)) for figure in spelled}
    for word in _MIXED.findall(text):
        glued = _GLUED.fullmatch(word)
        if glued and glued.group(2) in UNITS:
            numbers.add(normalise_number(glued.group(1)))
        elif not _ORDINAL.fullmatch(word) and not _WORDLIKE.fullmatch(word):
            codes.add(word.upper())
    numbers |= {normalise_number(n) for n in _NUMBER.findall(_MIXED.sub(" ", text))}  # "1,000pcs" is not 1
    return Claims(frozenset(numbers), frozenset(dates), frozenset(codes), frozenset(found_names), frozenset(amounts))


@dataclass
class Verdict:
    sentence: str
    unsupported: list[str]

    @property
    def grounded(self) -> bool:
        return not self.unsupported


@dataclass
class Checker:
    """Checks sentences against one turn's context (tool lines and passage texts), and the counts of what the turn
    found: ``listed``, the rows each tool listed; ``passages``, the passages given."""

    context_texts: list[str]
    names: list[str] = field(default_factory=list)
    listed: list[int] = field(default_factory=list)
    passages: int = 0

    def __post_init__(self) -> None:
        self._context = extract("\n".join(self.context_texts), self.names)
        # Counting what the turn found is a summary's first job, so a count backs a figure that counts rows ("the two
        # late orders"); a count of nothing backs no "0" ("0 available").
        self._counts = frozenset(str(n) for n in {*self.listed, sum(self.listed), self.passages} if n > 0)
        # A date of one reading backs it written any way; one that reads either way round ("05/12/2026") only itself
        # written so, and a pair without a year (a ratio perhaps) only the pair as written and its figures ("3 of 4").
        days = frozenset(claim for claim in self._context.dates if "|" not in claim)
        either = {claim for claim in self._context.dates if "|" in claim and "/" not in claim}
        pairs = {reading for claim in self._context.dates for reading in claim.split("|") if "/" in reading}
        pairs |= {f"{a}/{b}" for text in self.context_texts for a, b in _OF_RATIO.findall(text)}
        extra = {normalise_number(n) for pair in pairs for n in pair.split("/")}
        # Every day of the context also backs a sentence that leaves out its year ("7 March" by 2026-03-07) or its
        # month too ("on the 7th").
        yearless = {"--" + day[5:] for day in days if not day.startswith("--")}
        yearless |= {"---" + day[-2:] for day in days if not day.startswith("---")}
        # A name's parts back themselves written as in the name ("the 24V power supply", "the RAL 7016 coat").
        words, phrases = name_parts(self.names, self._context.names, lambda word: extract(word).numbers)
        name_codes = {code for word in words for code in extract(word).codes}
        self._names = [*self.names, *phrases]
        self._context = Claims(
            self._context.numbers | extra,
            days | either | pairs | yearless,
            self._context.codes | name_codes,
            self._context.names | phrases,
            self._context.amounts,
        )
        self._text = " ".join(" ".join(self.context_texts).lower().split())
        # A negative figure of the data backs its size next to a word of shortfall (-12 available is "12 short") of
        # its own row only: another row's -40 is no shortfall of this one.
        stated = [name for name in self._names if name.lower() in self._context.names]
        self._shortfalls = ShortfallRows.of(self.context_texts, lambda line: extract(line, stated))

    def check(self, sentence: str) -> Verdict:
        sizes = self._shortfalls.sizes
        if sizes:  # the rows the sentence names, by its codes and names
            about = extract(sentence, self._names)
            sizes = self._shortfalls.backed(sentence, about.codes | about.names, lambda f: extract(f).numbers)
        missing = extract(sentence, self._names, self._counts, sizes).missing_from(self._context)
        # A quoted phrase ("the product "Frozen"") is a claim about the data too: it must be in the context.
        quoted = [f'"{q}"' for q in _QUOTED.findall(sentence) if " ".join(q.lower().split()) not in self._text]
        return Verdict(sentence, missing + quoted)


@dataclass
class SentenceFilter:
    """Streams the model's text sentence by sentence, passing only grounded sentences."""

    checker: Checker
    citations: int = 0  # passages the turn numbered [1]..[n]; a sentence citing another number is dropped
    dropped: list[Verdict] = field(default_factory=list)
    _pending: str = ""
    _passed: set[str] = field(default_factory=set)

    def feed(self, delta: str) -> list[str]:
        self._pending += delta
        parts = _SENTENCE_END.split(self._pending)
        self._pending = parts.pop()
        return self._pass(parts)

    def flush(self) -> list[str]:
        rest, self._pending = self._pending, ""
        return self._pass([rest])

    def _pass(self, sentences: list[str]) -> list[str]:
        kept = []
        for sentence in sentences:
            if not sentence.strip():
                continue
            key = " ".join(sentence.lower().split())
            if key in self._passed:  # the small model repeats itself; a repeat adds nothing
                continue
            verdict = self.checker.check(sentence)
            if _ECHO.search(sentence):
                verdict.unsupported.append("an echo of the prompt")
            verdict.unsupported.extend(
                f"[{n}]" for n in _CITATION_NUMBER.findall(sentence) if not 1 <= int(n) <= self.citations
            )
            if verdict.grounded:
                kept.append(sentence.strip() + " ")
                self._passed.add(key)
            else:
                self.dropped.append(verdict)
        return kept

    def correction(self) -> str:
        """A note that the summary was corrected; it never repeats the dropped figures (``dropped`` has them)."""
        if not self.dropped:
            return ""
        return (
            f"\n\n(Corrected: {len(self.dropped)} sentence(s) of the summary were removed because they stated "
            "figures, dates, codes, names or sources that the data of this answer does not contain.)"
        )


async def tenant_names(conn: asyncpg.Connection) -> list[str]:
    """Supplier and product names of the caller's tenant (row-level security applies)."""
    rows = await conn.fetch("SELECT name FROM app.suppliers UNION SELECT name FROM app.products")
    return [r["name"] for r in rows if r["name"] and len(r["name"]) >= 3]
