"""Z39.50 BER codec: framing, and bytes <-> asn1tools values for our ASN.1 text.

This module owns:

- compiling ``z3950.asn`` (our own ASN.1 text) once, with asn1tools' BER codec;
- framing: cutting a connection's bytes into PDUs as they arrive, for definite
  and indefinite lengths, in linear time, with limits on size and BER values
  (``Framer``; ``find_pdu_end`` for one buffer);
- turning one PDU's bytes into ``(alternative name, value)`` and back
  (``decode_pdu``, ``encode_pdu``), and the same for the types carried inside
  EXTERNALs (``decode_type``, ``encode_type``); the PDUs of every session go
  through the hand-written BER of ``fastber.py`` first, everything else (and
  ``*_reference``, for tests and benchmarks) through asn1tools;
- mapping every asn1tools or BER failure to ``CodecError`` and its subclasses.

Values are asn1tools' plain Python form: SEQUENCE -> dict keyed by the ASN.1
field names, CHOICE -> ``(name, value)``, SEQUENCE OF -> list, OCTET STRING and
ANY -> bytes, BIT STRING -> ``(bytes, number_of_bits)``, OBJECT IDENTIFIER ->
dotted str, InternationalString -> str (see ``charset`` below).

It must not know sockets, Twisted, sessions or the index: it takes bytes and
returns values, and never decides what a PDU means.  Record and EXTERNAL
helpers live in ``records.py``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

import asn1tools
from asn1tools.codecs.ber import DecodeTagError

from zserver.querylang.errors import MAX_QUERY_DEPTH
from zserver.z3950 import fastber

__all__ = [
    "DEFAULT_MAX_PDU_ELEMENTS",
    "DEFAULT_MAX_PDU_SIZE",
    "CodecError",
    "FramingError",
    "Framer",
    "PduTooLargeError",
    "TooManyElementsError",
    "UnknownPduError",
    "bit_string",
    "bit_string_positions",
    "decode_pdu",
    "decode_pdu_reference",
    "decode_type",
    "encode_pdu",
    "encode_pdu_reference",
    "encode_type",
    "find_pdu_end",
    "specification",
]

ASN1_FILE = Path(__file__).with_name("z3950.asn")

#: Default refusal size for one incoming PDU, in bytes.
DEFAULT_MAX_PDU_SIZE = 16 * 1024 * 1024

#: Default most BER values in one incoming PDU (yaz-client's search for one term with six
#: attributes has 33; a thousand such terms ORed together about 25,000).
DEFAULT_MAX_PDU_ELEMENTS = 100_000

# Deepest nesting of BER values we follow.  Real PDUs nest about 10 deep, plus
# one level per boolean operator of an RPN query: past the MAX_QUERY_DEPTH
# operators a query may nest, so a deeper query gets its diagnostic (Bib-1 6)
# rather than a Close (with `allow_deep_queries`); garbage like a0 80 a0 80 ...
# must not exhaust the stack.
_MAX_DEPTH = MAX_QUERY_DEPTH + 60


# Longest identifier (after the first byte) and length-of-length we accept.
_MAX_TAG_BYTES = 4
_MAX_LENGTH_BYTES = 4

_CONTEXT_CLASS = 2

# decode_pdu gets one whole PDU; its size was checked while framing.
_NO_LIMIT = 1 << 62


class CodecError(Exception):
    """The bytes are not a valid PDU for our ASN.1 text, or a value cannot be
    encoded.  ``str(error)`` is a short readable reason."""


class FramingError(CodecError):
    """The buffer does not start with a well-formed BER PDU (garbage)."""


class PduTooLargeError(FramingError):
    """The PDU's declared or accumulated size exceeds the allowed maximum."""


class TooManyElementsError(FramingError):
    """The PDU holds more BER values than allowed (a bound on the work per PDU)."""


class UnknownPduError(CodecError):
    """A well-formed PDU whose tag is not one we compile (e.g. accessControl)."""

    def __init__(self, tag: int) -> None:
        super().__init__(f"unsupported PDU with tag [{tag}]")
        self.tag = tag


