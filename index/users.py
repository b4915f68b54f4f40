"""The `[users.NAME]` tables of unikat.toml, edited in its text: set a password hash, migrate plaintext.

This module owns the one way unikat writes unikat.toml: `unikat user set-password` and
`unikat user migrate` change the lines of one `[users.NAME]` table and leave every other line,
comment and blank as the librarian wrote it (tomllib reads TOML but cannot write it, and a
writer would drop the comments). Each edit is checked by parsing the result: the user's table
holds the new hash and no plaintext, everything else reads as before; otherwise `UsersFileError`
says what to write by hand. Text in, text out: the command reads and writes the file.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

from index.passwords import PasswordHash, hash_password

__all__ = ["UsersFileError", "migrate_plaintext", "set_password_hash"]

_HEADER = re.compile(r"\s*\[(?!\[)(?P<key>.*?)\]\s*(?:#.*)?$")
_ANY_HEADER = re.compile(r"\s*\[")
_PASSWORD_LINE = re.compile(r"\s*(?:password|password_hash|\"password\"|\"password_hash\")\s*=")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class UsersFileError(Exception):
    """unikat.toml cannot be edited safely; the message says why and what to write by hand."""


def _table_path(key: str) -> list[str] | None:
    """The key path of a table header's key text (`users."a b"` -> ["users", "a b"])."""
    try:
        data: Any = tomllib.loads(f"[{key}]\n")
    except tomllib.TOMLDecodeError:
        return None
    path = []
    while isinstance(data, dict) and len(data) == 1:
        name, data = next(iter(data.items()))
        path.append(name)
    return path


def _quoted(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) else json.dumps(name, ensure_ascii=False)


def _parse(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UsersFileError(f"not valid TOML ({error}); fix it first") from None


def _without_user(data: dict[str, Any], name: str) -> dict[str, Any]:
    users = {key: value for key, value in data.get("users", {}).items() if key != name}
    rest = {key: value for key, value in data.items() if key != "users"}
    return {**rest, "users": users} if users else rest


def set_password_hash(text: str, name: str, stored: PasswordHash) -> str:
    """`text` with `[users.NAME]` holding `password_hash = "<stored>"` and no `password` line;
    the table is added at the end when there is none. Raises UsersFileError."""
    before = _parse(text)
    line = f'password_hash = "{stored}"\n'
    lines = text.splitlines(keepends=True)
    start = next((number for number, header in enumerate(lines)
                  if (match := _HEADER.match(header)) and _table_path(match["key"]) == ["users", name]), None)
    if start is None:
        ending = "" if not text or text.endswith("\n") else "\n"
        edited = f"{text}{ending}\n[users.{_quoted(name)}]\n{line}"
    else:
        end = next((number for number in range(start + 1, len(lines)) if _ANY_HEADER.match(lines[number])),
                   len(lines))
        body = [entry for entry in lines[start + 1:end] if not _PASSWORD_LINE.match(entry)]
        edited = "".join(lines[:start + 1] + [line] + body + lines[end:])
    after = _parse_edit(edited, name, stored)
    if _without_user(after, name) != _without_user(before, name) or set(after["users"][name]) != (
            set(before.get("users", {}).get(name, {})) - {"password"}) | {"password_hash"}:
        raise _by_hand(name, stored)
    return edited


def _parse_edit(edited: str, name: str, stored: PasswordHash) -> dict[str, Any]:
    try:
        after = tomllib.loads(edited)
    except tomllib.TOMLDecodeError:
        raise _by_hand(name, stored) from None
    table = after.get("users", {}).get(name, {})
    if table.get("password_hash") != str(stored) or "password" in table:
        raise _by_hand(name, stored)
    return after


def _by_hand(name: str, stored: PasswordHash) -> UsersFileError:
    return UsersFileError(f"cannot find a plain [users.{_quoted(name)}] table to edit (written as dotted keys or"
                          f" inline?); put this line into it by hand and remove any password line:\n"
                          f'password_hash = "{stored}"')


def migrate_plaintext(text: str) -> tuple[str, list[str]]:
    """`text` with every plaintext `[users.NAME] password` replaced by a salted hash of it,
    and the names migrated. Raises UsersFileError."""
    names = []
    for name, table in _parse(text).get("users", {}).items():
        if isinstance(table, dict) and isinstance(table.get("password"), str):
            text = set_password_hash(text, name, hash_password(table["password"]))
            names.append(name)
    return text, names
