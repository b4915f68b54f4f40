"""The quality score of a bibliographic record: among duplicates the best one is shown.

A weighted sum (MELVYL's idea): full-level cataloguing counts most, then the presence of the
elements a user and a matcher rely on. The weights are plain numbers here so a librarian can
read and argue with them; a source's priority from the configuration is added by the loader.
"""

from __future__ import annotations

import pymarc

# leader/17 encoding level: blank = full level, 1/I = full without item, ... 3/5/7/M = minimal/partial
_ENCODING_LEVEL = {" ": 40, "1": 35, "I": 35, "4": 30, "2": 25, "L": 25, "K": 20, "5": 15, "M": 15,
                   "7": 10, "3": 5, "8": 0, "u": 10, "z": 10}
_ELEMENTS = {"100": 6, "110": 4, "245": 10, "250": 3, "260": 4, "264": 4, "300": 4, "020": 5, "022": 5,
             "010": 5, "650": 5, "600": 3, "082": 2, "050": 3, "500": 1, "504": 1, "520": 2}


def quality_score(record: pymarc.Record) -> int:
    level = str(record.leader)[17:18]
    score = _ENCODING_LEVEL.get(level, 10)
    tags = {field.tag for field in record.fields}
    score += sum(weight for tag, weight in _ELEMENTS.items() if tag in tags)
    return score + min(len(record.fields), 40) // 4
