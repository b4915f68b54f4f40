"""Stored passwords: salted scrypt hashes, written by `unikat user set-password` and checked at login.

This module owns the stored form `scrypt$N$r$p$SALT$HASH` (SALT and HASH in unpadded
URL-safe base64) and the one comparison of a password against it. It knows no protocol, no
clock and no file: `[users.NAME] password_hash` in unikat.toml holds the string
(`index.config`), the servers call `PasswordHash.verify`.

Why scrypt (RFC 7914, `hashlib.scrypt`): it is in the standard library and memory-hard, so a
guessing rig pays in memory as well as in time, which PBKDF2 does not ask. N=2^14, r=8, p=1
needs 16 MiB and about 45 ms of one core here: one login costs a worker that much, and a
guesser with the stolen file gets about 20 guesses a second per core. The parameters are
part of each stored string, so raising them later leaves older hashes readable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

__all__ = ["PasswordHash", "check", "hash_password"]

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1
SALT_BYTES = 16
KEY_BYTES = 32
_MAX_N = 2**20              # beyond this a stored string could make one login take seconds


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class PasswordHash:
    """One stored password: scrypt parameters, salt and derived key."""

    n: int
    r: int
    p: int
    salt: bytes
    key: bytes

    @classmethod
    def parse(cls, text: str) -> PasswordHash:
        """The hash of a stored string `scrypt$N$r$p$SALT$HASH`; ValueError says what is wrong."""
        parts = text.split("$")
        if len(parts) != 6 or parts[0] != SCHEME:
            raise ValueError("not a password hash of the form scrypt$N$r$p$salt$hash")
        try:
            n, r, p = (int(part) for part in parts[1:4])
            salt, key = _unb64(parts[4]), _unb64(parts[5])
        except ValueError:
            raise ValueError("not a password hash of the form scrypt$N$r$p$salt$hash") from None
        if not (1 < n <= _MAX_N and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
            raise ValueError(f"scrypt parameters out of range (N a power of 2 up to {_MAX_N}, r 1-32, p 1-16)")
        if len(salt) < 8 or len(key) < 16:
            raise ValueError("salt or hash too short")
        return cls(n, r, p, salt, key)

    def __str__(self) -> str:
        return f"{SCHEME}${self.n}${self.r}${self.p}${_b64(self.salt)}${_b64(self.key)}"

    def verify(self, password: str) -> bool:
        """True when `password` is the one hashed; compared in constant time."""
        return hmac.compare_digest(_derive(password, self.salt, self.n, self.r, self.p, len(self.key)), self.key)


def _derive(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    # maxmem: scrypt needs 128 * r * N bytes (plus a little); OpenSSL's default cap is 32 MiB.
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=129 * r * n + (1 << 20), dklen=length)


def check(stored: PasswordHash | None, password: str) -> bool:
    """Whether `password` is the one `stored` was made from. With no stored hash (an unknown name)
    False, after the same work as a check, so the time of the answer does not tell which names exist."""
    if stored is None:
        _derive(password, os.urandom(SALT_BYTES), N, R, P, KEY_BYTES)
        return False
    return stored.verify(password)


def hash_password(password: str) -> PasswordHash:
    """A new hash of `password` with a fresh random salt and the current parameters."""
    salt = os.urandom(SALT_BYTES)
    return PasswordHash(N, R, P, salt, _derive(password, salt, N, R, P, KEY_BYTES))
