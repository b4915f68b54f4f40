"""A minimal blocking Z39.50 client on unikat's own codec, for benchmarks and smoke checks.

One socket, one request at a time: Init, Search (PQF), Present, Scan, Close. It is the load
generator of bench/z3950.py; its hit counts are checked against zoomsh there.
"""

from __future__ import annotations

import socket

from zserver.querylang.pqf import parse_pqf
from zserver.querylang.rpn import rpn_to_asn1
from zserver.z3950.codec import bit_string, decode_pdu, encode_pdu, find_pdu_end
from zserver.z3950.records import Oid

SYNTAXES = {"usmarc": Oid.MARC21, "xml": Oid.XML, "sutrs": Oid.SUTRS, "opac": Oid.OPAC}


class ZClient:
    def __init__(self, host: str, port: int, database: str = "Default", timeout: float = 30.0) -> None:
        self.database = database
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""
        self.last_answer = b""
        name, init = self.request("initRequest", {
            "protocolVersion": bit_string([0, 1, 2]),
            "options": bit_string([0, 1, 2, 4, 7, 8, 14]),
            "preferredMessageSize": 8 * 1024 * 1024,
            "exceptionalRecordSize": 8 * 1024 * 1024,
            "implementationName": "unikat bench client",
        })
        if name != "initResponse" or not init["result"]:
            raise ConnectionError(f"init refused: {name}")

    def request(self, name: str, value: dict) -> tuple[str, dict]:
        self.sock.sendall(encode_pdu(name, value))
        while True:
            end = find_pdu_end(self._buffer)
            if end is not None:
                pdu, self._buffer = self._buffer[:end], self._buffer[end:]
                self.last_answer = pdu   # as sent (bench/floor.py replays it)
                return decode_pdu(pdu)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self._buffer += chunk

    def search(self, pqf: str, result_set: str = "default") -> int:
        """Hit count of a PQF query (-1 when the server answered with a diagnostic)."""
        _, response = self.request("searchRequest", {
            "smallSetUpperBound": 0, "largeSetLowerBound": 1, "mediumSetPresentNumber": 0,
            "replaceIndicator": True, "resultSetName": result_set, "databaseNames": [self.database],
            "query": ("type-1", rpn_to_asn1(parse_pqf(pqf))),
        })
        return response["resultCount"] if response.get("searchStatus") else -1

    def present(self, start: int, count: int, syntax: str = "usmarc", result_set: str = "default") -> int:
        """Number of records returned."""
        _, response = self.request("presentRequest", {
            "resultSetId": result_set, "resultSetStartPoint": start, "numberOfRecordsRequested": count,
            "recordComposition": ("simple", ("genericElementSetName", "F")),
            "preferredRecordSyntax": SYNTAXES[syntax],
        })
        return response.get("numberOfRecordsReturned", 0)

    def scan(self, pqf_term: str, count: int = 10) -> int:
        query = parse_pqf(pqf_term)
        asn1 = rpn_to_asn1(query)
        term = asn1["rpn"][1][1] if asn1["rpn"][0] == "op" else None
        _, response = self.request("scanRequest", {
            "databaseNames": [self.database], "attributeSet": Oid.BIB1_ATTRIBUTES,
            "termListAndStartPoint": term, "numberOfTermsRequested": count, "preferredPositionInResponse": 1,
        })
        return response.get("numberOfEntriesReturned", 0)

    def close(self) -> None:
        try:
            self.request("close", {"closeReason": 0})
        except (ConnectionError, OSError):
            pass
        self.sock.close()
