"""An ILL reader's login (access number and password) under the worker's `LoginGuard`.

Every interface that takes an access number and password (Z39.50 ItemOrder, ISO 18626, the
web order form) checks them here, so failed ILL logins count and lock out like every other
login of the worker (`zserver.logins`: per access number and per client address), instead of
offering a password guesser an unlimited stream of tries. The password is compared with the
account's stored scrypt hash (`index.ill`); it is never logged.
"""

from __future__ import annotations

from index.ill import Account, IllRefused, IllService, Refusal
from zserver.logins import LoginGuard, LoginRefused

__all__ = ["ill_account"]


def ill_account(service: IllService, guard: LoginGuard, access_number: str, password: str,
                address: str | None) -> Account:
    """The account of `access_number` when `password` is right; IllRefused(BAD_CREDENTIALS)
    otherwise, or while the number or the address is locked out (the reason says until when)."""
    access_number = access_number.strip()
    stored = service.password_hash(access_number)
    try:
        guard.login({access_number: stored} if stored is not None else {}, access_number, password, address)
    except LoginRefused as refused:
        locked = refused.retry_after is not None
        raise IllRefused(Refusal.BAD_CREDENTIALS, f"Login refused: {refused.reason}." if locked
                         else "Wrong access number or password.") from None
    return service.account(access_number)
