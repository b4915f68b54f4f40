"""unikat.toml's [users] tables edited in its text: only the password lines of one table change."""

from __future__ import annotations

import tomllib

import pytest

from index.config import DEFAULT_CONFIG, ConfigError, parse_config
from index.passwords import PasswordHash, hash_password
from index.users import UsersFileError, migrate_plaintext, set_password_hash

FILE = """# unikat configuration
[server]
port = 2100   # the port

[users.librarian]   # the staff account
password = "secret"
# a note kept inside the table

[users."cataloguer two"]
password_hash = "OLD"

[databases]
restricted = ["B"]
"""

STORED = hash_password("new one")


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    return [(old, new) for old, new in zip(before.splitlines(), after.splitlines(), strict=True) if old != new]


def test_set_password_replaces_the_plaintext_line_and_keeps_every_other_line() -> None:
    edited = set_password_hash(FILE, "librarian", STORED)
    assert changed_lines(FILE, edited) == [('password = "secret"', f'password_hash = "{STORED}"')]
    assert tomllib.loads(edited)["users"]["librarian"] == {"password_hash": str(STORED)}


def test_set_password_replaces_an_old_hash_under_a_quoted_name() -> None:
    edited = set_password_hash(FILE, "cataloguer two", STORED)
    assert changed_lines(FILE, edited) == [('password_hash = "OLD"', f'password_hash = "{STORED}"')]


def test_set_password_of_a_new_user_appends_a_table() -> None:
    edited = set_password_hash(FILE, "alice", STORED)
    assert edited.startswith(FILE) and edited[len(FILE):] == f'\n[users.alice]\n{"password_hash"} = "{STORED}"\n'
    edited = set_password_hash("[server]\nport = 1", "o'neil x", STORED)    # no final newline, a quoted name
    assert tomllib.loads(edited)["users"]["o'neil x"]["password_hash"] == str(STORED)


def test_the_default_config_takes_a_user_and_then_parses() -> None:
    config = parse_config(set_password_hash(DEFAULT_CONFIG, "librarian", STORED))
    assert config.users == {"librarian": STORED} and config.users["librarian"].verify("new one")


def test_migrate_hashes_every_plaintext_password_in_place() -> None:
    text = FILE.replace('password_hash = "OLD"', 'password = "two"')
    migrated, names = migrate_plaintext(text)
    assert names == ["librarian", "cataloguer two"]
    users = tomllib.loads(migrated)["users"]
    assert PasswordHash.parse(users["librarian"]["password_hash"]).verify("secret")
    assert PasswordHash.parse(users["cataloguer two"]["password_hash"]).verify("two")
    assert "secret" not in migrated.replace("# the staff account", "") and len(changed_lines(text, migrated)) == 2
    assert migrate_plaintext(migrated) == (migrated, [])


@pytest.mark.parametrize("text", [
    '[users]\nlibrarian.password = "secret"\n',              # dotted keys: no table header to edit
    '[users]\nlibrarian = { password = "secret" }\n',        # an inline table
])
def test_tables_it_cannot_edit_safely_are_left_alone_with_the_line_to_write(text: str) -> None:
    with pytest.raises(UsersFileError) as caught:
        set_password_hash(text, "librarian", STORED)
    assert f'password_hash = "{STORED}"' in str(caught.value)


def test_a_file_that_is_not_toml_is_not_edited() -> None:
    with pytest.raises(UsersFileError, match="not valid TOML"):
        set_password_hash("[server\n", "librarian", STORED)


def test_plaintext_in_the_config_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config('[users.librarian]\npassword = "hunter2"\n')
    message = str(caught.value)
    assert message.startswith("unikat.toml: [users.librarian] password: plaintext passwords are refused;")
    assert "unikat user migrate" in message and "hunter2" not in message


@pytest.mark.parametrize("text, message", [
    ('[users.x]\npassword_hash = "secret"\n',
     "unikat.toml: [users.x] password_hash: must be a hash written by `unikat user set-password`"),
    ("[users.x]\n", "unikat.toml: [users.x] password_hash: missing (must be a hash written by"),
    ('[users.x]\npasswd = "s"\n', "unikat.toml: [users.x] unknown key 'passwd' (allowed: password_hash)"),
    ("[server]\nmax_login_failures = 0\n", "unikat.toml: [server] max_login_failures: must be an integer >= 1"),
    ("[server]\nlogin_lockout = 0\n", "unikat.toml: [server] login_lockout: must be a number of seconds > 0"),
])
def test_user_and_login_mistakes_name_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert str(caught.value).startswith(message)


def test_login_limits_are_read_from_server() -> None:
    server = parse_config("[server]\nmax_login_failures = 3\nlogin_failure_window = 10\nlogin_lockout = 30.5\n").server
    assert (server.max_login_failures, server.login_failure_window, server.login_lockout) == (3, 10.0, 30.5)
    defaults = parse_config(DEFAULT_CONFIG).server
    assert (defaults.max_login_failures, defaults.login_failure_window, defaults.login_lockout) == (5, 60.0, 60.0)
