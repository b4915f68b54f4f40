"""MARC-in-JSON: the JSON form of a MARC record that code4lib tools share.

The format is Ross Singer's 2010 proposal as pymarc (`Record.as_json`), MARC::Record::MiJ,
ruby-marc and YAZ write it: one object with the `leader` and the `fields` in record order,
each field an object of one key, its tag; a control field's value is its data, a data
field's value is `{"ind1": " ", "ind2": "0", "subfields": [{"a": "..."}, ...]}`.

    {"leader": "00714cam a2200205 a 4500",
     "fields": [{"001": "12883376"},
                {"245": {"ind1": "1", "ind2": "0", "subfields": [{"a": "Title /"}, {"c": "Author."}]}}]}

Input is a stored display record (ISO 2709 bytes, UTF-8); it is read with `iso2709`, which
decodes fields as pymarc does, so the result equals pymarc's `as_dict()` of the same record
(tests/index/records/test_marcjson_isoholdings.py), without building a pymarc Record: records
are rendered on every present, and walking the directory is about ten times cheaper.
"""

from __future__ import annotations

import json

from index.records import iso2709

MEDIA_TYPE = "application/marc+json"
"""The media type unAPI and HTTP answers give MARC-in-JSON (no registered one exists)."""


def to_marc_dict(marc: bytes) -> dict[str, object]:
    """The MARC-in-JSON object of one stored record."""
    fields: list[dict[str, object]] = []
    for field in iso2709.fields(marc):
        if isinstance(field, iso2709.ControlField):
            fields.append({field.tag: field.data})
        else:
            fields.append({field.tag: {"ind1": field.indicator1, "ind2": field.indicator2,
                                       "subfields": [{code: value} for code, value in field.subfields]}})
    return {"leader": iso2709.leader(marc), "fields": fields}


def to_marc_json(marc: bytes) -> bytes:
    """MARC-in-JSON text of one stored record, UTF-8 (characters as they are, not escaped)."""
    return json.dumps(to_marc_dict(marc), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
