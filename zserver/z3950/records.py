"""EXTERNAL payloads: retrieval records and the charset negotiation record.

This module owns the object identifiers unikat uses (``Oid``), building and
reading the EXTERNALs that carry records in Search/Present responses
(MARC21, XML, SUTRS, OPAC) and the EXTERNAL that carries character-set
negotiation in Init (Negotiation-3), as YAZ sends and expects them.

An EXTERNAL value is the dict of our ``External`` type in ``z3950.asn``:
``{"direct-reference": oid, "encoding": (form, payload)}`` where form is
``"octet-aligned"`` (payload: the record bytes) or ``"single-ASN1-type"``
(payload: the BER bytes of one ASN.1 value, decoded in a second step with
``codec.decode_type``).

It must not know sessions, result sets, the index or how records are made
(MARC rendering lives in ``index.records``); it only wraps and unwraps bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from zserver.z3950.codec import CodecError, decode_type, encode_type

__all__ = [
    "DecodedRecord",
    "Oid",
    "charset_negotiation",
    "charset_proposal",
    "charset_response",
    "decode_record",
    "default_diagnostic",
    "external_asn1",
    "external_octets",
    "find_charset_negotiation",
    "marc21_record",
    "name_plus_record",
    "negotiated_charsets",
    "opac_record",
    "surrogate_diagnostic",
    "sutrs_record",
    "xml_record",
]


class Oid:
    """Object identifiers as the dotted strings asn1tools uses (Z39.50-2003
    Appendix 1 OID and the Z39.50 Maintenance Agency's registry)."""

    BIB1_ATTRIBUTES = "1.2.840.10003.3.1"
    EXP1_ATTRIBUTES = "1.2.840.10003.3.2"
    GILS_ATTRIBUTES = "1.2.840.10003.3.5"
    BIB1_DIAGNOSTICS = "1.2.840.10003.4.1"
    DIAG1_FORMAT = "1.2.840.10003.4.2"
    MARC21 = "1.2.840.10003.5.10"  # YAZ calls it "usmarc"
    SUTRS = "1.2.840.10003.5.101"
    OPAC = "1.2.840.10003.5.102"
    GRS1 = "1.2.840.10003.5.105"
    ES_TASK_PACKAGE = "1.2.840.10003.5.106"
    XML_APPLICATION = "1.2.840.10003.5.109.11"   # application/xml (.109.3 is text/html)
    XML = "1.2.840.10003.5.109.10"  # text/xml; YAZ's "xml"
    JSON = "1.2.840.10003.5.1000.81.3"  # YAZ's "json" (Index Data's arc; yaz_oid_recsyn_json)
    ES_ITEM_ORDER = "1.2.840.10003.9.4"
    ES_UPDATE = "1.2.840.10003.9.5.1.1"  # Update ES 1.1, as yaz-client sends
    CHARSET_NEGOTIATION_3 = "1.2.840.10003.15.3"
    # YAZ's private character set by name, carried as octet-aligned text.
    YAZ_CHARSET_NAME = "1.2.840.10003.15.1000.81.1"
    # ISO 10646 transfer forms: 1.0.10646.1.0.<form>
    UCS2 = "1.0.10646.1.0.2"
    UCS4 = "1.0.10646.1.0.4"
    UTF16 = "1.0.10646.1.0.5"
    UTF8 = "1.0.10646.1.0.8"


# ----------------------------------------------------------- EXTERNALs


def external_octets(oid: str, data: bytes) -> dict:
    """An EXTERNAL whose content is ``data`` as is (octet-aligned)."""
    return {"direct-reference": oid, "encoding": ("octet-aligned", bytes(data))}


def external_asn1(oid: str, type_name: str, value: Any,
                  charset: str = "utf-8") -> dict:
    """An EXTERNAL carrying ``value`` BER-encoded as ``type_name`` of our
    ASN.1 text (single-ASN1-type)."""
    return {"direct-reference": oid,
            "encoding": ("single-ASN1-type", encode_type(type_name, value, charset))}


def name_plus_record(external: dict, database: str | None = None) -> dict:
    """A NamePlusRecord holding a retrieval record, for ``responseRecords``."""
    value: dict = {"record": ("retrievalRecord", external)}
    if database is not None:
        value["name"] = database
    return value


def default_diagnostic(condition: int, addinfo: str = "",
                       diagnostic_set: str = Oid.BIB1_DIAGNOSTICS) -> dict:
    """A DefaultDiagFormat (v3 addinfo), e.g. for ``nonSurrogateDiagnostic``."""
    return {"diagnosticSetId": diagnostic_set, "condition": condition,
            "addinfo": ("v3Addinfo", addinfo)}


def surrogate_diagnostic(condition: int, addinfo: str = "",
                         database: str | None = None) -> dict:
    """A NamePlusRecord standing in for one record that cannot be returned."""
    value: dict = {"record": ("surrogateDiagnostic",
                              ("defaultFormat", default_diagnostic(condition, addinfo)))}
    if database is not None:
        value["name"] = database
    return value


# ------------------------------------------------------ retrieval records


def marc21_record(marc: bytes) -> dict:
    """EXTERNAL for one ISO 2709 MARC21 record (the bytes, any encoding)."""
    return external_octets(Oid.MARC21, marc)


def xml_record(xml: bytes | str) -> dict:
    """EXTERNAL for one XML record (MARCXML, DC, ...); str is sent as UTF-8."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    return external_octets(Oid.XML, data)


def sutrs_record(text: str, charset: str = "utf-8") -> dict:
    """EXTERNAL for a SUTRS text record: a GeneralString (SutrsRecord) in
    single-ASN1-type, as yaz-ztest sends it.  Lines end with ``\\n``."""
    return external_asn1(Oid.SUTRS, "SutrsRecord", text, charset)


def opac_record(marc: bytes | None, holdings: list[dict],
                charset: str = "utf-8") -> dict:
    """EXTERNAL for an OPAC record: the bibliographic MARC21 record plus one
    ``HoldingsAndCircData`` dict per holding, e.g.
    ``{"nucCode": "DE-7", "callNumber": "QA76 .K5", "circulationData":
    [{"availableNow": True, "renewable": False, "onHold": False}]}``."""
    value: dict = {"holdingsData": [("holdingsAndCirc", item) for item in holdings]}
    if marc is not None:
        value["bibliographicRecord"] = marc21_record(marc)
    return external_asn1(Oid.OPAC, "OPACRecord", value, charset)


@dataclass(frozen=True)
class DecodedRecord:
    """The content of a retrieval record EXTERNAL.

    ``content`` is bytes for octet-aligned records (MARC21, XML and any
    syntax we do not know), str for SUTRS, and the ``OPACRecord`` dict for
    OPAC (its ``bibliographicRecord`` is again an EXTERNAL; pass it to
    ``decode_record``)."""

    syntax: str | None
    content: bytes | str | dict


# single-ASN1-type syntaxes we can decode: OID -> type in z3950.asn
_ASN1_SYNTAXES = {Oid.SUTRS: "SutrsRecord", Oid.OPAC: "OPACRecord"}


def decode_record(external: dict, charset: str = "utf-8") -> DecodedRecord:
    """Unwrap a retrieval record EXTERNAL.  Raises CodecError for an encoding
    we cannot read (a bit string, or ASN.1 of an unknown syntax)."""
    syntax = external.get("direct-reference")
    form, payload = external["encoding"]
    if form == "octet-aligned":
        return DecodedRecord(syntax, payload)
    if form == "single-ASN1-type" and syntax in _ASN1_SYNTAXES:
        return DecodedRecord(syntax, decode_type(_ASN1_SYNTAXES[syntax], payload, charset))
    raise CodecError(f"cannot read a {form} record of syntax {syntax}")


# -------------------------------------------------- charset negotiation
#
# Negotiation-3 (Z39.50-2003 Appendix 18).  yaz-client and ZOOM put the
# proposal into the InitRequest otherInfo as externallyDefinedInfo; the
# standard allows userInformationField too, so both are searched.  UTF-8 is
# proposed as iso10646 with encodingLevel 1.0.10646.1.0.8; other character
# sets travel as "private", externallySpecified by name (octet-aligned).

_ISO10646_NAMES = {Oid.UTF8: "UTF-8", Oid.UTF16: "UTF-16",
                   Oid.UCS2: "UCS-2", Oid.UCS4: "UCS-4"}


def _charset_choice(name: str) -> tuple:
    for oid, known in _ISO10646_NAMES.items():
        if name.upper() == known:
            return ("iso10646", {"encodingLevel": oid})
    return ("private", ("externallySpecified",
                        external_octets(Oid.YAZ_CHARSET_NAME, name.encode("ascii"))))


def _charset_name(choice: tuple) -> str | None:
    kind, value = choice
    if kind == "iso10646":
        return _ISO10646_NAMES.get(value["encodingLevel"], value["encodingLevel"])
    if kind == "private" and value[0] == "externallySpecified":
        form, payload = value[1]["encoding"]
        if form == "octet-aligned":
            return payload.decode("ascii", "replace")
    return None


def _negotiation_info(negotiation: tuple) -> dict:
    """One OtherInformation element carrying a CharSetandLanguageNegotiation."""
    return {"information": ("externallyDefinedInfo", external_asn1(
        Oid.CHARSET_NEGOTIATION_3, "CharSetandLanguageNegotiation", negotiation))}


def charset_proposal(charsets: Sequence[str] = ("UTF-8",),
                     languages: Sequence[str] = (),
                     records_in_selected_charsets: bool | None = True) -> dict:
    """An element for the InitRequest ``otherInfo`` list proposing
    ``charsets`` (names, in order of preference) as yaz-client does."""
    proposal: dict = {"proposedCharSets": [_charset_choice(name) for name in charsets]}
    if languages:
        proposal["proposedlanguages"] = list(languages)
    if records_in_selected_charsets is not None:
        proposal["recordsInSelectedCharSets"] = records_in_selected_charsets
    return _negotiation_info(("proposal", proposal))


def charset_response(charset: str | None = "UTF-8", language: str | None = None,
                     records_in_selected_charsets: bool | None = None) -> dict:
    """An element for the InitResponse ``otherInfo`` list selecting
    ``charset`` (None: "none", no negotiation in force)."""
    selected = ("none", None) if charset is None else _charset_choice(charset)
    response: dict = {"selectedCharSets": selected}
    if language is not None:
        response["selectedLanguage"] = language
    if records_in_selected_charsets is not None:
        response["recordsInSelectedCharSets"] = records_in_selected_charsets
    return _negotiation_info(("response", response))


def find_charset_negotiation(init: dict) -> tuple[str, dict] | None:
    """The CharSetandLanguageNegotiation in an Init request or response value
    (``("proposal", {...})`` or ``("response", {...})``), or None.
    Raises CodecError if it is present but malformed."""
    return charset_negotiation(init.get("otherInfo"), init.get("userInformationField"))


def charset_negotiation(other_info: Iterable[Mapping] | None,
                        user_information: Mapping | None) -> tuple[str, dict] | None:
    """The CharSetandLanguageNegotiation among an Init PDU's otherInfo units and its
    userInformationField EXTERNAL (either may be None), as `find_charset_negotiation`."""
    externals = []
    for info in other_info or ():
        kind, value = info["information"]
        if kind == "externallyDefinedInfo":
            externals.append(value)
    if user_information is not None:
        externals.append(user_information)
    for external in externals:
        form, payload = external["encoding"]
        if (external.get("direct-reference") == Oid.CHARSET_NEGOTIATION_3
                and form == "single-ASN1-type"):
            return decode_type("CharSetandLanguageNegotiation", payload)
    return None


def negotiated_charsets(negotiation: tuple[str, dict]) -> list[str]:
    """Character set names in a negotiation: every proposed one in order of
    preference, or the one selected in a response ([] for "none").  Names are
    "UTF-8", "UTF-16", "UCS-2", "UCS-4", a private name such as
    "ISO-8859-1", or an encodingLevel OID we do not know."""
    kind, value = negotiation
    if kind == "proposal":
        choices = value.get("proposedCharSets", [])
    else:
        choices = [value["selectedCharSets"]] if "selectedCharSets" in value else []
    names = (_charset_name(choice) for choice in choices)
    return [name for name in names if name is not None]
