"""Stored passwords: salted scrypt hashes in one string, checked in constant time."""

from __future__ import annotations

import hmac

import pytest

from index import passwords
from index.passwords import PasswordHash, hash_password


def test_a_hash_verifies_its_password_only() -> None:
    stored = hash_password("correct horse")
    assert stored.verify("correct horse")
    assert not stored.verify("correct hors") and not stored.verify("Correct horse") and not stored.verify("")


def test_each_hash_has_its_own_salt() -> None:
    first, second = hash_password("secret"), hash_password("secret")
    assert first.salt != second.salt and first.key != second.key
    assert len(first.salt) == passwords.SALT_BYTES and len(first.key) == passwords.KEY_BYTES


def test_the_stored_string_holds_the_parameters_and_reads_back() -> None:
    stored = hash_password("päßwörd")
    text = str(stored)
    scheme, n, r, p, _, _ = text.split("$")
    assert (scheme, int(n), int(r), int(p)) == ("scrypt", passwords.N, passwords.R, passwords.P)
    assert PasswordHash.parse(text) == stored and PasswordHash.parse(text).verify("päßwörd")
    assert "päßwörd" not in text


def test_older_parameters_stay_readable() -> None:
    """A hash made with other parameters verifies by the ones in its string."""
    cheap = PasswordHash(2**10, 4, 1, b"0123456789abcdef",
                         passwords._derive("secret", b"0123456789abcdef", 2**10, 4, 1, 32))
    again = PasswordHash.parse(str(cheap))
    assert (again.n, again.r) == (2**10, 4) and again.verify("secret") and not again.verify("secreT")


def test_an_unknown_name_costs_a_derivation_like_a_known_one(monkeypatch) -> None:
    """`check` with no stored hash does the scrypt work of a check, so timing tells no names."""
    derived = []
    original = passwords._derive

    def derive(password: str, salt: bytes, *parameters: int) -> bytes:
        derived.append(parameters)
        return original(password, salt, *parameters)

    stored = hash_password("secret")
    monkeypatch.setattr(passwords, "_derive", derive)
    assert passwords.check(stored, "secret") and not passwords.check(stored, "wrong")
    assert not passwords.check(None, "secret")
    assert len(derived) == 3 and derived[2] == derived[0] == (passwords.N, passwords.R, passwords.P, passwords.KEY_BYTES)


def test_verification_compares_with_compare_digest(monkeypatch) -> None:
    calls = []
    original = hmac.compare_digest

    def compare(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(passwords.hmac, "compare_digest", compare)
    stored = hash_password("secret")
    assert stored.verify("secret") and calls == [(stored.key, stored.key)]


@pytest.mark.parametrize("text", [
    "secret",                                         # plaintext
    "scrypt$16384$8$1$c2FsdHNhbHQ",                   # a part missing
    "bcrypt$16384$8$1$c2FsdHNhbHRzYWx0$" + "A" * 43,  # another scheme
    "scrypt$1000$8$1$c2FsdHNhbHRzYWx0$" + "A" * 43,   # N not a power of 2
    "scrypt$2097152$8$1$c2FsdHNhbHRzYWx0$" + "A" * 43,  # N too large: seconds per login
    "scrypt$16384$x$1$c2FsdHNhbHRzYWx0$" + "A" * 43,
    "scrypt$16384$8$1$c2Fs$" + "A" * 43,              # salt too short
    "scrypt$16384$8$1$c2FsdHNhbHRzYWx0$AAAA",         # hash too short
    "scrypt$16384$8$1$c2FsdHNhbHRzYWx0$" + "!" * 43,  # not base64
])
def test_malformed_stored_strings_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        PasswordHash.parse(text)
