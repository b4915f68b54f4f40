"""CQL text -> index.query trees, sort criteria, or SRU diagnostics."""

from __future__ import annotations

import pytest

from index.query import (
    AllRecords,
    And,
    AndNot,
    Completeness,
    Or,
    Position,
    Prox,
    ProximityUnit,
    Relation,
    ResultSetRef,
    Structure,
    Term,
    Truncation,
)
from zserver.querylang.cql import parse_cql
from zserver.sru.cqlmap import (
    INDEXES,
    UNIKAT_CONTEXT_SET,
    SortCriterion,
    cql_to_query,
    scan_start,
    sort_criteria,
)
from zserver.sru.diagnostics import SruDiagnostic, SruDiagnosticCode


def wl(index: str, text: str, **fields) -> Term:
    return Term(index, text, structure=Structure.WORD_LIST, **fields)


def word(index: str, text: str, **fields) -> Term:
    return Term(index, text, structure=Structure.WORD, **fields)


def phrase(index: str, text: str, **fields) -> Term:
    return Term(index, text, structure=Structure.PHRASE, **fields)


def key(index: str, text: str, **fields) -> Term:
    return Term(index, text, structure=Structure.KEY, **fields)


def year(text: str, relation: Relation = Relation.EQ, **fields) -> Term:
    return Term("year", text, relation=relation, structure=Structure.YEAR, **fields)


