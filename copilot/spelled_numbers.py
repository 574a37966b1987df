"""Figures written in words ("five days late", "twenty-five", "two hundred and fifty", "12 thousand", "a dozen"),
read so that the grounding checker compares them with the data like figures written in digits.

"one" and "a" alone are no figure: they are pronouns and articles far more often ("one of the orders"). Ordinal
and fraction words ("a second order", "the twenty-first", "two-thirds") are not read either: a rank or a share
is not the count it is spelled with. "half a dozen" is 6; a vague quantity of a scale ("a few hundred", "several
thousand", "hundreds of", "dozens of") states no figure at all. "zero" is the figure 0 ("zero-based" and "zeros"
are not).
"""

from __future__ import annotations

import re
from decimal import Decimal

_SMALL = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
          "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]  # fmt: skip
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_VALUES = {word: Decimal(n) for n, word in enumerate(_SMALL, start=1)}
_VALUES |= {word: Decimal(10 * n) for n, word in enumerate(_TENS, start=2)}
_SCALES = {"dozen": Decimal(12), "hundred": Decimal(100), "thousand": Decimal(1000), "million": Decimal(1_000_000)}
_WORD = "|".join(sorted([*_VALUES, *_SCALES], key=len, reverse=True))
_FIGURE = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_SCALE = "|".join(_SCALES)
# "a few hundred", "several thousand", "many hundred thousand": an estimate, not the scale's own figure. Plurals
# ("hundreds of", "dozens of") never match a number word, so they need no rule.
_VAGUE = re.compile(
    rf"(?<![\w.-])(?ai:(?:a\s+)?(?:few|couple(?:\s+of)?|several|some|many)\s+(?:{_SCALE})(?:[\s-]+(?:{_SCALE}))*s?)"
    r"(?!\w)"
)
# Scoped ASCII case-insensitivity: Unicode's would match "\u017fix" (long s) for "six", which lower() leaves unknown.
_SPELLED = re.compile(
    rf"(?<![\w.-])(?:(?:{_FIGURE}|(?ai:(?:half\s+)?a))\s+(?=(?ai:{_SCALE})\b))?"  # "12 thousand", "half a dozen"
    rf"(?ai:(?:{_WORD})(?:(?:\s+and\s+|[\s-]+)(?:{_WORD}))*)(?!\w)"
    r"(?![\s-]+(?ai:(?:and\s+a\s+)?(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|half|halves|"
    r"quarter)s?)\b)"
    r"(?!-(?ai:way|fold)\b)"  # "three-way match", "twofold"
)
_ZERO = re.compile(r"(?<![\w.-])(?ai:zero)(?![\w-])")
_TOKEN = re.compile(r"[\d.,]+|[A-Za-z]+")


def _figures(phrase: str) -> list[Decimal]:
    """The figures one run of number words states; a word that cannot continue a figure starts the next one
    ("twenty-five" is 25, "two hundred and one" 201, "two three" 2 and 3)."""
    figures: list[Decimal] = []
    total = group = Decimal(0)
    one = Decimal("0.5") if phrase.lower().startswith("half") else Decimal(1)  # what "a" before a scale is
    last = ""  # the kind of the previous word: "unit" (1-9), "teen" (10-19), "tens" (20-90), "hundred", "scale"
    for word in _TOKEN.findall(phrase.lower()):
        if word in ("and", "half"):
            continue
        if word == "hundred":
            group, last = (group or Decimal(1)) * 100, "hundred"
        elif word in _SCALES:
            total, group, last = total + (group or Decimal(1)) * _SCALES[word], Decimal(0), "scale"
        elif word in _VALUES:
            value = _VALUES[word]
            kind = "unit" if value < 10 else "teen" if value < 20 else "tens"
            if last in ("unit", "teen", "tens") and not (kind == "unit" and last == "tens"):
                figures.append(total + group)
                total, group = Decimal(0), Decimal(0)
            group, last = group + value, kind
        else:  # the figure or "a" before a scale word
            group, last = one if word == "a" else Decimal(word.replace(",", "")), "unit"
    figures.append(total + group)
    return [f for f in figures if f != 1]  # only "one" alone gives 1, and it is a pronoun ("one of the orders")


def read_spelled(text: str) -> tuple[list[Decimal], str]:
    """The figures ``text`` states in words, and ``text`` without them (so "12 thousand" is not also 12)."""
    text = _VAGUE.sub(" ", text)
    figures = [Decimal(0) for _ in _ZERO.finditer(text)]
    text = _ZERO.sub(" ", text)
    figures += [figure for match in _SPELLED.finditer(text) for figure in _figures(match.group())]
    return figures, _SPELLED.sub(" ", text)
