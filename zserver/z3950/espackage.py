"""The task-specific part of an Extended Services request, as every task package we take
(Update, ItemOrder) reads it: function create only, taskSpecificParameters an EXTERNAL with
one of the package's OIDs, decoded as the package's ASN.1 type, its esRequest. What is wrong
is a Z3950Diagnostic saying what."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from zserver.z3950.codec import CodecError, decode_type
from zserver.z3950.diagnostics import Bib1Diagnostic, Z3950Diagnostic
from zserver.z3950.pdus import ExtendedServicesRequest

__all__ = ["read_es_request"]

_FUNCTION_CREATE = 1


def read_es_request(request: ExtendedServicesRequest, type_name: str, package_types: Collection[str],
                    charset: str = "utf-8") -> dict[str, Any]:
    """The esRequest of `request`'s task package, an ASN.1 `type_name` under one of `package_types`."""
    if request.function != _FUNCTION_CREATE:
        raise Z3950Diagnostic(Bib1Diagnostic.ES_INVALID_FUNCTION, f"an {type_name} can only be created (function 1)")
    external = request.task_specific_parameters
    if external is None:
        raise Z3950Diagnostic(Bib1Diagnostic.ES_MISSING_MANDATORY_PARAMETER, "taskSpecificParameters")
    kind, body = external["encoding"]
    if external.get("direct-reference") not in package_types or kind != "single-ASN1-type":
        raise Z3950Diagnostic(Bib1Diagnostic.ES_UNSUPPORTED_TASK_PACKAGE_PARAMETER_VALUE,
                              f"taskSpecificParameters: not an {type_name} ({external.get('direct-reference')})")
    try:
        choice, package = decode_type(type_name, body, charset)
    except CodecError as error:
        raise Z3950Diagnostic(Bib1Diagnostic.ES_UNSUPPORTED_TASK_PACKAGE_PARAMETER_VALUE, str(error)) from None
    if choice != "esRequest":
        raise Z3950Diagnostic(Bib1Diagnostic.ES_UNSUPPORTED_TASK_PACKAGE_PARAMETER_VALUE, "not an esRequest")
    return package