MAPS = [
    # bare terms: cql.serverChoice =
    ("cat", wl("any", "cat")),
    ('"fish food"', phrase("any", "fish food")),   # CQL 1.2: = on several words is adj
    ("cql.serverChoice = cat", wl("any", "cat")),
    ("cql.anywhere = cat", wl("any", "cat")),
    ("cql.keywords = cat", wl("any", "cat")),
    ("cql.allRecords = 1", AllRecords()),
    ("cql.resultSetId = r1", ResultSetRef("r1")),
    # dc
    ("dc.title = fish", wl("title", "fish")),
    ("dc.creator = smith", wl("author", "smith")),
    ("dc.contributor = smith", wl("author", "smith")),
    ("dc.subject = rivers", wl("subject", "rivers")),
    ("dc.publisher = penguin", wl("publisher", "penguin")),
    ("dc.date = 1990", year("1990")),
    ("dc.identifier = 3161484100", key("identifier", "3161484100")),
    ("dc.language = ger", key("language", "ger")),
    ("dc.type = book", key("material_type", "book")),
    ("DC.TITLE = fish", wl("title", "fish")),
    # bath
    ("bath.name = knuth", wl("author", "knuth")),
    ("bath.personalName = knuth", wl("personal_name", "knuth")),
    ("bath.corporateName = ibm", wl("corporate_name", "ibm")),
    ("bath.conferenceName = ifla", wl("conference_name", "ifla")),
    ("bath.uniformTitle = hamlet", wl("title", "hamlet")),
    ("bath.seriesTitle = lecture", wl("series", "lecture")),
    ("bath.topicalSubject = rivers", wl("subject", "rivers")),
    ("bath.isbn = 3161484100", key("isbn", "3161484100")),
    ("bath.issn = 0028-0836", key("issn", "0028-0836")),
    ("bath.lccn = 2001012345", key("lccn", "2001012345")),
    ("bath.standardIdentifier = 123", key("identifier", "123")),
    # rec and unikat
    ("rec.id = 42", key("isn", "42")),
    ("unikat.library = HAM", key("library", "HAM")),
    ("unikat.isn = 42", key("isn", "42")),
    ("unikat.materialType = ejournal", key("material_type", "ejournal")),
    ("unikat.material_type = ejournal", key("material_type", "ejournal")),
    ("unikat.oclc = 12345", key("oclc", "12345")),
    ("unikat.localNumber = A1", key("local_number", "A1")),
    ("unikat.lcCallNumber = QA76", key("lc_call_number", "QA76")),
    ("unikat.dewey = 510", key("dewey", "510")),
    ("unikat.year = 1990", year("1990")),
    ("unikat.personalName = knuth", wl("personal_name", "knuth")),
    # unprefixed: unikat, then dc, bath, cql
    ("title = fish", wl("title", "fish")),
    ("creator = smith", wl("author", "smith")),
    ("personalName = knuth", wl("personal_name", "knuth")),
    ("serverChoice = cat", wl("any", "cat")),
    ("library = HAM", key("library", "HAM")),
    ("id = 42", key("isn", "42")),
    # prefix assignments
    ('> dc = "info:srw/cql-context-set/1/dc-v1.1" dc.creator = x', wl("author", "x")),
    ('> d = "info:srw/cql-context-set/1/dc-v1.1" d.creator = x', wl("author", "x")),
    (f'> u = "{UNIKAT_CONTEXT_SET}" u.library = HAM', key("library", "HAM")),
    ('> "http://zing.z3950.org/cql/bath/2.0/" name = x', wl("author", "x")),
    ('a and (> d = "info:srw/cql-context-set/1/dc-v1.1" d.title = b)',
     And(wl("any", "a"), wl("title", "b"))),
    # relations on word indexes
    ("title == \"the killing fields\"",
     phrase("title", "the killing fields", completeness=Completeness.COMPLETE_FIELD)),
    ("title exact \"the killing fields\"",
     phrase("title", "the killing fields", completeness=Completeness.COMPLETE_FIELD)),
    ("title adj \"killing fields\"", phrase("title", "killing fields")),
    ("title cql.adj \"killing fields\"", phrase("title", "killing fields")),
    ("title all \"killing fields\"", wl("title", "killing fields")),
    ("title any \"killing fields\"", Or(word("title", "killing"), word("title", "fields"))),
    ("title any fields", word("title", "fields")),
    ("title <> fish", wl("title", "fish", relation=Relation.NE)),
    ("title =/string \"a b\"", phrase("title", "a b")),
    # relations on key indexes and the year
    ("bath.isbn any \"111 222\"", Or(key("isbn", "111"), key("isbn", "222"))),
    ("bath.isbn == 111", key("isbn", "111", completeness=Completeness.COMPLETE_FIELD)),
    ("dc.date < 1990", year("1990", Relation.LT)),
    ("dc.date <= 1990", year("1990", Relation.LE)),
    ("dc.date > 1990", year("1990", Relation.GT)),
    ("dc.date >= 1990", year("1990", Relation.GE)),
    ("dc.date <> 1990", year("1990", Relation.NE)),
    ("dc.date == 1990", year("1990", completeness=Completeness.COMPLETE_FIELD)),
    ("dc.date within \"1990 2000\"", year("1990-2000")),
    ("dc.date any \"1990 1991\"", Or(year("1990"), year("1991"))),
    # masking and anchoring
    ("comput*", wl("any", "comput", truncation=Truncation.RIGHT)),
    ("*puter", wl("any", "puter", truncation=Truncation.LEFT)),
    ("*pute*", wl("any", "pute", truncation=Truncation.BOTH)),
    ("wom?n", wl("any", "wom?n", truncation=Truncation.MASKED)),
    ("c*t*r", wl("any", "c*t*r", truncation=Truncation.MASKED)),
    (r"what\?", wl("any", "what?")),
    (r"star\*", wl("any", "star*")),
    (r'"say \"hi\""', phrase("any", 'say "hi"')),
    (r"wh\?t*", wl("any", "wht", truncation=Truncation.RIGHT)),
    ("title =/unmasked a*b", wl("title", "a*b")),
    ("title =/unmasked \"^a\"", wl("title", "^a")),
    ("dc.title = \"^the killing\"",
     phrase("title", "the killing", position=Position.FIRST_IN_FIELD)),
    ("dc.title = \"^the killing fields^\"",
     phrase("title", "the killing fields", completeness=Completeness.COMPLETE_FIELD)),
    ("dc.title == \"the killing fi*\"",
     phrase("title", "the killing fi", truncation=Truncation.RIGHT,
            completeness=Completeness.COMPLETE_FIELD)),
    ("dc.title == \"the killing fields^\"",
     phrase("title", "the killing fields", completeness=Completeness.COMPLETE_FIELD)),
    ("dc.title all \"killing fi*\"",
     And(word("title", "killing"), word("title", "fi", truncation=Truncation.RIGHT))),
    ("dc.title = \"killing fi*\"",
     And(word("title", "killing"), word("title", "fi", truncation=Truncation.RIGHT))),
    ("dc.date = 199*", year("199", truncation=Truncation.RIGHT)),
    # relation modifiers we honour or may ignore
    ("title =/relevant fish", wl("title", "fish", relation=Relation.RELEVANCE)),
    ("title any/cql.relevant \"a b\"",
     Or(word("title", "a", relation=Relation.RELEVANCE),
        word("title", "b", relation=Relation.RELEVANCE))),
    ("title =/ignoreCase/ignoreAccents/word/masked fish", wl("title", "fish")),
    ("title =/locale=de fish", wl("title", "fish")),
    # booleans
    ("a and b", And(wl("any", "a"), wl("any", "b"))),
    ("a or b", Or(wl("any", "a"), wl("any", "b"))),
    ("a not b", AndNot(wl("any", "a"), wl("any", "b"))),
    ("a or b and c", And(Or(wl("any", "a"), wl("any", "b")), wl("any", "c"))),
    ("a prox b",
     Prox(wl("any", "a"), wl("any", "b"), distance=1, ordered=False, relation=Relation.LE,
          unit=ProximityUnit.WORD)),
    ("a prox/distance=3/unit=word/ordered b",
     Prox(wl("any", "a"), wl("any", "b"), distance=3, ordered=True, relation=Relation.EQ,
          unit=ProximityUnit.WORD)),
    ("a prox/distance<3 b",
     Prox(wl("any", "a"), wl("any", "b"), distance=3, ordered=False, relation=Relation.LT,
          unit=ProximityUnit.WORD)),
    ("a prox/unit=element b",
     Prox(wl("any", "a"), wl("any", "b"), distance=0, ordered=False, relation=Relation.LE,
          unit=ProximityUnit.FIELD)),
    ("a prox/prox.unit=word/cql.unordered b",
     Prox(wl("any", "a"), wl("any", "b"), distance=1, ordered=False, relation=Relation.LE,
          unit=ProximityUnit.WORD)),
]


