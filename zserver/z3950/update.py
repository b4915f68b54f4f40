"""Extended Services Update (Z39.50-2003 Annex 9, ESFormat-Update, OID 1.2.840.10003.9.5.1.1;
the first version 1.2.840.10003.9.5 too): a library maintains its own records over Z39.50, as
yaz-client's `update insert|replace|delete|update ID <file` and ZOOM's update package send it.

This module owns reading the Update task package and answering it; what an update does to the
catalog is `index.loading.single`'s, with the loader's maintenance-key rules, and the index is
brought up to date beside the server by `index.loading.catchup`.

What is read from the request (`read_update`):

- `toKeep.action`: recordInsert 1 (insert), recordReplace 2 (replace), recordDelete 3
  (delete), specialUpdate 5 (yaz-client's `update`: insert or replace, whichever applies);
  elementUpdate 4 is refused (1044): send the whole record.
- `toKeep.databaseName`: the union database (or `Default`) or the user's library's own
  database; another library's database, the authority file or the external catalog: 222.
- `notToKeep`: exactly one supplied record (else 1046). Its `recordId` (opaque, string or
  number; yaz-client's ID, `none` for none) is the library's control number (001) and must
  agree with the record's; its `record` EXTERNAL holds MARC21 (ISO 2709) or MARCXML. The
  format is judged from the bytes: yaz-client labels every file it sends as XML.
- The user: the Init's idPass (or `open`) login, a `[users.NAME]` with `library = "CODE"`.

The answer: operationStatus done and a task package (RecordSyntax-ESTaskPackage) whose
targetReference says what happened (`A:ocm123 isn 42 updated`; yaz-client prints it as
"Target Reference"), taskStatus complete, and an Update targetPart with updateStatus success
and the record's recordStatus success. A refusal is operationStatus failure with one Bib-1
diagnostic whose addinfo says why: no login 1004; a user without a library, or another
library's database 222; another library's record 223; a record that fails the loader's checks,
an insert of a record the library has, a replace or delete of one it has not, an older 005
224; an unreadable task package 1057.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from index.config import Config
from index.errors import UnknownDatabase
from index.home import Home
from index.loading.catchup import IndexCatchUp
from index.loading.single import Action, Refusal, UpdateOutcome, UpdateRefused, apply_update
from index.search import Catalog
from index.store.catalog import CatalogStore
from zserver.net.log import stderr_log
from zserver.z3950.codec import encode_type
from zserver.z3950.diagnostics import Bib1Diagnostic, Z3950Diagnostic
from zserver.z3950.espackage import read_es_request
from zserver.z3950.pdus import ExtendedServicesRequest, ExtendedServicesResponse
from zserver.z3950.records import Oid, external_asn1

__all__ = ["UPDATE_PACKAGE_TYPES", "UpdateRequest", "answer_update", "read_update"]

ES_UPDATE_0 = "1.2.840.10003.9.5"
UPDATE_PACKAGE_TYPES = (Oid.ES_UPDATE, ES_UPDATE_0)
_RECORD_OIDS = (Oid.MARC21, Oid.XML, Oid.XML_APPLICATION)
_TASK_COMPLETE = 2
_SUCCESS = 1
_ACTIONS = {1: Action.INSERT, 2: Action.REPLACE, 3: Action.DELETE, 5: Action.UPSERT}

_CODES: dict[Refusal, Bib1Diagnostic] = {
    Refusal.NOT_OWNER: Bib1Diagnostic.ES_CANNOT_MODIFY_OR_DELETE,
    Refusal.INVALID: Bib1Diagnostic.ES_IMMEDIATE_EXECUTION_FAILED,
    Refusal.CONFLICT: Bib1Diagnostic.ES_IMMEDIATE_EXECUTION_FAILED,
}


@dataclass(frozen=True)
class UpdateRequest:
    """What an Update asks for: the action on one record in a database."""

    package_type: str
    action: Action
    action_code: int
    database: str
    record_id: str | None
    record: bytes | None
    record_oid: str | None


def _record_id(value: tuple[str, Any] | None) -> str | None:
    if value is None:
        return None
    kind, body = value
    if kind == "opaque":
        return bytes(body).decode("utf-8", "replace").strip() or None
    return str(body).strip() or None


def read_update(request: ExtendedServicesRequest, charset: str = "utf-8") -> UpdateRequest:
    """The Update of an ES request; raises Z3950Diagnostic for what cannot be read or done."""
    update = read_es_request(request, "Update", UPDATE_PACKAGE_TYPES, charset)
    to_keep, supplied = update["toKeep"], update["notToKeep"]
    code = to_keep["action"]
    action = _ACTIONS.get(code)
    if action is None:
        raise Z3950Diagnostic(Bib1Diagnostic.ES_INVALID_ACTION,
                              f"action {code}: elementUpdate is not supported; send the whole record (replace)"
                              if code == 4 else f"action {code}")
    if len(supplied) != 1:
        raise Z3950Diagnostic(Bib1Diagnostic.ES_TOO_MANY_RECORDS_IN_PACKAGE,
                              f"one record per update, not {len(supplied)}")
    item = supplied[0]
    record, oid = item["record"], item["record"].get("direct-reference")
    encoding, content = record["encoding"]
    if oid not in _RECORD_OIDS or encoding != "octet-aligned":
        raise Z3950Diagnostic(Bib1Diagnostic.ES_UNSUPPORTED_TASK_PACKAGE_PARAMETER_VALUE,
                              f"record: {oid} {encoding} (MARC21 or MARCXML, octet-aligned)")
    return UpdateRequest(request.package_type, action, code, to_keep["databaseName"], _record_id(item.get("recordId")),
                         bytes(content) or None, oid)


# -- doing -------------------------------------------------------------------------------------

_catch_ups: dict[str, IndexCatchUp] = {}


def catch_up(home: Home) -> IndexCatchUp:
    """This process's index catch-up for `home` (one per home: the workers of a server share none)."""
    key = str(home.root)
    if key not in _catch_ups:
        _catch_ups[key] = IndexCatchUp(home, stderr_log)
    return _catch_ups[key]


