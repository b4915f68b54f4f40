"""The interlibrary loan service: accounts, placing orders, answers, deadlines, status.

This module owns the rules of GBV's online ILL (the order form's checks, the account's units
and quota, one supplier at a time) and applies them the same way for every interface: the
Z39.50 ItemOrder, ISO 18626, the web page and `unikat ill` all call `IllService`. It works on
the catalog store's SQLite file (`IllStore` for its tables, `CatalogStore` for titles and
holdings) and takes the time from `clock` (tests pass their own), so it opens no socket and
starts no thread.

Placing an order (`place_order`):

1. the access number and password are checked (scrypt, `index.passwords`; outside the write
   transaction: the hash takes ~45 ms and must not hold the store's write lock); the home
   library is the account's;
2. the title must exist; its bibliographic data are taken from the record, in ISBD; for a copy
   (article data given) the article title and the author or pages are mandatory, and year or
   volume is checked against the holding libraries' holdings statements;
3. a lendable copy in the home library (itself or through a consortium sigel,
   `index.consortia.library_holds`) refuses the order: "your library holds this";
4. only lendable holdings of libraries that lend count; with none the order is refused, unless
   the title has no holdings at all and the user asked for a *free order*, which goes to the
   central desk (`[ill] central_desk`), marked free;
5. in ONE write transaction (`BEGIN IMMEDIATE`): the balance and quota are read again and
   checked, the units (`[ill] units_per_order`) or one order of the quota are taken, the first
   supplier is chosen (`routing.rank`) and the order, its first attempt and its history are
   written. Two orders racing for the last units are serialised by SQLite's write lock: the
   second reads the balance the first left and is refused. Nothing is half-written: an error
   rolls the whole transaction back.

A quota account (access numbers good for N orders) pays with its quota, not with units. Units
are not paid back when an order returns unfilled (GBV charges the order, not the delivery).
Times are UTC ISO 8601 text (`2026-12-02T06:30:00Z`). Passwords are never logged nor kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import replace

from index.config import Config
from index.consortia import library_holds
from index.ill.model import (
    Account,
    Article,
    IllRefused,
    Kind,
    Order,
    OrderRequest,
    PlacedOrder,
    Refusal,
    Status,
)
from index.ill.routing import Holder, Profile, eligible, rank, refusals
from index.ill.rules import check_article, isbd_text
from index.passwords import PasswordHash, check, hash_password
from index.records.formats import parse
from index.records.model import Holding

# The module, not the class: index.store.ill imports index.ill, so IllStore may not exist yet.
from index.store import ill as ill_tables
from index.store.catalog import CatalogStore

__all__ = ["IllService", "iso_time", "profiles_from_config"]


def iso_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def profiles_from_config(config: Config) -> tuple[dict[str, Profile], Profile]:
    """(code -> profile of every configured library, the default profile of the others)."""
    profiles = {code: Profile(code, library.name, library.address, library.ill_region or config.ill.default_region,
                              library.ill_region_order, library.ill_serves, library.ill_prefer, library.ill_lends,
                              library.ill_max_loans, library.ill_max_copies)
                for code, library in config.libraries.items()}
    return profiles, Profile("", region=config.ill.default_region)


class IllService:
    """ILL over one catalog store. Open one per connection that writes (a worker process, a
    CLI command, a test thread): SQLite connections are not shared between threads here."""

    def __init__(self, store: CatalogStore, config: Config,
                 clock: Callable[[], dt.datetime] = _utc_now) -> None:
        self.store = store
        self.config = config
        self.settings = config.ill
        self.clock = clock
        self.tables = ill_tables.IllStore(store)
        self.profiles, self.default_profile = profiles_from_config(config)
        self._consortia = frozenset(config.consortia)

    def profile(self, code: str) -> Profile:
        return self.profiles.get(code) or replace(self.default_profile, code=code, name=code)

    def _now(self) -> str:
        return iso_time(self.clock())

    def _deadline(self) -> str:
        return iso_time(self.clock() + dt.timedelta(days=self.settings.circulation_days))

    # -- accounts -------------------------------------------------------------------------
    def create_account(self, access_number: str, password: str, home_library: str, *, name: str = "",
                       balance: int = 0, quota: int | None = None) -> Account:
        access_number = access_number.strip()
        if not access_number or not access_number.isprintable() or len(access_number) > 64:
            raise IllRefused(Refusal.BAD_VALUE, "An access number is 1 to 64 printable characters.")
        if len(password) < 4:
            raise IllRefused(Refusal.BAD_VALUE, "A password needs at least 4 characters.")
        if home_library not in self.config.libraries:
            raise IllRefused(Refusal.UNKNOWN_LIBRARY, f"No library {home_library!r} in unikat.toml"
                             f" (configured: {', '.join(self.config.libraries) or 'none'}).")
        if balance < 0 or (quota is not None and quota < 0):
            raise IllRefused(Refusal.BAD_VALUE, "Balance and quota cannot be negative.")
        hashed = str(hash_password(password))
        with self.store.transaction():
            if self.tables.account(access_number) is not None:
                raise IllRefused(Refusal.ACCOUNT_EXISTS, f"Access number {access_number} exists already.")
            self.tables.add_account(access_number, hashed, home_library, name, balance, quota, self._now())
        return self.account(access_number)

    def account(self, access_number: str) -> Account:
        found = self.tables.account(access_number.strip())
        if found is None:
            raise IllRefused(Refusal.BAD_CREDENTIALS, f"No account with access number {access_number}.")
        return found

    def credit(self, access_number: str, units: int) -> Account:
        """Add `units` (negative: take them) to the balance; it cannot go below zero."""
        with self.store.transaction():
            account = self.account(access_number)
            if account.balance + units < 0:
                raise IllRefused(Refusal.BALANCE, f"The balance is {account.balance} units; cannot take {-units}.")
            self.tables.set_account(account.access_number, balance=account.balance + units)
        return self.account(access_number)

    def set_quota(self, access_number: str, quota: int | None) -> Account:
        """Give the access number a fixed quota of `quota` orders (None: no quota, units pay)."""
        if quota is not None and quota < 0:
            raise IllRefused(Refusal.BAD_VALUE, "A quota cannot be negative.")
        with self.store.transaction():
            account = self.account(access_number)
            self.tables.set_account(account.access_number, quota=quota, clear_quota=quota is None)
        return self.account(access_number)

    def password_hash(self, access_number: str) -> PasswordHash | None:
        """The stored password hash of an account (None: no such account), for a caller that
        checks logins itself (`zserver.ill_login`, with its lockouts)."""
        stored = self.tables.password_hash(access_number.strip())
        return PasswordHash.parse(stored) if stored else None

    def authenticate(self, access_number: str, password: str) -> Account:
        """The account, when the password is right; IllRefused(BAD_CREDENTIALS) otherwise
        (the same words for an unknown number and a wrong password)."""
        if not check(self.password_hash(access_number), password):
            raise IllRefused(Refusal.BAD_CREDENTIALS, "Wrong access number or password.")
        return self.account(access_number)

    # -- placing orders -------------------------------------------------------------------
    def title(self, isn: int) -> tuple[str, list[Holding]]:
        """(ISBD, holdings) of title `isn`; IllRefused(UNKNOWN_RECORD) when there is none."""
        display = self.store.display(isn)
        if display is None:
            raise IllRefused(Refusal.UNKNOWN_RECORD, f"There is no title {isn} in the catalog.")
        return isbd_text(parse(display)), self.store.holdings(isn)

    def _holders(self, holdings: Iterable[Holding]) -> list[Holder]:
        # a consortium sigel is no library that could ship a copy
        return [Holder(h.library, h.call_number, h.lendable, h.note) for h in holdings
                if h.library not in self._consortia]

    def place_order(self, request: OrderRequest, *, account: Account | None = None) -> PlacedOrder:
        """Check, debit and route a new order (see the module docstring); raises IllRefused.
        `account`: the requester's account when the caller has checked the password already."""
        if account is None:
            account = self.authenticate(request.access_number, request.password)
        elif account.access_number != request.access_number.strip():
            raise IllRefused(Refusal.BAD_CREDENTIALS, "Wrong access number or password.")
        article = request.article
        kind = Kind.COPY if article else Kind.LOAN
        if article:
            check_article(article)
        requester = self.profile(account.home_library)
        free = False
        holders: list[Holder] = []
        if request.isn is None:
            if not request.free:
                raise IllRefused(Refusal.MISSING_DATA, "Name the title to order (or place a free order).")
            if not request.title_text.strip():
                raise IllRefused(Refusal.MISSING_DATA, "A free order needs the title (author, title, year).")
            isbd, free = request.title_text.strip(), True
        else:
            isbd, holdings = self.title(request.isn)
            lendable_here = [h for h in holdings if h.lendable]
            if library_holds(self.config, lendable_here, account.home_library):
                numbers = ", ".join(h.call_number for h in lendable_here if h.call_number
                                    and h.library == account.home_library)
                raise IllRefused(Refusal.HELD_LOCALLY, f"Your library {account.home_library} holds this title"
                                 + (f" (call number {numbers})" if numbers else "") + ": please borrow it there.")
            holders = self._holders(holdings)
            candidates = eligible(holders, requester, self.profiles, self.default_profile, kind, article)
            if not candidates:
                if not holdings and request.free:
                    free = True
                elif not holdings:
                    raise IllRefused(Refusal.NOT_LENDABLE, "No library holds this title: you may place a free order.")
                else:
                    why = refusals(holders, requester, self.profiles, self.default_profile, kind, article)
                    reason = (Refusal.NOT_IN_HOLDINGS if kind is Kind.COPY and any("cover" in w for w in why)
                              else Refusal.NOT_LENDABLE)
                    raise IllRefused(reason, "No library can lend this title: " + "; ".join(why) + ".")
        units = self.settings.units_per_order
        now = self._now()
        with self.store.transaction():
            fresh = self.tables.account(account.access_number)
            assert fresh is not None
            placed = (self.tables.order_by_external(request.external_id, fresh.access_number)
                      if request.external_id else None)
            if placed is not None:   # a replayed message or a second click: never a second order, nor a second debit
                raise IllRefused(Refusal.DUPLICATE, f"This order was placed already as {self.tables.order(placed).number}"
                                 f" ({request.external_id}); it is not placed again.")
            if fresh.quota is not None:
                if fresh.quota <= 0:
                    raise IllRefused(Refusal.QUOTA, f"Access number {fresh.access_number} is used up: its quota of"
                                     f" orders ({fresh.orders_placed} placed) is exhausted.")
                paid, quota_left, balance_after = 0, fresh.quota - 1, fresh.balance
            else:
                if fresh.balance < units:
                    raise IllRefused(Refusal.BALANCE, f"Your balance is {fresh.balance} units; an order costs {units}.")
                paid, quota_left, balance_after = units, None, fresh.balance - units
            status = Status.CENTRAL_DESK if free else Status.REQUEST_RECEIVED
            order_id, _ = self.tables.add_order(
                self.settings.order_prefix, access_number=fresh.access_number, home_library=fresh.home_library,
                isn=request.isn, isbd=isbd, kind=kind, article=article, free=free, status=status, units=paid,
                now=now, via=request.via, external_id=request.external_id, note=request.note)
            self.tables.set_account(fresh.access_number, balance=balance_after, quota=quota_left, placed=1)
            self.tables.add_event(order_id, now, Status.REQUEST_RECEIVED, fresh.home_library,
                                  f"placed via {request.via}; {paid} units" + (" (quota)" if quota_left is not None
                                                                                 else ""))
            if free:
                desk = self.settings.central_desk
                self.tables.set_order(order_id, status=Status.CENTRAL_DESK, supplier=desk, deadline="")
                self.tables.add_event(order_id, now, Status.CENTRAL_DESK, desk, "free order to the central desk")
            else:
                self._route(order_id, requester, holders, kind, article, frozenset(), now)
            order = self.tables.order(order_id)
        return PlacedOrder(order, fresh.balance, balance_after, quota_left)

    def _route(self, order_id: int, requester: Profile, holders: list[Holder], kind: Kind, article: Article,
               tried: frozenset[str], now: str, reasons: str = "") -> None:
        """Pass the order to the next candidate, or back to the requesting library."""
        candidates = eligible(holders, requester, self.profiles, self.default_profile, kind, article, tried)
        if candidates:
            load = self.tables.open_orders([c.library for c in candidates], kind)
            chosen = rank(candidates, requester, self.profiles, self.default_profile, kind, load)[0]
            deadline = self._deadline()
            self.tables.add_attempt(order_id, chosen.library, chosen.call_number, now, deadline)
            self.tables.set_order(order_id, status=Status.REQUEST_RECEIVED, supplier=chosen.library,
                                  deadline=deadline)
            self.tables.add_event(order_id, now, Status.REQUEST_RECEIVED, chosen.library,
                                  f"sent to {chosen.library}, answer due {deadline}")
            return
        self.tables.set_order(order_id, status=Status.RETURNED, supplier="", deadline="")
        self.tables.add_event(order_id, now, Status.RETURNED, requester.code,
                              "returned to the requesting library: " + (reasons or "no holder left"))

    # -- answers and deadlines ------------------------------------------------------------
    def _open(self, number: str) -> tuple[int, Order]:
        order_id = self.tables.order_id(number)
        if order_id is None:
            raise IllRefused(Refusal.UNKNOWN_ORDER, f"There is no order {number}.")
        return order_id, self.tables.order(order_id)

    def order(self, number: str) -> Order:
        return self._open(number)[1]

    def order_by_external(self, external_id: str, access_number: str | None = None) -> Order | None:
        order_id = self.tables.order_by_external(external_id, access_number)
        return None if order_id is None else self.tables.order(order_id)

    def _pass_on(self, order_id: int, order: Order, answer: str, reason: str, now: str) -> None:
        self.tables.close_attempt(order_id, order.supplier, answer, reason, now)
        self.tables.add_event(order_id, now, order.status, order.supplier, f"{answer}: {reason}")
        after = self.tables.order(order_id)
        if order.free:   # the central desk could not get it
            self.tables.set_order(order_id, status=Status.RETURNED, supplier="", deadline="")
            self.tables.add_event(order_id, now, Status.RETURNED, order.home_library,
                                  "returned to the requesting library: " + "; ".join(after.reasons))
            return
        holdings = self.store.holdings(order.isn) if order.isn is not None else []
        tried = frozenset(a.library for a in after.attempts)
        self._route(order_id, self.profile(order.home_library), self._holders(holdings), order.kind, order.article,
                    tried, now, "; ".join(after.reasons))

    def answer(self, number: str, library: str, *, supplied: bool, reason: str = "",
               expect: bool = False) -> Order:
        """The current supplier's answer: supplied (shipped: Loaned or CopyCompleted), will
        supply (`expect`: ExpectToSupply), or unfilled with a reason (passed on)."""
        if not supplied and not expect and not reason.strip():
            raise IllRefused(Refusal.MISSING_DATA, "An unfilled answer needs a reason (e.g. 'on loan', 'missing').")
        now = self._now()
        with self.store.transaction():
            order_id, order = self._open(number)
            if order.supplier != library:
                raise IllRefused(Refusal.NOT_SUPPLIER, f"Order {order.number} is not at {library}"
                                 + (f" but at {order.supplier}." if order.supplier else " (it is at no library)."))
            if not (order.status.open or order.status is Status.CENTRAL_DESK):
                raise IllRefused(Refusal.WRONG_STATE, f"Order {order.number} is {order.status.value}: no answer"
                                 " is expected.")
            if expect:
                self.tables.set_order(order_id, status=Status.EXPECT_TO_SUPPLY)
                self.tables.add_event(order_id, now, Status.EXPECT_TO_SUPPLY, library, reason)
            elif supplied:
                status = Status.COPY_COMPLETED if order.kind is Kind.COPY else Status.LOANED
                self.tables.close_attempt(order_id, library, "supplied", reason, now)
                self.tables.set_order(order_id, status=status, deadline="", shipped=now)
                self.tables.add_event(order_id, now, status, library, reason or "shipped")
            else:
                self._pass_on(order_id, order, "unfilled", reason.strip(), now)
            return self.tables.order(order_id)

    def requester_action(self, number: str, action: Status, note: str = "") -> Order:
        """What the requesting side does: Received, ShippedReturn, Cancelled (before shipping),
        LoanCompleted (the supplier has the loan back)."""
        allowed = {Status.RECEIVED: (Status.LOANED, Status.COPY_COMPLETED),
                   Status.SHIPPED_RETURN: (Status.LOANED, Status.RECEIVED),
                   Status.LOAN_COMPLETED: (Status.SHIPPED_RETURN, Status.RECEIVED, Status.LOANED),
                   Status.CANCELLED: (Status.REQUEST_RECEIVED, Status.EXPECT_TO_SUPPLY, Status.CENTRAL_DESK)}
        if action not in allowed:
            raise IllRefused(Refusal.BAD_VALUE, f"{action.value} is not a requester's action.")
        now = self._now()
        with self.store.transaction():
            order_id, order = self._open(number)
            if order.kind is Kind.COPY and action in (Status.SHIPPED_RETURN, Status.LOAN_COMPLETED):
                # ISO 18626: a copy is the requester's to keep; returning it belongs to a loan
                raise IllRefused(Refusal.WRONG_STATE, f"Order {order.number} is a copy: {action.value}"
                                 " belongs to a loan.")
            if order.status not in allowed[action]:
                raise IllRefused(Refusal.WRONG_STATE, f"Order {order.number} is {order.status.value}:"
                                 f" {action.value} is not possible now.")
            if action is Status.CANCELLED and order.supplier:
                self.tables.close_attempt(order_id, order.supplier, "cancelled", note, now)
            self.tables.set_order(order_id, status=action, deadline="" if action is Status.CANCELLED else None)
            self.tables.add_event(order_id, now, action, order.home_library, note)
            return self.tables.order(order_id)

    def process_deadlines(self) -> list[Order]:
        """Pass on every order whose supplier let its deadline pass; the orders moved."""
        now = self._now()
        moved = []
        for order_id in self.tables.order_ids(statuses=[s for s in Status if s.open], due_before=now):
            with self.store.transaction():
                order = self.tables.order(order_id)
                if not order.status.open or not order.deadline or order.deadline >= now:
                    continue   # answered meanwhile
                self._pass_on(order_id, order, "expired",
                              f"no answer within {self.settings.circulation_days:g} days", now)
                moved.append(self.tables.order(order_id))
        return moved

    # -- lists ----------------------------------------------------------------------------
    def incoming(self, library: str, *, all_states: bool = False) -> list[Order]:
        """The orders at `library` waiting for its answer (all it has had: `all_states`)."""
        statuses = None if all_states else [Status.REQUEST_RECEIVED, Status.EXPECT_TO_SUPPLY, Status.CENTRAL_DESK]
        return [self.tables.order(i) for i in self.tables.order_ids(supplier=library, statuses=statuses)]

    def orders_of(self, access_number: str) -> list[Order]:
        return [self.tables.order(i) for i in self.tables.order_ids(access_number=access_number)]
