"""Record real Z39.50 PDUs from yaz-client and yaz-ztest (YAZ's test server).

    .venv/bin/python tests/data/pdus/capture.py [--out DIR] [SESSION ...]

Starts ``yaz-ztest`` on a loopback port, and for each scripted session in
``SESSIONS`` runs ``yaz-client`` through a small TCP proxy that relays both
directions unchanged and cuts them into PDUs with our framer.  Each PDU is
saved byte for byte as ``<session>-<nn>-<c|s>-<pdu>.ber`` (``c``: sent by
the client, ``s``: by yaz-ztest), next to this script by default.  A PDU
already saved by an earlier session (the same Init, the same Close) is not
saved again, so numbers have gaps.

Development tool, not part of the test run; rerun it after changing a
session.  Needs the Debian ``yaz`` package.
"""

from __future__ import annotations

import argparse
import selectors
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from zserver.z3950.codec import CodecError, decode_pdu, find_pdu_end

HERE = Path(__file__).resolve().parent

# session name -> (client program, its commands).  "{target}" is replaced
# by the proxy's address, "{record}" by the path of a file holding RECORD.
# yaz-client reads the commands from a file (-f); zoomsh takes them as
# arguments.  yaz-client sessions end with "close", which sends a Close PDU.
SESSIONS: dict[str, tuple[str, list[str]]] = {
    "init-plain": ("yaz-client", ["open {target}", "close"]),
    "init-idpass-charset": ("yaz-client", [
        "authentication alice secret", "negcharset UTF-8",
        "open {target}", "close"]),
    "init-group-charset-lang": ("yaz-client", [
        "authentication alice staff secret", "charset UTF-8", "lang eng",
        "open {target}", "close"]),
    "init-open-auth": ("yaz-client", [
        "authentication opensesame", "open {target}", "close"]),
    "search-rpn": ("yaz-client", [
        "open {target}",
        "find @attr 1=4 @attr 2=3 @attr 3=3 @attr 4=2 @attr 5=100 @attr 6=1 computer",
        "find @and @attr 1=1003 smith @or dylan zimmerman",
        "find @not @attr 1=4 water @attr 1=21 pollution",
        "find @prox 0 3 1 2 k 2 a b",
        "find @prox 1 5 0 4 p 7 @attr 1=4 fish @attr 1=4 chips",
        "find @attr 1=title @attr 2=3 complex",
        "find @attr exp1 1=1 explain",
        "find @attr gils 1=2000 @attr 1=4 mixed",
        "find @attr 1=31 @term numeric 1999",
        'find @attr 1=4 "grüße aus köln"',
        "setnames",
        "find @attr 1=4 dinosaur",
        "find @and @set 10 @attr 1=4 bones",
        "close"]),
    "search-ccl": ("yaz-client", [
        "querytype ccl", "open {target}", "find ti=computer and au=knuth",
        "close"]),
    "present-usmarc": ("yaz-client", [
        "open {target}", "find @attr 1=4 computer", "format usmarc",
        "elements F", "show 1+2", "close"]),
    "present-xml": ("yaz-client", [
        "open {target}", "find @attr 1=4 computer", "format xml", "show 1",
        "close"]),
    "present-sutrs": ("yaz-client", [
        "open {target}", "find @attr 1=4 computer", "format sutrs",
        "elements B", "show 1", "close"]),
    "present-opac": ("yaz-client", [
        "open {target}", "find @attr 1=4 computer", "format opac",
        "show 1+2", "close"]),
    "piggyback": ("yaz-client", [
        "ssub 5", "lslb 100", "mspn 3", "format usmarc", "elements B",
        "open {target}", "find @attr 1=4 computer", "close"]),
    "diagnostics": ("yaz-client", [
        "open {target}", "find @attr 1=4 computer", "show 100",
        "base nosuchdb", "find @attr 1=4 computer", "close"]),
    "scan": ("yaz-client", [
        "open {target}", "scansize 5", "scanpos 2",
        "scan @attr 1=4 computer", "scanpos 3", "scan sd", "close"]),
    "sort": ("yaz-client", [
        "open {target}", "find @attr 1=4 computer", "sort 1=4 <",
        "sort title >i 1=1003 <", "close"]),
    "delete": ("yaz-client", [
        "setnames", "open {target}", "find @attr 1=4 a", "find @attr 1=4 b",
        "delete 1", "close"]),
    "itemorder": ("yaz-client", [
        "open {target}", "find @attr 1=4 computer", "itemorder ill 1",
        "close"]),
    "update": ("yaz-client", [
        "open {target}", "update insert id1 <{record}", "close"]),
    "update-marc21": ("yaz-client", [
        "base A", "open {target}", "update replace id2 <{marc}",
        "update delete none <{marc}", "update update none <{marc}", "update0 insert id2 <{marc}",
        "close"]),
    "zoomsh-charset": ("zoomsh", [
        "set charset UTF-8", "set preferredRecordSyntax usmarc",
        "connect {target}", "search @attr 1=4 computer", "show 0 2",
        "scan @attr 1=4 comp", "quit"]),
}

