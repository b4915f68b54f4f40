"""The web search page: parameters in, parsed HTML checked (lxml.html), on the sample catalog."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import html

from index.errors import RecordNotFound
from index.query import And, Structure, Term, Truncation
from index.records.formats import parse
from index.search import Catalog
from index.searchkeys.normalize import normalize
from zserver.web import PAGE_SIZE, STATIC_DIR, SearchForm, SearchProblem, build_query, error_page, record_page, search_page


@pytest.fixture(scope="module")
def catalog(sample_home):
    catalog = Catalog(sample_home)
    yield catalog
    catalog.close()


def page(catalog, **params):
    return html.fromstring(search_page({name: [value] for name, value in params.items()}, catalog))


def hit_count(doc) -> int:
    text = doc.xpath("string(//p[@class='hits']/strong)")
    return int(text.replace(",", "")) if text else 0


def briefs(doc):
    return doc.xpath("//ol[@class='briefs']/li")


def problem(doc) -> str:
    return doc.xpath("string(//p[@class='problem'])")


def test_home_page(catalog) -> None:
    raw = search_page({}, catalog)
    assert raw.startswith(b"<!DOCTYPE html>")
    doc = html.fromstring(raw)
    assert doc.xpath("string(//title)") == catalog.config.name
    assert doc.xpath("//meta[@name='viewport']/@content") == ["width=device-width, initial-scale=1"]
    assert doc.xpath("//link[@rel='stylesheet']/@href") == ["/static/unikat.css"]
    form = doc.xpath("//form[@role='search']")[0]
    assert (form.get("method"), form.get("action")) == ("get", "/")
    assert doc.xpath("//input[@name='q']") and not doc.xpath("//script")
    assert doc.xpath("//footer//a[text()='explain']/@href") == ["/unikat"]
    assert {"lang", "type", "lib", "sort"} <= set(doc.xpath("//select/@name"))
    assert "eng" in doc.xpath("//select[@name='lang']/option/@value")


@pytest.mark.parametrize("q", ["history", "ti=water and au=valigura", "cql:dc.title any \"water river\"",
                               "hist*", '"water resources"', "su=history"])
def test_searches_find_titles(catalog, q: str) -> None:
    doc = page(catalog, q=q)
    assert problem(doc) == ""
    found = hit_count(doc)
    assert found > 0
    items = briefs(doc)
    assert len(items) == min(found, PAGE_SIZE)
    link = items[0].xpath("a[@class='title']/@href")[0]
    assert re.fullmatch(r"/record/\d+\?q=.+", link)
    assert doc.xpath("string(//title)").startswith(q)


@pytest.mark.parametrize(("q", "message"), [
    ("ti=(", "Cannot read the query"),
    ("nosuch=water", "unknown qualifier"),
    ("cql:dc.nosuch = water", "Unsupported index"),
    ("cql:dc.title = (water", "Cannot read the query"),
    ("!!! ...", "Please type a word"),
])
def test_bad_queries_say_why(catalog, q: str, message: str) -> None:
    doc = page(catalog, q=q)
    assert message in problem(doc)
    assert not briefs(doc)


def test_input_is_escaped(catalog) -> None:
    raw = search_page({"q": ['<script>alert("x")</script> water\x00\x07'], "lang": ['"><b>']}, catalog)
    doc = html.fromstring(raw)
    assert not doc.xpath("//script") and not doc.xpath("//main//b[not(@class)]")
    assert b"<script>" not in raw
    assert doc.xpath("//input[@name='q']/@value")[0].startswith("<script>")


def test_sort_by_year(catalog) -> None:
    doc = page(catalog, q="history", sort="year")
    years = [int(y) for y in re.findall(r"\b(\d{4})$", "\n".join(doc.xpath("//div[@class='meta']/text()")),
                                        re.M)]
    assert len(years) > 10 and years == sorted(years, reverse=True)
    assert doc.xpath("string(//p[@class='sortbar']/strong)") == "Newest first"
    assert doc.xpath("//p[@class='sortbar']/a[text()='Title']/@href") == ["/?q=history&sort=title"]


def test_sort_by_title_changes_the_order(catalog) -> None:
    by_relevance = [li.xpath("string(a)") for li in briefs(page(catalog, q="history"))]
    by_title = [li.xpath("string(a)") for li in briefs(page(catalog, q="history", sort="title"))]
    assert sorted(by_relevance) != by_relevance or by_title != by_relevance
    assert set(by_title) != set() and by_title != by_relevance


# The language limit searches 041 as well as 008, so a few titles shown in another language pass.
# The year range is one range term: one of a title's years (008, 260/264 $c) lies in it.
@pytest.mark.parametrize(("limit", "check"), [
    ({"lang": "spa"}, lambda metas: sum("Spanish" in meta for meta in metas) > len(metas) / 2),
    ({"type": "ejournal"}, lambda metas: all(meta.startswith("Ejournal") for meta in metas)),
    ({"from": "1990", "to": "1995"}, lambda metas: all(1990 <= int(m[-4:]) <= 1995 for m in metas)),
    # A brief shows a title's first year; "up to 1950" wants any of its years (a 2000 reprint of 1900).
    ({"to": "1950"}, lambda metas: sum(int(m[-4:]) <= 1950 for m in metas) >= 0.8 * len(metas)),
])
def test_limits(catalog, limit, check) -> None:
    doc = page(catalog, q="cql:cql.allRecords = 1", **limit)
    assert problem(doc) == ""
    assert 0 < hit_count(doc) < 3222
    assert check(doc.xpath("//div[@class='meta']/text()"))
    assert doc.xpath("//details[@class='limits']/@open") == ["open"]


def test_library_limit(catalog) -> None:
    everything = hit_count(page(catalog, q="history"))
    only_c = hit_count(page(catalog, q="history", lib="c"))
    assert 0 < only_c < everything


@pytest.mark.parametrize(("limit", "message"), [({"from": "19x"}, "year from"), ({"lang": "english"}, "three-letter")])
def test_bad_limits(catalog, limit, message: str) -> None:
    assert message in problem(page(catalog, q="history", **limit))


def test_paging(catalog) -> None:
    first = page(catalog, q="history")
    total = hit_count(first)
    assert total > 2 * PAGE_SIZE
    next_link = first.xpath("//nav[@class='pages']/a[@rel='next']/@href")[0]
    assert next_link == f"/?q=history&start={PAGE_SIZE + 1}"
    second = page(catalog, q="history", start=str(PAGE_SIZE + 1))
    assert second.xpath("//ol[@class='briefs']/@start") == [str(PAGE_SIZE + 1)]
    assert second.xpath("//nav[@class='pages']/a[@rel='prev']/@href") == ["/?q=history"]
    assert "Page 2 of" in second.xpath("string(//nav[@class='pages'])")
    isns = set(first.xpath("//ol[@class='briefs']/li/a/@href"))
    assert len(isns) == PAGE_SIZE and not isns & set(second.xpath("//ol[@class='briefs']/li/a/@href"))
    last = page(catalog, q="history", start=str(total))
    assert len(briefs(last)) == 1 and not last.xpath("//a[@rel='next']")
    beyond = page(catalog, q="history", start=str(total + 100))
    assert beyond.xpath("//ol[@class='briefs']/@start") == ["1"]


def test_record_page(catalog) -> None:
    doc = page(catalog, q="cql:unikat.library = A and unikat.library = B")
    link = briefs(doc)[0].xpath("a/@href")[0]
    isn = int(re.match(r"/record/(\d+)", link).group(1))
    record = html.fromstring(record_page(isn, {"q": ["cql:unikat.library = A and unikat.library = B"]}, catalog))
    assert record.xpath("string(//h1)")
    assert record.xpath("//section[@class='isbd']/p")
    libraries = record.xpath("//section[@class='holdings']//tbody/tr/td[1]/text()")
    assert {"Library A (sample, MARC21 ISO 2709)", "Library B (sample, MARC21 ISO 2709)"} <= set(libraries)
    loans = set(record.xpath("//section[@class='holdings']//tbody/tr/td[6]/text()"))
    assert loans <= {"Lendable", "Reference only"}
    tags = record.xpath("//table[@class='marc']//th/text()")
    assert tags[0] == "LDR" and "245" in tags and "001" in tags
    assert record.xpath("//nav[@class='links']/a[text()='Back to the results']/@href") == [
        "/?q=cql%3Aunikat.library+%3D+A+and+unikat.library+%3D+B"]
    assert record.xpath("//nav[@class='links']/a[text()='MARCXML (SRU)']/@href") == [
        f"/unikat?query=rec.id%3D{isn}&recordSchema=marcxml"]


def test_record_page_of_an_ejournal_links_online_access(catalog) -> None:
    doc = page(catalog, q="cql:unikat.materialType = ejournal")
    isn = int(re.match(r"/record/(\d+)", briefs(doc)[0].xpath("a/@href")[0]).group(1))
    record = html.fromstring(record_page(isn, {}, catalog))
    links = record.xpath("//section[@class='holdings']//a/@href")
    assert links and all(link.startswith(("http://", "https://")) for link in links)
    assert not record.xpath("//a[text()='Back to the results']")


def test_missing_record(catalog) -> None:
    with pytest.raises(RecordNotFound):
        record_page(999999, {}, catalog)


def test_error_page() -> None:
    doc = html.fromstring(error_page(404, "There is no <record> 5.", "Cat & Co"))
    assert doc.xpath("string(//h1)") == "Not found"
    assert doc.xpath("string(//main/p[1])") == "There is no <record> 5."
    assert doc.xpath("string(//header/a)") == "Cat & Co"


@pytest.mark.parametrize(("text", "expected"), [
    ("water", Term("any", "water", structure=Structure.WORD)),
    ("water*", Term("any", "water", structure=Structure.WORD, truncation=Truncation.RIGHT)),
    ('"water resources"', Term("any", "water resources", structure=Structure.PHRASE)),
    ("water policy", And(Term("any", "water", structure=Structure.WORD),
                         Term("any", "policy", structure=Structure.WORD))),
    ("cql:dc.title = water", Term("title", "water", structure=Structure.WORD_LIST)),
])
def test_build_query(text: str, expected) -> None:
    assert build_query(text) == expected


def test_build_query_ccl_uses_the_configured_qualifiers() -> None:
    node = build_query("ti=water and pub=press", {"pub": "u=1018 s=pw"})
    assert isinstance(node, And)
    assert (node.left.index, node.right.index) == ("title", "publisher")
    with pytest.raises(SearchProblem):
        build_query("pub=press", {"pub": "u=nonsense"})


def test_form_reads_and_writes_urls() -> None:
    form = SearchForm.read({"q": [" water "], "sort": ["bogus"], "start": ["-3"], "from": ["1990"]})
    assert (form.q, form.sort, form.start, form.year_from) == ("water", "relevance", 1, "1990")
    assert form.url() == "/?q=water&from=1990"
    assert form.url("/record/5", start=41) == "/record/5?q=water&from=1990&start=41"


def test_856_links_are_clickable_and_fixed_fields_keep_their_spaces(catalog) -> None:
    doc = page(catalog, q="cql:unikat.materialType = ejournal")
    isn = int(re.match(r"/record/(\d+)", briefs(doc)[0].xpath("a/@href")[0]).group(1))
    record = html.fromstring(record_page(isn, {}, catalog))
    marc = parse(catalog.record(isn).marc)
    urls = [url for field in marc.get_fields("856") for url in field.get_subfields("u")]
    assert urls, "the sample e-journal has an 856 $u"
    in_table = record.xpath("//table[@class='marc']//tr[th='856']//a")
    assert [a.get("href") for a in in_table] == urls and all(a.get("rel") == "noopener nofollow" for a in in_table)
    assert record.xpath("//section[@class='isbd']/p[@class='online']/a/@href") == urls
    leader = record.xpath("//table[@class='marc']//tr[th='LDR']//code")[0]
    assert leader.get("class") == "fixed" and leader.text == str(marc.leader)
    fixed = record.xpath("//table[@class='marc']//tr[th='008']//code")[0]
    assert fixed.get("class") == "fixed" and fixed.text == marc["008"].data
    css = (STATIC_DIR / "unikat.css").read_text(encoding="utf-8")
    assert re.search(r"table\.marc code\.fixed \{ white-space: pre-wrap; \}", css)


def test_only_web_addresses_become_links() -> None:
    from zserver.web.page import _link
    assert _link("javascript:alert(1)") is None and _link("data:text/html,x") is None
    assert _link(" https://example.org/a?b=1&c=2 ").get("href") == "https://example.org/a?b=1&c=2"


def test_name_and_subject_facets_show_headings_as_catalogued_and_narrow_by_key(catalog) -> None:
    doc = page(catalog, q="history")
    for name in ("author", "subject"):
        links = doc.xpath(f"//section[contains(@class, 'facet-{name}')]//a")
        assert links, name
        for link in links:
            key = parse_qs(urlsplit(link.get("href")).query)["facet"][-1].partition(":")[2]
            assert normalize(link.text_content()) == key            # the heading is the key as catalogued
        assert any(link.text_content() != link.text_content().lower() for link in links)   # not the lower-case key
