"""The delivery-history file format: its columns, the shipment modes and their synonyms, the date formats
tried, and the parsers for the options a user gives (column and mode mappings). See ``risk.history_import``
for the table of columns."""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from dataclasses import dataclass

from common.errors import InvalidInputError

COLUMNS = (
    "supplier",
    "supplier_code",
    "supplier_name",
    "country",
    "product",
    "category",
    "shipment_mode",
    "order_date",
    "promised_date",
    "delivered_date",
    "quantity",
    "value",
    "quantity_received",
    "quantity_rejected",
    "reference",
    "currency",
)
REQUIRED = ("order_date", "promised_date", "quantity", "value")
SUPPLIER_COLUMNS = ("supplier", "supplier_code", "supplier_name")
MODES = ("road", "rail", "sea", "air")
# What exports call the four modes (lower case, spaces and hyphens as one space).
MODE_SYNONYMS = {
    **{m: m for m in MODES},
    **dict.fromkeys(("truck", "lorry", "ground", "land", "courier", "parcel", "express", "van", "ltl", "ftl"), "road"),
    **dict.fromkeys(("train", "railway", "intermodal rail"), "rail"),
    **dict.fromkeys(("ocean", "sea freight", "ocean freight", "vessel", "ship", "maritime", "fcl", "lcl"), "sea"),
    **dict.fromkeys(("air freight", "air charter", "airfreight", "plane", "aircraft", "air express"), "air"),
}
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%b-%Y", "%d-%b-%y", "%b %d, %Y",
                "%d %B %Y", "%Y%m%d")  # fmt: skip
SUPPLIER_CODE_MAX = 64
CURRENCY_CODE = re.compile(r"[A-Z]{3}")  # ISO 4217, as purchase orders keep it


@dataclass(frozen=True)
class ImportOptions:
    mapping: dict[str, str] | None = None
    date_format: str | None = None  # None: detected from the order dates
    create_suppliers: bool = False
    dry_run: bool = False
    mode_mapping: dict[str, str] | None = None  # the export's own mode names onto road/rail/sea/air
    currency: str = "EUR"  # ISO 4217 code of the values in rows without a currency column


def parse_currency(text: str | None) -> str:
    """The file's currency (ISO 4217, any case); EUR when not given, as for purchase orders."""
    code = (text or "EUR").strip().upper()
    if not CURRENCY_CODE.fullmatch(code):
        raise InvalidInputError(
            f"currency {text!r} is not an ISO 4217 code such as EUR or USD", code="invalid_currency"
        )
    return code


def parse_mode_mapping(text: str | None) -> dict[str, str] | None:
    """``theirs=ours,...`` (e.g. ``Air Charter=air,Boat=sea``); every target must be one of ``MODES``."""
    if not text:
        return None
    mapping = {}
    for part, theirs, ours in _entries(text):
        if not theirs or ours.lower() not in MODES:
            raise InvalidInputError(
                f"mode mapping entry {part!r} is not name=mode with mode one of {', '.join(MODES)}",
                code="invalid_mapping",
                details={"entry": part},
            )
        mapping[_mode_key(theirs)] = ours.lower()
    return mapping


def _entries(text: str) -> list[tuple[str, str, str]]:
    """``a=b,c=d`` as (entry, left, right) per comma-separated entry, both sides stripped; an entry without
    "=" has an empty right side."""
    entries = []
    for part in text.split(","):
        left, _, right = part.partition("=")
        entries.append((part, left.strip(), right.strip()))
    return entries


def _mode_key(text: str) -> str:
    return " ".join(re.split(r"[\s_-]+", text.strip().lower())).strip()


def normalise_mode(text: str, extra: dict[str, str] | None = None) -> tuple[str | None, str | None]:
    """(mode or None when blank, error)."""
    if not text.strip():
        return None, None
    key = _mode_key(text)
    mode = (extra or {}).get(key) or MODE_SYNONYMS.get(key)
    if mode is None:
        return None, (
            f"shipment_mode {text!r} is not road, rail, sea, air or a known synonym (add it with a mode mapping, "
            "e.g. 'Boat=sea')"
        )
    return mode, None


# Names exports use that ISO 3166 (pycountry's table) does not list, accents and case aside.
COUNTRY_ALIASES = {
    "russia": "RU", "turkey": "TR", "turkiye": "TR", "uk": "GB", "u.k.": "GB", "great britain": "GB",
    "britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB",
    "ivory coast": "CI", "cote d'ivoire": "CI", "macedonia": "MK", "holland": "NL", "netherlands": "NL",
    "drc": "CD", "dr congo": "CD", "democratic republic of the congo": "CD", "congo, dem. rep.": "CD",
    "republic of the congo": "CG", "swaziland": "SZ", "burma": "MM", "palestine": "PS", "cape verde": "CV",
    "east timor": "TL", "vatican": "VA", "usa": "US", "u.s.": "US", "u.s.a.": "US", "uae": "AE",
}  # fmt: skip


def normalise_country(text: str) -> tuple[str | None, str | None]:
    """ISO 3166 alpha-2 code from an alpha-2 or alpha-3 code or a country name (pycountry's table, then the
    common names exports use), accents and case aside."""
    import pycountry

    given = text.strip()
    if not given:
        return None, None
    plain = _plain_name(given)
    if plain == "korea":
        return None, f"country {text!r} is ambiguous: write South Korea (KR) or North Korea (KP)"
    for candidate in (given, plain):
        try:
            return str(pycountry.countries.lookup(candidate).alpha_2), None
        except LookupError:
            pass
    code = _plain_country_names().get(plain) or COUNTRY_ALIASES.get(plain)
    if code is None:
        return None, f"country {text!r} is not an ISO 3166 code or a country name"
    return code, None


def _plain_name(text: str) -> str:
    """A name without accents, case or a leading "the" (Curaçao, The Netherlands: curacao, netherlands)."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().removeprefix("the ")


@functools.cache
def _plain_country_names() -> dict[str, str]:
    """pycountry's names (name, official and common) as ``_plain_name`` writes them, to alpha-2 codes: its own
    lookup compares names with their accents, and Curacao does not find Curaçao."""
    import pycountry

    return {
        _plain_name(name): str(country.alpha_2)
        for country in pycountry.countries
        for name in (getattr(country, kind, None) for kind in ("name", "official_name", "common_name"))
        if name
    }


def derived_code(name: str) -> str:
    """A supplier code from a name: the name itself when it fits, else a prefix plus a short hash (stable)."""
    if len(name) <= SUPPLIER_CODE_MAX:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: SUPPLIER_CODE_MAX - 9].rstrip()}~{digest}"


def parse_mapping(text: str | None) -> dict[str, str] | None:
    """``ours=theirs,ours=theirs`` (the CLI's and the form field's syntax)."""
    if not text:
        return None
    mapping = {}
    for part, ours, theirs in _entries(text):
        if not ours or not theirs:
            raise InvalidInputError(
                f"mapping entry {part!r} is not column=header", code="invalid_mapping", details={"entry": part}
            )
        mapping[ours] = theirs
    return mapping
