"""Reading MARC-in-JSON deliveries (the form pymarc's JSONWriter and `Record.as_json` write, and
`unikat export --format json`; `index.records.marcjson` writes it).

    [{"leader": "...", "fields": [{"001": "123"}, {"245": {"ind1": "1", "ind2": "0",
      "subfields": [{"a": "Title"}]}}]}, ...]

Reading finds each record object in an array, in one object, or in JSON lines, keeping its
byte offset (for progress and the reject file) like the ISO 2709 reader; a file that stops
being JSON ends with a `LoadProblem`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pymarc

from index.records.marc import _source_record
from index.records.model import LoadProblem, RawRecord, SourceRecord

__all__ = ["decode_marcjson", "marcjson_records"]

_DECODER = json.JSONDecoder()
_BETWEEN = " \t\r\n,[]\ufeff"


def marcjson_records(data: bytes) -> Iterator[RawRecord | LoadProblem]:
    """The record objects of a MARC-in-JSON file, found but not made records."""
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as error:
        yield LoadProblem(b"", 1, error.start, f"not UTF-8 at byte {error.start}: MARC-in-JSON is UTF-8",
                          rest_unread=True)
        return
    at, offset, position = 0, 0, 0
    while True:
        start = at
        while at < len(text) and text[at] in _BETWEEN:
            at += 1
        if at >= len(text):
            return
        offset += len(text[start:at].encode("utf-8"))
        position += 1
        try:
            _, end = _DECODER.raw_decode(text, at)
        except json.JSONDecodeError as error:
            yield LoadProblem(text[at:at + 200].encode("utf-8"), position, offset,
                              f"JSON not well-formed: {error.msg} at byte {offset + len(text[at:error.pos].encode())}"
                              "; the rest of the file was not read", rest_unread=True)
            return
        except RecursionError:
            yield LoadProblem(text[at:at + 200].encode("utf-8"), position, offset,
                              "JSON nests too deeply to be read; the rest of the file was not read", rest_unread=True)
            return
        raw = text[at:end].encode("utf-8")
        yield RawRecord(raw, position, offset)
        offset += len(raw)
        at = end


def decode_marcjson(raw: RawRecord) -> SourceRecord | LoadProblem:
    """Make one record object a MARC record (leader/09 set to `a`: the text is Unicode)."""
    try:
        record = _record(json.loads(raw.raw))
    except (ValueError, TypeError, AttributeError, KeyError) as error:
        return LoadProblem(raw.raw, raw.position, raw.offset, f"unreadable MARC-in-JSON record: {error}")
    return _source_record(record, raw.raw, raw.position, raw.offset, [])


def _record(value: object) -> pymarc.Record:
    if not isinstance(value, dict) or not isinstance(value.get("leader"), str):
        raise ValueError("not a MARC-in-JSON record (an object with \"leader\" and \"fields\")")
    record = pymarc.Record()
    for entry in value.get("fields", []):
        if not isinstance(entry, dict) or len(entry) != 1:
            raise ValueError(f"a field must be an object of one tag, not {str(entry)[:60]}")
        ((tag, body),) = entry.items()
        if isinstance(body, str):
            record.add_field(pymarc.Field(tag=tag, data=body))
            continue
        subfields = [pymarc.Subfield(code, text) for item in body["subfields"] for code, text in item.items()]
        indicators = pymarc.Indicators(body.get("ind1") or " ", body.get("ind2") or " ")
        record.add_field(pymarc.Field(tag=tag, indicators=indicators, subfields=subfields))
    if len(value["leader"]) != 24:
        raise ValueError(f"leader has {len(value['leader'])} characters, not 24")
    record.leader = value["leader"]
    return record
