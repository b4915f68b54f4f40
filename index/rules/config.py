"""`[virtual.CODE]` of unikat.toml: virtual libraries whose holdings a rule builds.

    [virtual.LFER]
    name = "LFER: licence-free electronic resources"
    rule = "lfer"            # one of RULES (default "lfer")

Parsed here and wrapped by `index.config` (a `ValueError` becomes its `ConfigError`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

RULES = ("lfer",)
"""Rules a virtual library's holdings can be built by (`index.rules.lfer`)."""


@dataclass(frozen=True)
class VirtualLibraryConfig:
    """`[virtual.CODE]`: a library whose holdings `rule` builds from the titles."""

    code: str
    name: str
    rule: str = "lfer"


def parse_virtual(tables: Mapping[str, Any], libraries: Collection[str]) -> dict[str, VirtualLibraryConfig]:
    """The `[virtual.*]` tables checked; `ValueError` names the table, the key and what is allowed."""
    virtual = {}
    for code, table in tables.items():
        if not isinstance(table, dict):
            raise ValueError(f"[virtual.{code}] must be a table, not {table!r}")
        if code in libraries:
            raise ValueError(f"[virtual.{code}]: {code} is also in [libraries]; a virtual library delivers"
                             " nothing, its holdings are built by a rule: give it another code")
        for key, value in table.items():
            if key == "name" and not (isinstance(value, str) and value.strip()):
                raise ValueError(f"[virtual.{code}] name: must be a non-empty string, not {value!r}")
            if key == "rule" and value not in RULES:
                raise ValueError(f"[virtual.{code}] rule: must be one of {', '.join(RULES)}, not {value!r}")
            if key not in ("name", "rule"):
                raise ValueError(f"[virtual.{code}] unknown key {key!r} (allowed: name, rule)")
        virtual[code] = VirtualLibraryConfig(code, table.get("name", code), table.get("rule", "lfer"))
    return virtual
