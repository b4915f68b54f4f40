"""The vocabulary of interlibrary loan: order kinds and states, orders, accounts, refusals.

This module owns the value types every other part of `index.ill` and every interface (Z39.50
ItemOrder, ISO 18626, the web page, the staff CLI) speak: frozen dataclasses and enums, no
SQL and no rules. A refusal is an `IllRefused` whose `reason` is a `Refusal` member, so each
interface maps it onto its own codes in one table, and whose text says why, for a person.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Account", "Article", "Attempt", "Event", "IllError", "IllRefused", "Kind", "Order",
           "OrderRequest", "PlacedOrder", "Refusal", "Status"]


class Kind(StrEnum):
    """A loan of the item, or a copy of part of it (an article: GBV's "Kopie")."""

    LOAN = "loan"
    COPY = "copy"


class Status(StrEnum):
    """Where an order is. The names follow ISO 18626's SupplyingAgencyMessage status values
    where one fits; the last four are unikat's own."""

    REQUEST_RECEIVED = "RequestReceived"       # at a supplier, no answer yet
    EXPECT_TO_SUPPLY = "ExpectToSupply"        # the supplier said it will supply
    LOANED = "Loaned"                          # shipped as a loan
    COPY_COMPLETED = "CopyCompleted"           # shipped as a copy
    RECEIVED = "Received"                      # the requester has it (RequestingAgencyMessage)
    SHIPPED_RETURN = "ShippedReturn"           # the requester sent the loan back
    LOAN_COMPLETED = "LoanCompleted"           # the supplier has it back
    CANCELLED = "Cancelled"
    CENTRAL_DESK = "CentralDesk"               # a free order, waiting at the central ILL desk
    RETURNED = "ReturnedToRequester"           # every holder refused or let the deadline pass

    @property
    def open(self) -> bool:
        """An order still waiting at a supplier (counts against its maximum of open orders)."""
        return self in (Status.REQUEST_RECEIVED, Status.EXPECT_TO_SUPPLY)


class Refusal(StrEnum):
    """Why an ILL action was refused; each interface maps these onto its own codes."""

    BAD_CREDENTIALS = "bad-credentials"
    ACCOUNT_EXISTS = "account-exists"
    UNKNOWN_LIBRARY = "unknown-library"
    UNKNOWN_RECORD = "unknown-record"
    NOT_LENDABLE = "not-lendable"              # no lendable holding outside the home library
    HELD_LOCALLY = "held-locally"              # the home library has a lendable copy
    BALANCE = "balance"                        # not enough units
    QUOTA = "quota"                            # the access number's orders are used up
    MISSING_DATA = "missing-data"              # a mandatory field is empty
    NOT_IN_HOLDINGS = "not-in-holdings"        # year/volume outside every holdings statement
    UNKNOWN_ORDER = "unknown-order"
    NOT_SUPPLIER = "not-supplier"              # the library answering is not the current supplier
    WRONG_STATE = "wrong-state"                # e.g. shipping an order that was cancelled
    BAD_VALUE = "bad-value"
    DUPLICATE = "duplicate"                    # the requester's own id names an order placed already


class IllError(Exception):
    """Base of what `index.ill` raises on purpose."""


class IllRefused(IllError):
    """An ILL action refused: `reason` for programs, `str(error)` (never a password) for people."""

    def __init__(self, reason: Refusal, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Article:
    """The part of a journal (or book) wanted as a copy. Title and author or pages are
    mandatory; year or volume is checked against the holdings statements."""

    title: str = ""
    author: str = ""
    pages: str = ""
    year: str = ""
    volume: str = ""
    issue: str = ""

    def __bool__(self) -> bool:
        return any((self.title, self.author, self.pages, self.year, self.volume, self.issue))


@dataclass(frozen=True)
class OrderRequest:
    """What a user asks for. `isn` None (or a title without holdings) with `free` set is a
    free order: `title_text` then carries the user's own description. `via` names the
    interface (web, z3950, iso18626, cli); `external_id` is the requester system's own id
    (ISO 18626 requestingAgencyRequestId)."""

    access_number: str
    password: str
    isn: int | None = None
    article: Article = Article()
    free: bool = False
    title_text: str = ""
    note: str = ""
    via: str = "cli"
    external_id: str = ""

    def __repr__(self) -> str:   # never show the password, not even in a traceback
        return (f"OrderRequest(access_number={self.access_number!r}, isn={self.isn!r}, free={self.free!r},"
                f" via={self.via!r})")


@dataclass(frozen=True)
class Account:
    """A user account: access number (library card number), home library, units, and an
    optional fixed quota of orders (None: none)."""

    access_number: str
    home_library: str
    name: str
    balance: int
    quota: int | None
    orders_placed: int


@dataclass(frozen=True)
class Attempt:
    """One supplier tried: when it got the order, its answer and why."""

    library: str
    call_number: str
    sent: str
    deadline: str
    answered: str = ""
    answer: str = ""          # supplied | unfilled | expired | (empty: waiting)
    reason: str = ""


@dataclass(frozen=True)
class Event:
    time: str
    status: Status
    library: str
    note: str


@dataclass(frozen=True)
class Order:
    number: str
    access_number: str
    home_library: str
    isn: int | None
    isbd: str
    kind: Kind
    article: Article
    free: bool
    status: Status
    supplier: str             # the current supplier (empty when none)
    deadline: str             # the current supplier's deadline (UTC, ISO 8601)
    units: int
    created: str
    shipped: str
    via: str
    external_id: str
    note: str
    attempts: tuple[Attempt, ...] = ()
    history: tuple[Event, ...] = ()

    @property
    def left_network(self) -> bool:
        """The order is no longer with a library of the network: returned to the requester
        unfilled, or (free order) handed to the central desk for ordering outside."""
        return self.status in (Status.RETURNED, Status.CANCELLED)

    @property
    def reasons(self) -> tuple[str, ...]:
        """Every negative answer with its supplier, as shown when the order comes back."""
        return tuple(f"{a.library}: {a.answer} ({a.reason})" if a.reason else f"{a.library}: {a.answer}"
                     for a in self.attempts if a.answer in ("unfilled", "expired"))


@dataclass(frozen=True)
class PlacedOrder:
    """A new order with the account's units before and after."""

    order: Order
    balance_before: int
    balance_after: int
    quota_left: int | None