def _library_of(config: Config, user: str | None) -> str:
    if user is None:
        raise Z3950Diagnostic(Bib1Diagnostic.ES_NEEDS_ACCESS_CONTROL,
                              "log in (Init idPass) as a user of your library to update its records")
    library = config.user_libraries.get(user)
    if library is None or library not in config.libraries:
        raise Z3950Diagnostic(Bib1Diagnostic.ES_PERMISSION_DENIED,
                              f"user {user} maintains no library's records ([users.{user}] has no library)")
    return library


def _check_database(catalog: Catalog, name: str, library: str) -> None:
    try:
        database = catalog.database(name)
    except UnknownDatabase:
        raise Z3950Diagnostic(Bib1Diagnostic.DATABASE_UNAVAILABLE, name) from None
    if database.external or database.authorities or database.library not in (None, library):
        raise Z3950Diagnostic(Bib1Diagnostic.ES_PERMISSION_DENIED,
                              f"database {name}: library {library} updates the union database or its own")


def answer_update(request: ExtendedServicesRequest, *, catalog: Catalog, user: str | None,
                  charset: str = "utf-8",
                  indexed: Callable[[], None] | None = None) -> tuple[ExtendedServicesResponse, str]:
    """The response to an Update (and a line for the log). The record is written to the store in
    a connection of its own (the workers see the commit), then `indexed` (default: this
    process's `catch_up(...).wanted`) asks for the index run. Raises Z3950Diagnostic for every
    refusal (the handler answers it with operationStatus failure)."""
    config = catalog.config
    library = _library_of(config, user)
    wanted = read_update(request, charset)
    _check_database(catalog, wanted.database, library)
    store = CatalogStore.of(catalog.home)
    try:
        done = apply_update(store, config, config.libraries[library], wanted.action, wanted.record,
                            record_id=wanted.record_id, user=user or "")
    except UpdateRefused as refused:
        raise Z3950Diagnostic(_CODES[refused.reason], refused.message) from None
    except sqlite3.OperationalError as error:   # a load holds the store longer than SQLite waits
        raise Z3950Diagnostic(Bib1Diagnostic.ES_IMMEDIATE_EXECUTION_FAILED,
                              f"the catalog is busy ({error}); try again") from None
    finally:
        store.close()
    (indexed or catch_up(catalog.home).wanted)()
    return _done(request, wanted, done, charset), (f"es update {wanted.action.value} {done.library}:{done.source_id}"
                                                   f" isn {done.isn} {done.outcome} user={user} load {done.load_id}")


def _done(request: ExtendedServicesRequest, wanted: UpdateRequest, done: UpdateOutcome,
          charset: str) -> ExtendedServicesResponse:
    origin = {"action": wanted.action_code, "databaseName": wanted.database}
    target = {"updateStatus": _SUCCESS, "taskPackageRecords": [{"recordStatus": _SUCCESS}]}
    parameters = ("taskPackage", {"originPart": origin, "targetPart": target})
    reference = f"{done.library}:{done.source_id} isn {done.isn} {done.outcome}"
    package: dict[str, Any] = {
        "packageType": wanted.package_type, "targetReference": reference.encode("utf-8"),
        "creationDateTime": dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0),
        "taskStatus": _TASK_COMPLETE,
        "taskSpecificParameters": {"direct-reference": wanted.package_type,
                                   "encoding": ("single-ASN1-type", encode_type("Update", parameters, charset))}}
    if request.package_name:
        package["packageName"] = request.package_name
    return ExtendedServicesResponse(operation_status=1,
                                    task_package=external_asn1(Oid.ES_TASK_PACKAGE, "TaskPackage", package, charset))
