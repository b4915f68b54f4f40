"""Source profiles (`[sources.NAME]` in unikat.toml): how the deliveries of one vendor or system
are read, for `unikat load --source NAME FILE`.

A vendor's files are wrong in the same way every time (Evergreen's `FSL.marc` says MARC-8 in
leader/09 and holds UTF-8; ekz records carry no 852; a vendor's 001 collides with the library's
own numbers), so the fix belongs in the configuration, once, not on every command line:

    [sources.ekz]
    library = "A"                  # whose records these are (default: --library)
    format = "marc21"              # marc21, marcxml, pica or json (default: detected)
    encoding = "utf-8"             # overrides leader/09 (marc21 only)
    holdings = "852"               # 852, record, pica or 852-all (default: the library's rule)
    source_system = "EKZ"          # part of the maintenance key (default: the library's)
    id_prefix = "ekz"              # put before 001, so vendor numbers never meet the library's
    drop = ["9XX", "029"]          # fields removed (X: any digit)
    map = { "949" = "852" }        # fields renamed (tag -> tag), before `drop` and `add`
    add = ["852 __ $aA$bNeuerwerbung"]   # added when the record has no field of that tag

`SourceProfile.apply` changes a parsed record in place; it runs in the load's worker processes
(`index.loading.prepare`), before the record is checked, so a mapped or added 852 counts as
holdings and a prefixed 001 is the maintenance key. This module knows nothing of the store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pymarc

__all__ = ["FORMATS", "SourceProfile", "parse_field", "parse_sources"]

FORMATS = ("marc21", "marcxml", "pica", "json")
_ENCODINGS = ("utf-8", "marc-8")
_HOLDINGS = ("852", "record", "pica", "852-all")
_TAG_PATTERN = re.compile(r"[0-9X]{3}")
_TAG = re.compile(r"[0-9]{3}")
_KEYS = ("library", "format", "encoding", "holdings", "source_system", "id_prefix", "drop", "map", "add")


@dataclass(frozen=True)
class AddedField:
    """A field a profile adds: tag, indicators, subfields (data fields) or data (control fields)."""

    tag: str
    indicators: tuple[str, str] = (" ", " ")
    subfields: tuple[tuple[str, str], ...] = ()
    data: str = ""

    def to_field(self) -> pymarc.Field:
        if self.tag < "010":
            return pymarc.Field(tag=self.tag, data=self.data)
        return pymarc.Field(tag=self.tag, indicators=pymarc.Indicators(*self.indicators),
                            subfields=[pymarc.Subfield(code, value) for code, value in self.subfields])


@dataclass(frozen=True)
class SourceProfile:
    """One `[sources.NAME]` table, checked. Empty strings and tuples mean "not set"."""

    name: str
    library: str = ""
    format: str = ""
    encoding: str = ""
    holdings: str = ""
    source_system: str = ""
    id_prefix: str = ""
    drop: tuple[str, ...] = ()
    map: tuple[tuple[str, str], ...] = ()
    add: tuple[AddedField, ...] = field(default=())

    def apply(self, record: pymarc.Record) -> None:
        """Map, drop, add fields and prefix 001, in that order, in place."""
        renames = dict(self.map)
        if renames:
            for field_ in record.fields:
                if field_.tag in renames:
                    field_.tag = renames[field_.tag]
        if self.drop:
            patterns = [re.compile(pattern.replace("X", "[0-9]")) for pattern in self.drop]
            for field_ in [f for f in record.fields if any(p.fullmatch(f.tag) for p in patterns)]:
                record.remove_field(field_)
        for added in self.add:
            if not record.get_fields(added.tag):
                record.add_ordered_field(added.to_field())
        control = record.get("001")
        if self.id_prefix and control is not None and control.data and not control.data.startswith(self.id_prefix):
            control.data = self.id_prefix + control.data.strip()


def parse_field(text: str) -> AddedField:
    """`852 __ $aA$bStacks` (indicators `_` or blank for none) or `003 EKZ` as an `AddedField`;
    ValueError says what is wrong."""
    match = re.fullmatch(r"([0-9]{3}) (.*)", text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a field (write it as `852 __ $aA$bStacks` or `003 EKZ`)")
    tag, rest = match.groups()
    if tag < "010":
        return AddedField(tag, data=rest)
    indicators, _, subfields = rest.partition(" ")
    if len(indicators) != 2 or not subfields.startswith("$"):
        raise ValueError(f"{text!r}: a data field needs two indicators (`_` for blank) and subfields ($a...)")
    pairs = tuple((part[0], part[1:]) for part in subfields[1:].split("$") if part)
    if not pairs or any(not code.isalnum() for code, _ in pairs):
        raise ValueError(f"{text!r}: subfields must be written $a... with a letter or digit as code")
    return AddedField(tag, (indicators[0].replace("_", " "), indicators[1].replace("_", " ")), pairs)


def parse_sources(tables: dict[str, Any]) -> dict[str, SourceProfile]:
    """The `[sources]` section's profiles by name; ValueError names the profile, key and what is
    allowed (index.config turns it into a ConfigError naming the file)."""
    return {name: _profile(name, table) for name, table in tables.items()}


def _profile(name: str, table: Any) -> SourceProfile:
    where = f"[sources.{name}]"
    if not isinstance(table, dict):
        raise ValueError(f"{where} must be a table, not {table!r}")
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in _KEYS:
            raise ValueError(f"{where} unknown key {key!r} (allowed: {', '.join(_KEYS)})")
        values[key] = _value(where, key, value)
    return SourceProfile(name=name, **values)


def _value(where: str, key: str, value: Any) -> Any:
    choices = {"format": FORMATS, "encoding": _ENCODINGS, "holdings": _HOLDINGS}.get(key)
    if choices is not None:
        if value not in choices:
            raise ValueError(f"{where} {key}: must be one of {', '.join(choices)}, not {value!r}")
        return value
    if key in ("library", "source_system", "id_prefix"):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{where} {key}: must be a non-empty string, not {value!r}")
        return value.strip()
    if key == "drop":
        if not isinstance(value, list) or not all(isinstance(v, str) and _TAG_PATTERN.fullmatch(v) for v in value):
            raise ValueError(f"{where} drop: must be a list of tags such as \"029\" or \"9XX\", not {value!r}")
        return tuple(value)
    if key == "map":
        if not isinstance(value, dict) or not all(_TAG.fullmatch(k) and isinstance(v, str) and _TAG.fullmatch(v)
                                                  for k, v in value.items()):
            raise ValueError(f"{where} map: must be a table of tag = tag such as {{ \"949\" = \"852\" }}, not {value!r}")
        return tuple(value.items())
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):   # add
        raise ValueError(f"{where} add: must be a list of fields such as [\"852 __ $aA$bStacks\"], not {value!r}")
    try:
        return tuple(parse_field(v) for v in value)
    except ValueError as error:
        raise ValueError(f"{where} add: {error}") from None
