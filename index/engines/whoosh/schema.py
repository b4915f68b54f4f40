"""The Whoosh schema built from the index table in `index.searchkeys.spec`.

Search keys arrive already normalized, so the analyzers only split: a WORDS index is a field
of words, with positions for phrases and proximity; the keys of one title are joined with a gap
of `FIELD_GAP` positions so a phrase never spans two fields. A low-cardinality KEY index
(language, material type, library) is a field of whole keys. Whole keys of word indexes,
high-cardinality codes and years are in the key table instead (`index.engines.whoosh.keytable`). The
index-control data are column-stored for sorting and stored for brief lists; each title's field
lengths (`lengths`, uint16 per `index.engines.ranking.LENGTH_FIELDS`) are column-stored for
relevance ranking, exactly (Whoosh's own length column keeps only a byte's approximation).
"""

from __future__ import annotations

from whoosh import fields, formats
from whoosh.analysis import Token, Tokenizer
from whoosh.columns import NumericColumn, VarBytesColumn

from index.searchkeys.spec import INDEXES, IndexKind

KEY_SEPARATOR = "\x1f"
FIELD_GAP = 100


class WordTokenizer(Tokenizer):
    """Splits pre-normalized keys on spaces; keys are separated by KEY_SEPARATOR (a position gap)."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        for key in value.split(KEY_SEPARATOR):
            for word in key.split():
                token.text = word
                token.boost = 1.0
                token.stopped = False
                if keeporiginal:
                    token.original = word
                if positions:
                    token.pos = pos
                pos += 1
                yield token
            pos += FIELD_GAP


class KeyTokenizer(Tokenizer):
    """Each key separated by KEY_SEPARATOR is one term."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for pos, key in enumerate(k for k in value.split(KEY_SEPARATOR) if k):
            token.text = key
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = key
            if positions:
                token.pos = start_pos + pos
            yield token


def _key_field() -> fields.FieldType:
    """Whole keys: no positions, no frequencies, no length column (they are never scored by words)."""
    field = fields.TEXT(analyzer=KeyTokenizer(), phrase=False)
    field.format = formats.Existence(field_boost=1.0)
    field.scorable = False
    return field


def build_schema() -> fields.Schema:
    schema = fields.Schema(
        isn=fields.NUMERIC(int, bits=64, stored=True, unique=True, sortable=True),
        sort_title=fields.COLUMN(VarBytesColumn()),
        sort_author=fields.COLUMN(VarBytesColumn()),
        sort_year=fields.COLUMN(NumericColumn("i", default=0)),
        lengths=fields.COLUMN(VarBytesColumn()),
        brief=fields.STORED(),
    )
    for spec in INDEXES:
        if spec.kind is IndexKind.WORDS:
            schema.add(spec.name, fields.TEXT(analyzer=WordTokenizer(), phrase=True))
        elif spec.kind is IndexKind.KEY and not spec.table and spec.name != "isn":
            schema.add(spec.name, _key_field())
    return schema