RECORD = """\
<record xmlns="http://www.loc.gov/MARC21/slim">
  <leader>00000nam a2200000 a 4500</leader>
  <controlfield tag="001">id1</controlfield>
  <datafield tag="245" ind1="1" ind2="0">
    <subfield code="a">Grüße aus Köln</subfield>
  </datafield>
</record>
"""

# The same record, id2, as ISO 2709 in UTF-8 (leader/09 "a"), with an 852 of library A.
MARC21 = ("00097nam a2200061 a 4500001000400000245002200004852000900026\x1e"
          "id2\x1e10\x1faGrüße aus Köln\x1e  \x1faA\x1fj7\x1e\x1d").encode()

# yaz-ztest answers Scan from a file "dummy-words" in its working directory:
# sorted upper-case "TERM:hits" lines; the term SD gives a surrogate
# diagnostic.
DUMMY_WORDS = """\
BONES:3
CHIPS:1
COMPLEX:2
COMPUTATION:4
COMPUTER:23
COMPUTERS:7
COMPUTING:5
DINOSAUR:1
FISH:2
KNUTH:9
MIXED:1
POLLUTION:6
SD:1
WATER:8
"""


def _pdu_name(pdu: bytes) -> str:
    try:
        return decode_pdu(pdu)[0]
    except CodecError:
        return "undecodable"


def _relay(client: socket.socket, upstream: socket.socket,
           out: Path, prefix: str, seen: set[bytes]) -> None:
    """Relay until both sides have closed, saving each PDU seen."""
    buffers = {client: bytearray(), upstream: bytearray()}
    peer = {client: upstream, upstream: client}
    side = {client: "c", upstream: "s"}
    count = 0
    selector = selectors.DefaultSelector()
    for sock in buffers:
        selector.register(sock, selectors.EVENT_READ)
    open_socks = 2
    while open_socks:
        for key, _ in selector.select(timeout=30):
            sock = key.fileobj
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                selector.unregister(sock)
                open_socks -= 1
                try:
                    peer[sock].shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                continue
            try:
                peer[sock].sendall(data)
            except OSError:
                pass
            buf = buffers[sock]
            buf.extend(data)
            while (end := find_pdu_end(bytes(buf))) is not None:
                pdu = bytes(buf[:end])
                del buf[:end]
                count += 1
                if pdu in seen:
                    continue
                seen.add(pdu)
                name = f"{prefix}-{count:02d}-{side[sock]}-{_pdu_name(pdu)}.ber"
                (out / name).write_bytes(pdu)
                print(f"  {name} ({len(pdu)} bytes)")


def _proxy_once(server: socket.socket, upstream_port: int,
                out: Path, prefix: str, seen: set[bytes]) -> None:
    client, _ = server.accept()
    upstream = socket.create_connection(("127.0.0.1", upstream_port))
    with client, upstream:
        _relay(client, upstream, out, prefix, seen)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_session(name: str, ztest_port: int, out: Path, workdir: Path,
                seen: set[bytes]) -> None:
    program, commands = SESSIONS[name]
    record = workdir / "record.xml"
    record.write_text(RECORD, encoding="utf-8")
    with socket.create_server(("127.0.0.1", 0)) as server:
        target = f"tcp:127.0.0.1:{server.getsockname()[1]}"
        marc = workdir / "record.mrc"   # ISO 2709 (yaz-client labels it XML all the same)
        marc.write_bytes(MARC21)
        commands = [command.format(target=target, record=record, marc=marc)
                    for command in commands]
        proxy = threading.Thread(
            target=_proxy_once, args=(server, ztest_port, out, name, seen))
        proxy.start()
        with tempfile.NamedTemporaryFile("w", suffix=".cmd") as script:
            if program == "yaz-client":
                script.write("\n".join([*commands, "quit"]) + "\n")
                script.flush()
                argv = ["yaz-client", "-f", script.name]
            else:
                argv = [program, *commands]
            subprocess.run(argv, stdout=subprocess.DEVNULL, timeout=60,
                           check=False)
        proxy.join(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("sessions", nargs="*", default=list(SESSIONS))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    ztest_port = _free_port()
    with tempfile.TemporaryDirectory() as workdir:
        (Path(workdir) / "dummy-words").write_text(DUMMY_WORDS)
        ztest = subprocess.Popen(
            ["yaz-ztest", "-l", "/dev/null", f"tcp:127.0.0.1:{ztest_port}"],
            cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seen: set[bytes] = set()
        try:
            time.sleep(0.5)
            for name in args.sessions:
                print(name)
                run_session(name, ztest_port, args.out, Path(workdir), seen)
        finally:
            ztest.terminate()
            ztest.wait()


if __name__ == "__main__":
    main()
