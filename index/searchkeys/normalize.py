"""Normalization of search text: the one place that decides when two strings are the same key.

Keys are lower case, without diacritics, punctuation folded to spaces, so Müller, Muller and
MUELLER find each other (German umlauts are also indexed in their `ue` spelling, see
`key_variants`). Letters of non-Latin scripts are kept as they are (only case-folded), so
Cyrillic, Hebrew, CJK stay searchable. Queries go through the same functions as records.
"""

from __future__ import annotations

import re
import unicodedata

_SPECIAL = str.maketrans({"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ð": "d", "þ": "th", "ł": "l", "ı": "i",
                          "Æ": "ae", "Œ": "oe", "Ø": "o", "Đ": "d", "Ł": "l", "ʹ": "", "ʺ": "", "ʻ": "", "ʼ": ""})
_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "ae", "Ö": "oe", "Ü": "ue"})
_SEPARATORS = re.compile(r"[\W_]+", re.UNICODE)
# Masking characters survive normalization of a query term.
_SEPARATORS_KEEP_MASK = re.compile(r"[^\w*?]+", re.UNICODE)


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.translate(_SPECIAL))
    return "".join(c for c in text if not unicodedata.combining(c)).casefold()


def normalize(text: str, *, keep_masks: bool = False) -> str:
    """Words of `text`, folded and joined by single spaces (`"Müller, Hans!"` → `muller hans`)."""
    pattern = _SEPARATORS_KEEP_MASK if keep_masks else _SEPARATORS
    return " ".join(pattern.sub(" ", _fold(text)).split())


def key_variants(text: str) -> list[str]:
    """Normalized forms under which a field is indexed: folded, and German-transliterated if different."""
    plain = normalize(text)
    if any(c in text for c in "äöüÄÖÜ"):
        german = normalize(text.translate(_GERMAN))
        if german != plain:
            return [plain, german]
    return [plain]


def normalize_isbn(text: str) -> list[str]:
    """ISBN in both forms: `0-306-40615-2` → `['0306406152', '9780306406157']`. Empty if not an ISBN."""
    digits = re.sub(r"[^0-9Xx]", "", text.split("(")[0].split(" ")[0] if text.strip() else "").upper()
    if len(digits) == 10:
        body = digits[:9]
        return [digits, _isbn13("978" + body)]
    if len(digits) == 13 and digits.isdigit():
        forms = [digits]
        if digits.startswith("978"):
            forms.append(_isbn10(digits[3:12]))
        return forms
    return []


def isbn_checksum_ok(text: str) -> bool:
    digits = re.sub(r"[^0-9Xx]", "", text.split(" ")[0]).upper()
    if len(digits) == 10:
        total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(digits) if c.isdigit() or c == "X")
        return total % 11 == 0 and "X" not in digits[:9]
    if len(digits) == 13 and digits.isdigit():
        return sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(digits)) % 10 == 0
    return False


def _isbn13(twelve: str) -> str:
    check = (10 - sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(twelve)) % 10) % 10
    return twelve + str(check)


def _isbn10(nine: str) -> str:
    check = (11 - sum((10 - i) * int(c) for i, c in enumerate(nine)) % 11) % 11
    return nine + ("X" if check == 10 else str(check))


def normalize_issn(text: str) -> str:
    digits = re.sub(r"[^0-9Xx]", "", text)[:8].upper()
    return digits if len(digits) == 8 else ""


def normalize_lccn(text: str) -> str:
    """LCCN normalized as LC specifies: no blanks, no hyphen, serial zero-padded to six digits."""
    text = re.sub(r"\s+", "", text.split("/")[0]).lower()
    if "-" in text:
        prefix, _, serial = text.partition("-")
        text = prefix + serial.zfill(6)
    return text


def normalize_number(text: str) -> str:
    """An identifier compared whole: folded, spaces and punctuation removed."""
    return normalize(text).replace(" ", "")


def year_of(text: str) -> int | None:
    """The first four-digit year in `text` (`c1999.` → 1999; `19uu` → None)."""
    match = re.search(r"(?<!\d)(\d{4})(?!\d)", text)
    return int(match.group(1)) if match else None