@functools.cache
def specification() -> asn1tools.compiler.Specification:
    """The compiled BER specification of ``z3950.asn`` (built once)."""
    return asn1tools.compile_files(str(ASN1_FILE), "ber")


# ---------------------------------------------------------------- framing


class _Header(NamedTuple):
    tag_class: int  # 0 universal, 1 application, 2 context, 3 private
    constructed: bool
    tag: int
    tag_end: int  # offset just after the identifier octets
    length: int | None  # None: indefinite length
    content: int  # offset of the first content octet


def _read_header(buf: bytes, offset: int) -> _Header | None:
    """Parse the BER identifier and length octets at ``offset`` (X.690 8.1.2,
    8.1.3).  None if ``buf`` ends before they do; FramingError if malformed."""
    size = len(buf)
    if offset >= size:
        return None
    first = buf[offset]
    pos = offset + 1
    tag = first & 0x1F
    if tag == 0x1F:  # high tag number form: base-128 digits, last one < 0x80
        tag = 0
        for _ in range(_MAX_TAG_BYTES):
            if pos >= size:
                return None
            byte = buf[pos]
            pos += 1
            tag = (tag << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        else:
            raise FramingError("tag number too long")
    tag_end = pos
    if pos >= size:
        return None
    constructed = bool(first & 0x20)
    byte = buf[pos]
    pos += 1
    if byte < 0x80:
        length: int | None = byte
    elif byte == 0x80:
        if not constructed:
            raise FramingError("indefinite length on a primitive value")
        length = None
    elif byte == 0xFF:
        raise FramingError("reserved length octet 0xFF")
    else:
        count = byte & 0x7F
        if count > _MAX_LENGTH_BYTES:
            raise FramingError(f"length of length too big ({count} octets)")
        if pos + count > size:
            return None
        length = int.from_bytes(buf[pos:pos + count], "big")
        pos += count
    return _Header(first >> 6, constructed, tag, tag_end, length, pos)


class Framer:
    """Cuts the byte stream of one connection into PDUs, in time linear in the bytes received.

    `receive_data(bytes)` stores what arrived; `next_pdu()` returns the bytes of the next
    complete PDU, or None until more bytes are needed. Definite and indefinite lengths are both
    followed. Between calls the framer keeps where its walk stopped (the offset, and the
    values still open), so each byte is read once however the stream is chunked: walking the
    whole buffer again per chunk made an endless indefinite-length PDU cost quadratic time
    (issue 16).

    Work per PDU is bounded by `max_size` bytes (PduTooLargeError as soon as the PDU must end
    beyond it) and by `max_elements` BER values (TooManyElementsError), so a PDU of tiny values
    (``04 00`` is a whole OCTET STRING) costs at most that many steps here and in the decoder.
    A definite-length PDU too small to hold more than `max_elements` values (every value takes
    two bytes or more) is skipped by its length, as any PDU yaz-client sends; an
    indefinite-length or larger one is walked value by value and counted. `max_elements` None
    counts nothing and skips every definite-length value (``find_pdu_end``).

    After FramingError (malformed BER, or not a Z39.50 PDU) or its subclasses the framer is
    stuck on the same bytes until `clear()`.
    """

    def __init__(self, max_size: int = DEFAULT_MAX_PDU_SIZE,
                 max_elements: int | None = DEFAULT_MAX_PDU_ELEMENTS) -> None:
        self.max_size = max_size
        self.max_elements = max_elements
        self._buffer = bytearray()
        self._restart()

    def _restart(self) -> None:
        """Forget the walk: the next PDU starts at offset 0 of the buffer."""
        self._pos = 0                       # next offset to read: a header or end-of-contents
        self._open: list[int | None] = []   # ends of the values we are inside; None: indefinite
        self._bounds: list[int | None] = []  # for each, the end of the innermost definite one
        self._depth = 0                     # how many of them are indefinite
        self._elements = 0                  # values counted so far (when walking)
        self._walking = False               # descend into definite-length values and count
        self._end: int | None = None        # where the PDU ends, once known

    def receive_data(self, data: bytes) -> None:
        """Store bytes from the peer."""
        self._buffer += data

    def clear(self) -> None:
        """Drop the buffered bytes and start afresh."""
        self._buffer.clear()
        self._restart()

    def next_pdu(self) -> bytes | None:
        """The bytes of the next complete PDU, removed from the buffer; None while it is
        incomplete. Raises FramingError and its subclasses (see the class)."""
        end = self.pdu_end()
        if end is None:
            return None
        buffer = self._buffer
        data = bytes(buffer) if end == len(buffer) else bytes(buffer[:end])
        del buffer[:end]
        self._restart()
        return data

    def pdu_end(self) -> int | None:
        """Length of the first complete PDU in the buffer (left as it is), None while it is
        incomplete."""
        if self._end is None:
            self._walk()
        end = self._end
        return end if end is not None and end <= len(self._buffer) else None

    def _walk(self) -> None:
        """Read on from where the last call stopped until the PDU's end is known or the bytes
        run out. A skipped value may end beyond them: `_pos` then waits past the buffer."""
        buf, limit, max_elements = self._buffer, self.max_size, self.max_elements
        open_, bounds = self._open, self._bounds
        size = len(buf)
        pos = self._pos
        try:
            while pos <= size:
                bound = bounds[-1] if bounds else None
                if open_:
                    inside = open_[-1]
                    if inside is None:      # indefinite: end-of-contents 00 00, or a child
                        if pos + 2 > limit:
                            raise PduTooLargeError(f"PDU larger than {limit} bytes")
                        if bound is not None and pos + 2 > bound:
                            raise FramingError("value overruns its enclosing length")
                        if pos + 2 > size:
                            return
                        if buf[pos] == 0:
                            if buf[pos + 1] != 0:
                                raise FramingError("bad end-of-contents octets")
                            pos += 2
                            open_.pop()
                            bounds.pop()
                            self._depth -= 1
                            if not open_:
                                self._end = pos
                                return
                            continue
                    elif pos == inside:     # a definite value's children all read
                        open_.pop()
                        bounds.pop()
                        if not open_:
                            self._end = pos
                            return
                        continue
                header = _read_header(buf, pos)
                if bound is not None and (header.content > bound if header is not None else size >= bound):
                    # it cannot end inside the innermost definite value (judged alike whether or
                    # not its header has arrived whole)
                    raise FramingError("value overruns its enclosing length")
                if header is None:
                    return
                if pos == 0 and (header.tag_class != _CONTEXT_CLASS or not header.constructed):
                    raise FramingError(f"not a Z39.50 PDU (first byte {buf[0]:#04x})")
                if max_elements is not None:
                    self._elements += 1
                    if self._elements > max_elements:
                        raise TooManyElementsError(f"PDU of more than {max_elements} BER values")
                if header.length is None:
                    if self._depth >= _MAX_DEPTH:
                        raise FramingError("indefinite-length values nested too deep")
                    open_.append(None)
                    bounds.append(bound)
                    self._depth += 1
                    self._walking = max_elements is not None
                    pos = header.content
                    continue
                end = header.content + header.length
                if end > limit:
                    raise PduTooLargeError(f"PDU larger than {limit} bytes")
                if bound is not None and end > bound:
                    raise FramingError("value overruns its enclosing length")
                if header.constructed and max_elements is not None and (
                        self._walking or (not open_ and 1 + header.length // 2 > max_elements)):
                    self._walking = True
                    open_.append(end)
                    bounds.append(end)
                    pos = header.content
                    continue
                pos = end                   # skip it whole
                if not open_:
                    self._end = pos
                    return
        finally:
            self._pos = pos


def find_pdu_end(buf: bytes, max_size: int = DEFAULT_MAX_PDU_SIZE) -> int | None:
    """Length in bytes of the first complete PDU at the start of ``buf``.

    Returns None while the PDU is incomplete (feed more bytes and ask again);
    bytes after the PDU are left alone.  Definite and indefinite lengths are
    both followed.

    Raises FramingError if ``buf`` does not start like a Z39.50 PDU (which is
    always a context-specific constructed value) or its BER is malformed, and
    PduTooLargeError once the PDU is known to exceed ``max_size`` bytes.

    Each call walks the buffer from its start: for a stream that arrives in
    pieces, keep one ``Framer``.
    """
    framer = Framer(max_size, max_elements=None)
    framer.receive_data(buf)
    return framer.pdu_end()


def _definite_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


def _to_definite(buf: bytes, offset: int, depth: int) -> tuple[bytes, int]:
    """Re-encode the BER value at ``offset`` with definite lengths only;
    returns it and the offset just past the original.

    asn1tools follows indefinite lengths in SEQUENCEs but not inside ANY
    (the EXTERNAL single-ASN1-type), so we normalise before decoding.
    """
    header = _read_header(buf, offset)
    if header is None:
        raise CodecError("truncated value")
    if not header.constructed:
        end = header.content + header.length
        if end > len(buf):
            raise CodecError("truncated value")
        return buf[offset:end], end
    if depth >= _MAX_DEPTH:
        raise CodecError("values nested too deep")
    parts = []
    pos = header.content
    if header.length is None:
        while buf[pos:pos + 2] != b"\x00\x00":
            part, pos = _to_definite(buf, pos, depth + 1)
            parts.append(part)
        end = pos + 2
    else:
        end = header.content + header.length
        while pos < end:
            part, pos = _to_definite(buf, pos, depth + 1)
            parts.append(part)
        if pos != end:
            raise CodecError("value overruns its enclosing length")
    body = b"".join(parts)
    return buf[offset:header.tag_end] + _definite_length(len(body)) + body, end


# ------------------------------------------------------ strings and charset
#
# InternationalString is GeneralString, whose bytes asn1tools reads and
# writes as Latin-1.  Its real character set is what Init negotiated (UTF-8
# for unikat), so decoded str values are re-read in ``charset`` and str
# values to encode are written in it.  Every other string type we use
# (VisibleString, OBJECT IDENTIFIER, CHOICE names) is ASCII, where this is a
# no-op.  A peer sending bytes that are not valid ``charset`` (Latin-1 from
# an old client) keeps the Latin-1 reading rather than failing.


def _from_wire(value: Any, charset: str) -> Any:
    kind = type(value)   # exact types: asn1tools builds only these (and this runs per node)
    if kind is str:
        if value.isascii():
            return value
        try:
            return value.encode("latin-1").decode(charset)
        except UnicodeError:
            return value
    if kind is dict:
        return {key: _from_wire(item, charset) for key, item in value.items()}
    if kind is tuple:
        return tuple(_from_wire(item, charset) for item in value)
    if kind is list:
        return [_from_wire(item, charset) for item in value]
    if kind is bytearray:
        return bytes(value)
    return value


def _to_wire(value: Any, charset: str) -> Any:
    if isinstance(value, str):
        return value.encode(charset).decode("latin-1")
    if isinstance(value, dict):
        return {key: _to_wire(item, charset) for key, item in value.items()}
    if isinstance(value, list):
        return [_to_wire(item, charset) for item in value]
    if isinstance(value, tuple):
        return tuple(_to_wire(item, charset) for item in value)
    return value


# ------------------------------------------------------- decode and encode

# Exceptions asn1tools lets through besides its own when values or bytes are
# malformed (e.g. a str where bytes belong, an undecodable string).
_VALUE_ERRORS = (asn1tools.Error, TypeError, ValueError, KeyError,
                 AttributeError, IndexError, RecursionError)


def _short(error: Exception) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def decode_type(type_name: str, data: bytes, charset: str = "utf-8") -> Any:
    """Decode exactly one BER value of ``type_name`` (e.g. ``"OPACRecord"``,
    the content of an EXTERNAL's single-ASN1-type).  Raises CodecError."""
    try:
        definite, end = _to_definite(bytes(data), 0, 0)
    except (FramingError, IndexError) as error:
        raise CodecError(f"{type_name}: malformed BER ({_short(error)})") from error
    if end != len(data):
        raise CodecError(f"{type_name}: {len(data) - end} bytes after the value")
    try:
        value = specification().decode(type_name, definite)
    except _VALUE_ERRORS as error:
        raise CodecError(f"cannot decode {type_name}: {_short(error)}") from error
    return _from_wire(value, charset)


def encode_type(type_name: str, value: Any, charset: str = "utf-8") -> bytes:
    """BER-encode ``value`` as ``type_name``.  Raises CodecError."""
    try:
        return bytes(specification().encode(type_name, _to_wire(value, charset)))
    except (*_VALUE_ERRORS, UnicodeError) as error:
        raise CodecError(f"cannot encode {type_name}: {_short(error)}") from error


def decode_pdu(data: bytes, charset: str = "utf-8") -> tuple[str, dict]:
    """Decode exactly one PDU (as cut by ``find_pdu_end``).

    Returns the PDU CHOICE alternative (``"initRequest"``, ``"searchRequest"``,
    ...) and its value.  InternationalStrings are read in ``charset``.
    Raises UnknownPduError for a PDU type not in our ASN.1 text, FramingError
    for malformed BER and CodecError for anything else that does not decode.

    The requests of every session are read by ``fastber``; whatever it does
    not take is read by asn1tools (``decode_pdu_reference``), with the same
    result either way.
    """
    data = bytes(data)
    fast = fastber.decode_pdu(data, charset)
    if fast is not None:
        return fast
    return decode_pdu_reference(data, charset)


def decode_pdu_reference(data: bytes, charset: str = "utf-8") -> tuple[str, dict]:
    """``decode_pdu`` by asn1tools alone: the reference the fast path is held to."""
    data = bytes(data)
    end = find_pdu_end(data, max_size=_NO_LIMIT)
    if end is None:
        raise CodecError("truncated PDU")
    if end != len(data):
        raise CodecError(f"{len(data) - end} bytes after the PDU")
    try:   # asn1tools follows indefinite lengths itself, except inside ANY, where it raises
        name, value = specification().decode("PDU", data)
        return name, _from_wire(value, charset)
    except _VALUE_ERRORS:
        pass   # normalise to definite lengths: decodes ANY too, and places errors precisely
    tag = _read_header(data, 0).tag
    definite, _ = _to_definite(data, 0, 0)
    try:
        name, value = specification().decode("PDU", definite)
    except DecodeTagError as error:
        if error.offset == 0:  # only the PDU CHOICE tag sits at offset 0
            raise UnknownPduError(tag) from error
        raise CodecError(f"cannot decode PDU: {_short(error)}") from error
    except _VALUE_ERRORS as error:
        raise CodecError(f"cannot decode PDU: {_short(error)}") from error
    return name, _from_wire(value, charset)


def encode_pdu(name: str, value: dict, charset: str = "utf-8") -> bytes:
    """BER-encode one PDU (definite lengths).  ``name`` is the PDU CHOICE
    alternative, e.g. ``"initResponse"``.  Raises CodecError for a value that
    does not fit the ASN.1 text (a bug on our side, not the peer's).

    The usual responses are written by ``fastber``, byte for byte as
    asn1tools writes them; anything else by asn1tools (``encode_pdu_reference``).
    """
    fast = fastber.encode_pdu(name, value, charset)
    if fast is not None:
        return fast
    return encode_pdu_reference(name, value, charset)


def encode_pdu_reference(name: str, value: dict, charset: str = "utf-8") -> bytes:
    """``encode_pdu`` by asn1tools alone: the reference the fast path is held to."""
    return encode_type("PDU", (name, value), charset)


# ------------------------------------------------------------- BIT STRINGs


def bit_string(positions: Iterable[int], length: int | None = None) -> tuple[bytes, int]:
    """A BIT STRING value with the given bit numbers set (bit 0 first, as in
    ``Options``); ``length`` bits long, default just long enough."""
    positions = set(positions)
    if length is None:
        length = max(positions, default=-1) + 1
    octets = bytearray((length + 7) // 8)
    for position in positions:
        if not 0 <= position < length:
            raise ValueError(f"bit {position} outside a {length}-bit string")
        octets[position // 8] |= 0x80 >> (position % 8)
    return bytes(octets), length


def bit_string_positions(value: tuple[bytes, int]) -> set[int]:
    """The bit numbers set in a decoded BIT STRING value."""
    octets, length = value
    return {bit for bit in range(min(length, len(octets) * 8))
            if octets[bit // 8] & (0x80 >> (bit % 8))}
