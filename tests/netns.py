"""Several hosts on this machine: Linux network namespaces joined by veth pairs to one bridge.

`Network.make(names)` gives each name a namespace (`unikat-<name>`) with an address 10.77.0.N/24
on its end of a veth pair whose other end is on the bridge `unikat-br`; the bridge has no address,
so the hosts reach each other and nothing else, and the machine's own network never sees them.
`host.run(...)`/`host.start(...)` run a command inside a host, `host.cut()`/`host.mend()` take
its link down and up (a host cut off), `Network.remove()` takes everything away again.

Needs root and iproute2: `Network.available()` says why not otherwise (the tests skip with it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

__all__ = ["Host", "Network"]

BRIDGE = "unikat-br"
PREFIX = "10.77.0"


def _ip(*arguments: str) -> None:
    subprocess.run(["ip", *arguments], check=True, capture_output=True, text=True)


@dataclass
class Host:
    name: str
    address: str

    @property
    def namespace(self) -> str:
        return f"unikat-{self.name}"

    def command(self, *command: object) -> list[str]:
        return ["ip", "netns", "exec", self.namespace, *map(str, command)]

    def run(self, *command: object, **options) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(*command), capture_output=True, text=True, **options)

    def start(self, *command: object, **options) -> subprocess.Popen:
        return subprocess.Popen(self.command(*command), **options)

    def cut(self) -> None:
        _ip("link", "set", f"{self.name}-br", "down")

    def mend(self) -> None:
        _ip("link", "set", f"{self.name}-br", "up")


class Network:
    def __init__(self, hosts: dict[str, Host]) -> None:
        self.hosts = hosts

    @staticmethod
    def available() -> str:
        """"" when namespaces can be made here, else why not."""
        if os.geteuid() != 0:
            return "network namespaces need root"
        if shutil.which("ip") is None:
            return "no ip command (Debian package iproute2)"
        probe = subprocess.run(["ip", "netns", "add", "unikat-probe"], capture_output=True, text=True)
        if probe.returncode:
            return f"cannot make a network namespace: {probe.stderr.strip()}"
        subprocess.run(["ip", "netns", "del", "unikat-probe"], capture_output=True)
        return ""

    @classmethod
    def make(cls, names: list[str]) -> Network:
        network = cls({name: Host(name, f"{PREFIX}.{number}") for number, name in enumerate(names, 1)})
        network.remove()   # what an earlier run that was killed left behind
        try:
            _ip("link", "add", BRIDGE, "type", "bridge")
            _ip("link", "set", BRIDGE, "up")
            for host in network.hosts.values():
                _ip("netns", "add", host.namespace)
                _ip("link", "add", f"{host.name}-br", "type", "veth", "peer", "name", f"{host.name}-eth")
                _ip("link", "set", f"{host.name}-br", "master", BRIDGE)
                _ip("link", "set", f"{host.name}-br", "up")
                _ip("link", "set", f"{host.name}-eth", "netns", host.namespace)
                _ip("netns", "exec", host.namespace, "ip", "addr", "add", f"{host.address}/24", "dev", f"{host.name}-eth")
                _ip("netns", "exec", host.namespace, "ip", "link", "set", f"{host.name}-eth", "up")
                _ip("netns", "exec", host.namespace, "ip", "link", "set", "lo", "up")
        except BaseException:
            network.remove()
            raise
        return network

    def remove(self) -> None:
        for host in self.hosts.values():
            subprocess.run(["ip", "netns", "del", host.namespace], capture_output=True)
            subprocess.run(["ip", "link", "del", f"{host.name}-br"], capture_output=True)
        subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True)
