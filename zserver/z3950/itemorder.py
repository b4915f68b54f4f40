"""Extended Services ItemOrder (Z39.50-2003 3.2.9, ESFormat-ItemOrder, OID 1.2.840.10003.9.4):
an interlibrary loan order placed over Z39.50, as yaz-client's `itemorder ill|item|xml N` sends it.

This module owns reading the ItemOrder task package and answering it; the order itself is
`index.ill.IllService`'s, with the same rules as on every other interface.

What is read from the request (`read_item_order`):

- `notToKeep.resultSetItem` (result set name, 1-based position): the title ordered, a record of
  one of the association's result sets. Without it, the ILL request's item-id title (author,
  title, date) makes a *free order*. A title without holdings becomes a free order too: a
  Z39.50 client cannot be asked.
- `notToKeep.itemRequest`, an EXTERNAL: an ISO 10161 ILL-APDU (ILL-Request, `itemorder ill`) or
  the Z39.50 ItemRequest (`itemorder item`), both OID 1.0.10161.2.1, BER; or an XML document
  (`itemorder xml`, OID 1.2.840.10003.5.109.10), read as ISO 18626 bibliographicInfo. Of an
  ILL request we read item-id (article title, author of the article, pagination, volume-issue,
  date of the component: a copy; title, author, publication date: a free order) and the
  requester note. unikat: the ILL request is read with a small BER walker over these tags
  instead of compiling ISO 10161's ASN.1 (1,100 lines in 1988 syntax asn1tools does not read);
  every other field is skipped.
- The user: the access number and password given in Init (idPass or `open` "user/password").
  The handler accepts an Init whose user is an ILL account without signing it in (it sees no
  restricted database), and keeps the credentials for the ItemOrder, which checks them.
- The request's `packageName` (yaz-client `packagename NAME`), if any, names the order for its
  user: the same user sending a package name again (a replay after a lost answer, a client's
  retry) places no second order and gets diagnostic 218 naming the first. Without a package
  name every ItemOrder is a new order.

The answer: operationStatus done and a task package (RecordSyntax-ESTaskPackage, OID
1.2.840.10003.5.106) whose targetReference is the order number, taskStatus pending (at a
supplier or the central desk), and whose ItemOrder targetPart.statusOrErrorReport is an XML
document with the order's status, supplier, deadline and the balance before and after
(yaz-client prints "Target Reference: ..." and the document). A refusal is operationStatus
failure with one Bib-1 diagnostic (`_CODES`): no login 1004; wrong credentials 222; balance
or quota used up 220; a package name used already 218; missing article data or no title 1008; an unknown result set 30, an item
outside it 13; an unknown ILL OID 1009; a title no library lends, held by the home library,
or outside every holdings statement 224 (immediate execution failed), addinfo always saying why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lxml import etree

from index.ill import Article, IllRefused, IllService, OrderRequest, PlacedOrder, Refusal
from zserver.ill_login import ill_account
from zserver.logins import LoginGuard
from zserver.z3950.codec import encode_type
from zserver.z3950.diagnostics import Bib1Diagnostic, Z3950Diagnostic
from zserver.z3950.espackage import read_es_request
from zserver.z3950.pdus import ExtendedServicesRequest, ExtendedServicesResponse
from zserver.z3950.records import Oid, external_asn1, external_octets

__all__ = ["ILL_APDU_OID", "ItemOrderRequest", "answer_item_order", "read_item_order"]

ILL_APDU_OID = "1.0.10161.2.1"
_XML_OIDS = (Oid.XML, Oid.XML_APPLICATION)
_TASK_PENDING = 0

_CODES: dict[Refusal, Bib1Diagnostic] = {
    Refusal.BAD_CREDENTIALS: Bib1Diagnostic.ES_PERMISSION_DENIED,
    Refusal.BALANCE: Bib1Diagnostic.ES_QUOTA_EXCEEDED,
    Refusal.QUOTA: Bib1Diagnostic.ES_QUOTA_EXCEEDED,
    Refusal.MISSING_DATA: Bib1Diagnostic.ES_MISSING_MANDATORY_PARAMETER,
    Refusal.DUPLICATE: Bib1Diagnostic.ES_PACKAGE_NAME_IN_USE,
}
"""Refusal -> Bib-1 diagnostic; every other refusal is 224 (immediate execution failed)."""


@dataclass(frozen=True)
class ItemOrderRequest:
    """What an ItemOrder asks for: the result set item, and what its ILL request says."""

    result_set: str | None
    item: int | None
    form: str                  # "ill", "item", "xml" or "" (no itemRequest)
    article: Article
    title_text: str            # item-id author, title, date: a free order's description
    note: str


# -- reading -------------------------------------------------------------------------------

_MAX_TAG_BYTES = 4      # tag numbers below 2**28: ISO 10161's are below 100
_MAX_LENGTH_BYTES = 4   # lengths below 4 GiB: a message is at most [server] max_message_size


def _tlvs(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int, int, int]]:
    """(class, tag, content start, content end) of each BER value in data[start:end]; definite
    lengths only (YAZ writes no others). Raises ValueError for broken BER."""
    end = len(data) if end is None else end
    offset = start
    while offset < end:
        first = data[offset]
        tag_class, tag = first >> 6, first & 0x1F
        offset += 1
        if tag == 0x1F:
            tag = 0
            for _ in range(_MAX_TAG_BYTES):
                byte = data[offset]
                offset += 1
                tag = (tag << 7) | (byte & 0x7F)
                if not byte & 0x80:
                    break
            else:   # unbounded, the number would grow byte by byte: quadratic time over a long run
                raise ValueError(f"a tag number longer than {_MAX_TAG_BYTES} bytes")
        length = data[offset]
        offset += 1
        if length == 0x80:
            raise ValueError("indefinite length")
        if length & 0x80:
            count = length & 0x7F
            if count > _MAX_LENGTH_BYTES:
                raise ValueError(f"a length of {count} bytes (at most {_MAX_LENGTH_BYTES})")
            length = int.from_bytes(data[offset:offset + count], "big")
            offset += count
        if offset + length > end:
            raise ValueError("value runs past its end")
        yield tag_class, tag, offset, offset + length
        offset += length


def _ill_string(data: bytes, start: int, end: int) -> str:
    """An EXPLICIT-tagged ILL-String (GeneralString or EDIFACTString) as text."""
    for _, _, inner_start, inner_end in _tlvs(data, start, end):
        return data[inner_start:inner_end].decode("utf-8", "replace").strip()
    return ""


_CONTEXT = 2
_ITEM_ID = 16
_REQUESTER_NOTE = 46
# Item-Id members (ISO 10161): 3 author, 4 title, 10 volume-issue, 12 publication-date,
# 13 publication-date-of-component, 14 author-of-article, 15 title-of-article, 16 pagination
_ITEM_FIELDS = {3: "author", 4: "title", 10: "volume", 12: "date", 13: "component_date", 14: "article_author",
                15: "article_title", 16: "pages"}


def _read_ill(data: bytes) -> tuple[dict[str, str], str]:
    """(item-id fields, requester note) of an ILL-Request or ItemRequest."""
    outer = next(_tlvs(data), None)
    if outer is None:
        raise ValueError("empty ILL request")
    fields: dict[str, str] = {}
    note = ""
    for tag_class, tag, start, end in _tlvs(data, outer[2], outer[3]):
        if tag_class != _CONTEXT:
            continue
        if tag == _ITEM_ID:
            for item_class, item_tag, item_start, item_end in _tlvs(data, start, end):
                name = _ITEM_FIELDS.get(item_tag)
                if item_class == _CONTEXT and name:
                    fields[name] = _ill_string(data, item_start, item_end)
        elif tag == _REQUESTER_NOTE:
            note = _ill_string(data, start, end)
    return fields, note


def _read_xml(data: bytes) -> tuple[dict[str, str], str]:
    """Item fields from an XML document with ISO 18626 bibliographicInfo element names."""
    try:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as error:
        raise ValueError(f"not well-formed XML: {error}") from None
    names = {"titleOfComponent": "article_title", "authorOfComponent": "article_author", "pagesRequested": "pages",
             "volume": "volume", "issue": "issue", "title": "title", "author": "author",
             "publicationDate": "date", "note": "note"}
    fields: dict[str, str] = {}
    for element in root.iter():
        if isinstance(element.tag, str):
            name = names.get(etree.QName(element).localname)
            if name and (element.text or "").strip() and name not in fields:
                fields[name] = element.text.strip()
    return fields, fields.pop("note", "")


def read_item_order(request: ExtendedServicesRequest, charset: str = "utf-8") -> ItemOrderRequest:
    """The ItemOrder of an ES request; raises Z3950Diagnostic for what cannot be read."""
    order = read_es_request(request, "ItemOrder", (Oid.ES_ITEM_ORDER,), charset)
    wanted = order["notToKeep"]
    item = wanted.get("resultSetItem")
    fields, note, form = {}, "", ""
    item_request = wanted.get("itemRequest")
    if item_request is not None:
        oid = item_request.get("direct-reference")
        encoding, content = item_request["encoding"]
        try:
            if oid == ILL_APDU_OID and encoding == "single-ASN1-type":
                form = "ill" if content[:1] == b"\x61" else "item"   # [APPLICATION 1] ILL-Request
                fields, note = _read_ill(bytes(content))
            elif oid in _XML_OIDS and encoding == "octet-aligned":
                form = "xml"
                fields, note = _read_xml(bytes(content))
            else:
                raise Z3950Diagnostic(Bib1Diagnostic.ES_ITEM_ORDER_UNSUPPORTED_OID, str(oid))
        except (ValueError, IndexError) as error:
            raise Z3950Diagnostic(Bib1Diagnostic.ES_UNSUPPORTED_TASK_PACKAGE_PARAMETER_VALUE,
                                  f"itemRequest unreadable: {error}") from None
    article = Article(fields.get("article_title", ""), fields.get("article_author", ""), fields.get("pages", ""),
                      fields.get("component_date", "") or (fields.get("date", "") if "article_title" in fields else ""),
                      fields.get("volume", ""), fields.get("issue", ""))
    title = ". ".join(p for p in (fields.get("author", ""), fields.get("title", ""), fields.get("date", "")) if p)
    return ItemOrderRequest(item["resultSetId"] if item else None, item["item"] if item else None, form,
                            article, title, note)


# -- answering -------------------------------------------------------------------------------

def _status_document(placed: PlacedOrder) -> bytes:
    order = placed.order
    root = etree.Element("itemOrderStatus")
    for name, value in (("orderNumber", order.number), ("status", order.status.value),
                        ("supplier", order.supplier), ("deadline", order.deadline), ("kind", order.kind.value),
                        ("free", "true" if order.free else "false"), ("title", order.isbd),
                        ("balanceBefore", str(placed.balance_before)), ("balanceAfter", str(placed.balance_after)),
                        ("quotaLeft", "" if placed.quota_left is None else str(placed.quota_left))):
        etree.SubElement(root, name).text = value
    return etree.tostring(root, encoding="utf-8")


def answer_item_order(request: ExtendedServicesRequest, *, service: Callable[[], IllService],
                      credentials: tuple[str, str] | None, isn_of: Callable[[str, int], int],
                      charset: str = "utf-8", guard: LoginGuard | None = None,
                      address: str | None = None) -> tuple[ExtendedServicesResponse, str]:
    """The response to an ItemOrder (and a line for the log, without the password).

    `credentials` are the Init's (access number, password) or None; `isn_of(result set, item)`
    gives the ISN of a result set's record, raising Z3950Diagnostic (30, 13). `service` opens
    the ILL service (only when there is an order to place). `guard` (the worker's) counts failed
    logins from `address` and locks out (`zserver.ill_login`). Raises Z3950Diagnostic for every
    refusal (the handler answers it with operationStatus failure)."""
    if credentials is None:
        raise Z3950Diagnostic(Bib1Diagnostic.ES_NEEDS_ACCESS_CONTROL,
                              "log in (Init) with your access number and password to order")
    wanted = read_item_order(request, charset)
    if wanted.result_set is not None:
        isn = isn_of(wanted.result_set, wanted.item or 0)
    elif wanted.title_text:
        isn = None
    else:
        raise Z3950Diagnostic(Bib1Diagnostic.ES_MISSING_MANDATORY_PARAMETER,
                              "resultSetItem (or an itemRequest with the item's title)")
    access, password = credentials
    try:
        account = ill_account(service(), guard or LoginGuard(), access, password, address)
        placed = service().place_order(OrderRequest(access, password, isn, wanted.article, free=True,
                                                    title_text=wanted.title_text, note=wanted.note,
                                                    via=f"z3950 itemorder {wanted.form or 'item'}".strip(),
                                                    external_id=f"z3950:{request.package_name}" if request.package_name
                                                    else ""),
                                       account=account)
    except IllRefused as refused:
        raise Z3950Diagnostic(_CODES.get(refused.reason, Bib1Diagnostic.ES_IMMEDIATE_EXECUTION_FAILED),
                              refused.message) from None
    order = placed.order
    target = ("taskPackage", {"targetPart": {"statusOrErrorReport": external_octets(Oid.XML, _status_document(placed))}})
    package = {"packageType": Oid.ES_ITEM_ORDER, "targetReference": order.number.encode("ascii"),
               "creationDateTime": dt.datetime.strptime(order.created, "%Y-%m-%dT%H:%M:%SZ"),
               "taskStatus": _TASK_PENDING,
               "taskSpecificParameters": {"direct-reference": Oid.ES_ITEM_ORDER,
                                          "encoding": ("single-ASN1-type", encode_type("ItemOrder", target, charset))}}
    if request.package_name:
        package["packageName"] = request.package_name
    response = ExtendedServicesResponse(operation_status=1,
                                        task_package=external_asn1(Oid.ES_TASK_PACKAGE, "TaskPackage", package, charset))
    return response, (f"es itemorder {order.number} {order.status.value} at {order.supplier or '-'}"
                      f" user={access} balance {placed.balance_before}->{placed.balance_after}")
