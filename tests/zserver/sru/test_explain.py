"""The ZeeRex explain record: made from the configuration, cqlmap's index table and the schemas."""

from __future__ import annotations

import pytest
from lxml import etree

from index.config import parse_config
from index.engines.base import SortKey, sort_field
from index.errors import CatalogError
from index.query import AllRecords, ResultSetRef, Term
from index.search import Catalog, Database
from index.searchkeys.spec import INDEXES as SPEC_INDEXES
from zserver.querylang.cql import parse_cql
from zserver.sru.cqlmap import DEFAULT_PREFIXES, INDEXES, cql_to_query
from zserver.sru.explain import explain_record, index_entries
from zserver.sru.request import Version
from zserver.sru.response import SCHEMAS, ZEEREX_NS

NS = {"zr": ZEEREX_NS}

CONFIG = parse_config("""
[catalog]
name = "Test & Union <catalog>"
database = "unikat"
[libraries.A]
name = "Library A"
source_system = "A-ILS"
[libraries.B]
name = "Library B"
source_system = "B-ILS"
[sru]
maximum_records = 40
default_records = 7
default_schema = "dc"
""")


def record(database: Database = Database("unikat", None), version: Version = Version.V2_0):
    return explain_record(CONFIG, database, CONFIG.sru, host="catalog.example.org", port=210, version=version)


def test_server_and_database_info() -> None:
    root = record()
    assert root.tag == f"{{{ZEEREX_NS}}}explain"
    server = root.xpath("zr:serverInfo", namespaces=NS)[0]
    assert (server.get("protocol"), server.get("version"), server.get("method")) == ("SRU", "2.0", "GET POST")
    assert server.xpath("string(zr:host)", namespaces=NS) == "catalog.example.org"
    assert server.xpath("string(zr:port)", namespaces=NS) == "210"
    assert server.xpath("string(zr:database)", namespaces=NS) == "unikat"
    assert root.xpath("string(zr:databaseInfo/zr:title)", namespaces=NS) == "Test & Union <catalog>"
    assert "Library A" in root.xpath("string(zr:databaseInfo/zr:description)", namespaces=NS)
    # Survives a round trip through bytes (the name has & and <).
    assert etree.fromstring(etree.tostring(root)).xpath("string(//zr:title)", namespaces=NS)


def test_a_library_database() -> None:
    root = record(Database("A", "A"), Version.V1_2)
    assert root.xpath("string(zr:serverInfo/zr:database)", namespaces=NS) == "A"
    assert root.xpath("string(zr:serverInfo/@version)", namespaces=NS) == "1.2"
    assert root.xpath("string(zr:databaseInfo/zr:title)", namespaces=NS).endswith("Library A")


def test_context_sets_are_declared() -> None:
    sets = {s.get("name"): s.get("identifier") for s in record().xpath("zr:indexInfo/zr:set", namespaces=NS)}
    assert sets == {name: DEFAULT_PREFIXES[name] for name in ("cql", "dc", "bath", "rec", "unikat")}


def test_every_logical_index_is_listed() -> None:
    ids = set(record().xpath("zr:indexInfo/zr:index/@id", namespaces=NS))
    assert {spec.name for spec in SPEC_INDEXES} <= ids
    assert {"allRecords", "resultSetId"} <= ids


def test_every_cqlmap_name_is_listed_once() -> None:
    listed = [(name.get("set"), name.text.lower()) for name in
              record().xpath("zr:indexInfo/zr:index/zr:map/zr:name", namespaces=NS)]
    expected = [(context_set, key) for context_set, table in INDEXES.items() for key in table]
    assert sorted(listed) == sorted(expected)


@pytest.mark.parametrize("entry", index_entries(), ids=lambda entry: entry.id)
def test_each_listed_name_searches_its_index(entry) -> None:
    for context_set, name in entry.names:
        node = cql_to_query(parse_cql(f"{context_set}.{name} = 1"))
        if entry.id == "allRecords":
            assert node == AllRecords()
        elif entry.id == "resultSetId":
            assert isinstance(node, ResultSetRef)
        else:
            assert isinstance(node, Term) and node.index == entry.id, (context_set, name)


@pytest.fixture(scope="module")
def catalog(sample_home):
    catalog = Catalog(sample_home)
    yield catalog
    catalog.close()


@pytest.mark.parametrize("entry", [e for e in index_entries() if e.id not in ("allRecords", "resultSetId")],
                         ids=lambda entry: entry.id)
def test_scan_and_sort_flags_tell_the_truth(catalog, entry) -> None:
    try:
        catalog.scan(entry.id, "a", count=2)
        can_scan = True
    except CatalogError:
        can_scan = False
    assert entry.scan == can_scan
    result_set = catalog.search(cql_to_query(parse_cql("cql.allRecords = 1")), catalog.database("unikat"))
    field = sort_field(entry.id)   # how SRU reads a sort index
    try:
        catalog.sort(result_set, [SortKey(field) if field else SortKey.named(entry.id)])
        can_sort = True
    except CatalogError:
        can_sort = False
    assert entry.sort == can_sort


def test_schema_info() -> None:
    schemas = record().xpath("zr:schemaInfo/zr:schema", namespaces=NS)
    assert [(s.get("identifier"), s.get("name")) for s in schemas] == [(s.identifier, s.name) for s in SCHEMAS]
    assert {s.get("retrieve") for s in schemas} == {"true"}
    assert all(s.xpath("zr:title/text()", namespaces=NS) for s in schemas)


def test_config_info_from_settings() -> None:
    root = record()

    def value(kind: str, what: str) -> str:
        return root.xpath(f"string(zr:configInfo/zr:{kind}[@type='{what}'])", namespaces=NS)

    assert value("setting", "maximumRecords") == "40"
    assert value("default", "numberOfRecords") == "7"
    assert value("default", "retrieveSchema") == "dc"
    assert value("default", "index") == "cql.serverChoice"
    relations = root.xpath("zr:configInfo/zr:supports[@type='relation']/text()", namespaces=NS)
    assert {"=", "==", "adj", "all", "any", "within", "<>"} <= set(relations)