@pytest.mark.parametrize(("cql", "expected"), MAPS)
def test_maps(cql: str, expected) -> None:
    assert cql_to_query(parse_cql(cql)) == expected


D = SruDiagnosticCode

DIAGNOSTICS = [
    ("foo.title = x", D.UNSUPPORTED_CONTEXT_SET, "foo"),
    ('> x = "urn:nobody" x.title = y', D.UNSUPPORTED_CONTEXT_SET, "urn:nobody"),
    ('> "urn:nobody" title = y', D.UNSUPPORTED_CONTEXT_SET, "urn:nobody"),
    ("dc.description = x", D.UNSUPPORTED_INDEX, "dc.description"),
    ("dc.coverage = x", D.UNSUPPORTED_INDEX, "dc.coverage"),
    ("nosuchindex = x", D.UNSUPPORTED_INDEX, "nosuchindex"),
    ('> "info:srw/cql-context-set/1/dc-v1.1" library = x', D.UNSUPPORTED_INDEX, "library"),
    ("title encloses x", D.UNSUPPORTED_RELATION, "encloses"),
    ("title frob x", D.UNSUPPORTED_RELATION, "frob"),
    ("title dc.adj x", D.UNSUPPORTED_RELATION, "dc.adj"),
    ("title =/stem fish", D.UNSUPPORTED_RELATION_MODIFIER, "stem"),
    ("title =/respectCase fish", D.UNSUPPORTED_RELATION_MODIFIER, "respectCase"),
    ("title =/rel.algorithm=CORI fish", D.UNSUPPORTED_RELATION_MODIFIER, "rel.algorithm"),
    ("title =/relevant=1 fish", D.UNSUPPORTED_RELATION_MODIFIER, "relevant"),
    ("dc.date </relevant 1990", D.UNSUPPORTED_COMBINATION_OF_RELATION_MODIFIERS, "relevant"),
    ('""', D.EMPTY_TERM_UNSUPPORTED, "cql.serverChoice"),
    ('title = "  "', D.EMPTY_TERM_UNSUPPORTED, "title"),
    ('title any "^a b"', D.ANCHORING_CHARACTER_IN_UNSUPPORTED_POSITION, "^ with any"),
    ("cat^", D.ANCHORING_CHARACTER_IN_UNSUPPORTED_POSITION, "^ at the end"),
    ('"ca^t"', D.ANCHORING_CHARACTER_IN_UNSUPPORTED_POSITION, "ca^t"),
    ("dc.date = 19x5", D.TERM_IN_INVALID_FORMAT, "19x5"),
    ('dc.date within "1990"', D.TERM_IN_INVALID_FORMAT, "within needs two values"),
    ("a and/rel.SumOfScores b", D.UNSUPPORTED_BOOLEAN_MODIFIER, "rel.SumOfScores"),
    ("a prox/unit=sentence b", D.UNSUPPORTED_PROXIMITY_UNIT, "sentence"),
    ("a prox/unit=paragraph b", D.UNSUPPORTED_PROXIMITY_UNIT, "paragraph"),
    ("a prox/unit<word b", D.UNSUPPORTED_COMBINATION_OF_PROXIMITY_MODIFIERS, "unit"),
    ("a prox/distance=1/distance=2 b", D.UNSUPPORTED_COMBINATION_OF_PROXIMITY_MODIFIERS, "distance"),
    ("a prox/unit=word/unit=element b", D.UNSUPPORTED_COMBINATION_OF_PROXIMITY_MODIFIERS, "unit"),
    ("a prox/ordered/unordered b", D.UNSUPPORTED_COMBINATION_OF_PROXIMITY_MODIFIERS, "unordered"),
    ("a prox/distance>x b", D.UNSUPPORTED_PROXIMITY_DISTANCE, "x"),
    ("a prox/distance b", D.UNSUPPORTED_PROXIMITY_RELATION, "distance"),
    ("a prox/frob b", D.UNSUPPORTED_BOOLEAN_MODIFIER, "frob"),
]


@pytest.mark.parametrize(("cql", "code", "details"), DIAGNOSTICS)
def test_diagnostics(cql: str, code: SruDiagnosticCode, details: str) -> None:
    with pytest.raises(SruDiagnostic) as caught:
        cql_to_query(parse_cql(cql))
    assert caught.value == SruDiagnostic(code, details)


SORTS = [
    ("a", ()),
    ("a sortBy dc.title", (SortCriterion("title"),)),
    ("a sortBy dc.title/sort.descending dc.date",
     (SortCriterion("title", descending=True), SortCriterion("year"))),
    ("a sortBy creator/ascending title/descending",
     (SortCriterion("author"), SortCriterion("title", descending=True))),
    ("a sortBy title/sort.ignoreCase", (SortCriterion("title"),)),
    ('> s = "info:srw/cql-context-set/1/sort-v1.0" a sortBy title/s.descending',
     (SortCriterion("title", descending=True),)),
]


@pytest.mark.parametrize(("cql", "expected"), SORTS)
def test_sort_criteria(cql: str, expected: tuple[SortCriterion, ...]) -> None:
    assert sort_criteria(parse_cql(cql)) == expected


SORT_DIAGNOSTICS = [
    ("a sortBy nosuch", D.UNSUPPORTED_INDEX),
    ("a sortBy cql.allRecords", D.UNSUPPORTED_PATH_FOR_SORT),
    ("a sortBy title/sort.respectCase", D.UNSUPPORTED_CASE),
    ("a sortBy title/sort.missingFail", D.UNSUPPORTED_MISSING_VALUE_ACTION),
    ("a sortBy title/sort.missingValue=x", D.UNSUPPORTED_MISSING_VALUE_ACTION),
    ("a sortBy title/frob", D.UNSUPPORTED_SORT_TYPE),
]


@pytest.mark.parametrize(("cql", "code"), SORT_DIAGNOSTICS)
def test_sort_diagnostics(cql: str, code: SruDiagnosticCode) -> None:
    with pytest.raises(SruDiagnostic) as caught:
        sort_criteria(parse_cql(cql))
    assert caught.value.code == code


def test_unikat_set_covers_every_logical_index() -> None:
    assert set(INDEXES["unikat"].values()) == {
        "title", "personal_name", "corporate_name", "conference_name", "author", "subject",
        "series", "publisher", "any", "isbn", "issn", "lccn", "oclc", "local_number",
        "identifier", "dewey", "lc_call_number", "isn", "language", "material_type",
        "library", "year"}


# --- scan clauses --------------------------------------------------------------------------

@pytest.mark.parametrize("clause, expected", [
    ('dc.title = "hist"', ("title", "hist")),
    ("title = hist*", ("title", "hist")),
    ("dc.title = ^hist^", ("title", "hist")),
    ("dc.title exact \"the river\"", ("title", "the river")),
    ("cql.serverChoice >= water", ("any", "water")),
    ("dc.title cql.any water", ("title", "water")),
    ("bath.personalName scr smith", ("personal_name", "smith")),
    ('dc.creator = "o\\"reilly"', ("author", 'o"reilly')),
    ("dc.title = a\\*b?c", ("title", "a*b?c")),                 # escapes go; no masking in a scan
    ('> x = "info:srw/cql-context-set/1/dc-v1.1" x.subject = war', ("subject", "war")),
])
def test_scan_start(clause, expected):
    assert scan_start(parse_cql(clause)) == expected


@pytest.mark.parametrize("clause, code, details", [
    ("dc.title = a and dc.title = b", 48, "a scan clause is one index, relation and term"),
    ("dc.title = a sortBy dc.title", 48, "a scan clause is one index, relation and term"),
    ("dc.title < a", 19, "<"),
    ("dc.title within \"a b\"", 19, "within"),
    ("dc.title =/string a", 20, "string"),
    ("cql.allRecords = 1", 16, "cql.allRecords cannot be scanned"),
    ("cql.resultSetId = x", 16, "cql.resultSetId cannot be scanned"),
    ("dc.nosuch = x", 16, "dc.nosuch"),
    ("nosuch.title = x", 15, "nosuch"),
])
def test_scan_start_refuses(clause, code, details):
    with pytest.raises(SruDiagnostic) as raised:
        scan_start(parse_cql(clause))
    assert (raised.value.code, raised.value.details) == (code, details)
