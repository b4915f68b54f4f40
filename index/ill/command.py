"""`unikat ill`: interlibrary loan for staff, over the catalog store of a home.

    unikat ill account create ACCESS --library HOME_CODE [--name NAME] [--balance UNITS] [--quota N] [--stdin]
    unikat ill account credit ACCESS UNITS       (negative UNITS take units away)
    unikat ill account quota ACCESS N|none
    unikat ill account show ACCESS
    unikat ill order ACCESS (--isn ISN | --free TEXT) [--article-title ... --pages ... --year ...] [--stdin]
    unikat ill incoming LIBRARY [--all]          orders waiting for the library's answer
    unikat ill answer NUMBER --library CODE (--supplied | --expect | --unfilled REASON)
    unikat ill status NUMBER
    unikat ill deadlines                         pass on orders whose deadline has passed
    unikat ill slip NUMBER (--html FILE | --pdf FILE)

Passwords are read without echo from the terminal, or as one line of stdin with `--stdin`;
they are never printed. Every refusal prints its reason on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from index.home import Home
from index.ill.model import Account, Article, IllRefused, Order, OrderRequest
from index.ill.service import IllService
from index.store.catalog import CatalogStore

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The sub-commands of `unikat ill` (see the module docstring)."""
    actions = parser.add_subparsers(dest="ill_action", required=True)
    account = actions.add_parser("account", help="user accounts: create, credit, quota, show")
    account_actions = account.add_subparsers(dest="account_action", required=True)
    create = account_actions.add_parser("create", help="a new account (asks for its password)")
    create.add_argument("access", help="the access number (library card number)")
    create.add_argument("--library", required=True, dest="home_library", help="the home library's code")
    create.add_argument("--name", default="", help="the user's name and address, for order slips")
    create.add_argument("--balance", type=int, default=0, help="units to start with")
    create.add_argument("--quota", type=int, help="a fixed quota: the access number is good for N orders")
    create.add_argument("--stdin", action="store_true", help="read the password from one line of stdin")
    credit = account_actions.add_parser("credit", help="add units (negative: take units)")
    credit.add_argument("access")
    credit.add_argument("units", type=int)
    quota = account_actions.add_parser("quota", help="set the fixed quota of orders (none: no quota)")
    quota.add_argument("access")
    quota.add_argument("quota", help="a number of orders, or none")
    show = account_actions.add_parser("show", help="balance, quota and orders of an account")
    show.add_argument("access")
    order = actions.add_parser("order", help="place an order for a user (asks for the user's password)")
    order.add_argument("access")
    order.add_argument("--isn", type=int, help="the title's ISN")
    order.add_argument("--free", metavar="TEXT", help="a free order: the title as the user describes it")
    for name in ("title", "author", "pages", "year", "volume", "issue"):
        order.add_argument(f"--article-{name}", default="", help=f"a copy of an article: its {name}")
    order.add_argument("--note", default="")
    order.add_argument("--stdin", action="store_true", help="read the password from one line of stdin")
    incoming = actions.add_parser("incoming", help="the orders waiting for a library's answer")
    incoming.add_argument("library")
    incoming.add_argument("--all", action="store_true", help="every order the library has had")
    answer = actions.add_parser("answer", help="a supplier's answer to an order")
    answer.add_argument("number")
    answer.add_argument("--library", required=True, help="the answering (supplying) library")
    how = answer.add_mutually_exclusive_group(required=True)
    how.add_argument("--supplied", action="store_true", help="shipped (a loan or a copy)")
    how.add_argument("--expect", action="store_true", help="will supply")
    how.add_argument("--unfilled", metavar="REASON", help="cannot supply, and why (passes the order on)")
    answer.add_argument("--note", default="", help="a note with a supplied/expect answer")
    status = actions.add_parser("status", help="where an order is, with its history")
    status.add_argument("number")
    actions.add_parser("deadlines", help="pass on every order whose supplier's deadline has passed")
    slip = actions.add_parser("slip", help="a printable order slip with barcodes")
    slip.add_argument("number")
    out = slip.add_mutually_exclusive_group(required=True)
    out.add_argument("--html", metavar="FILE")
    out.add_argument("--pdf", metavar="FILE")


def _password(args: argparse.Namespace, prompt: str) -> str:
    if args.stdin:
        return sys.stdin.readline().rstrip("\r\n")
    import getpass
    return getpass.getpass(prompt)


def run(home: Home, args: argparse.Namespace) -> int:
    """Run one `unikat ill` command; 0 on success, 2 on a refusal (its reason on stderr)."""
    store = CatalogStore.of(home)
    try:
        service = IllService(store, home.config())
        return _ACTIONS[args.ill_action](service, args)
    except IllRefused as refused:
        print(f"unikat ill: {refused}", file=sys.stderr)
        return 2
    finally:
        store.close()


def _show_account(account: Account) -> None:
    quota = "none" if account.quota is None else f"{account.quota} orders left"
    print(f"{account.access_number}  home {account.home_library}  balance {account.balance} units  quota {quota}"
          f"  orders placed {account.orders_placed}" + (f"  ({account.name})" if account.name else ""))


def _account(service: IllService, args: argparse.Namespace) -> int:
    action = args.account_action
    if action == "create":
        password = _password(args, f"Password for {args.access}: ")
        _show_account(service.create_account(args.access, password, args.home_library, name=args.name,
                                             balance=args.balance, quota=args.quota))
    elif action == "credit":
        _show_account(service.credit(args.access, args.units))
    elif action == "quota":
        if args.quota.lower() == "none":
            quota = None
        elif args.quota.isdigit():
            quota = int(args.quota)
        else:
            print(f"unikat ill: quota must be a number of orders or none, not {args.quota!r}", file=sys.stderr)
            return 2
        _show_account(service.set_quota(args.access, quota))
    else:
        _show_account(service.account(args.access))
        for order in service.orders_of(args.access):
            print("  " + _line(order))
    return 0


def _line(order: Order) -> str:
    where = f" at {order.supplier}" if order.supplier else ""
    due = f" due {order.deadline}" if order.deadline else ""
    return f"{order.number}  {order.status.value}{where}{due}  {order.kind.value}  {order.isbd[:70]}"


def _order(service: IllService, args: argparse.Namespace) -> int:
    if (args.isn is None) == (args.free is None):
        print("unikat ill: give either --isn or --free", file=sys.stderr)
        return 2
    article = Article(args.article_title, args.article_author, args.article_pages, args.article_year,
                      args.article_volume, args.article_issue)
    password = _password(args, f"Password of {args.access}: ")
    placed = service.place_order(OrderRequest(args.access, password, args.isn, article, free=args.free is not None,
                                              title_text=args.free or "", note=args.note, via="cli"))
    print(f"order {placed.order.number} placed; balance {placed.balance_before} -> {placed.balance_after} units"
          + (f"; quota left {placed.quota_left}" if placed.quota_left is not None else ""))
    _print_status(placed.order)
    return 0


def _incoming(service: IllService, args: argparse.Namespace) -> int:
    orders = service.incoming(args.library, all_states=args.all)
    for order in orders:
        print(_line(order))
    print(f"{len(orders)} orders at {args.library}", file=sys.stderr)
    return 0


def _answer(service: IllService, args: argparse.Namespace) -> int:
    order = service.answer(args.number, args.library, supplied=args.supplied, expect=args.expect,
                           reason=args.unfilled if args.unfilled is not None else args.note)
    _print_status(order)
    return 0


def _print_status(order: Order) -> None:
    print(f"order {order.number}: {order.status.value}" + (f" at {order.supplier}" if order.supplier else "")
          + (f", answer due {order.deadline}" if order.deadline else ""))
    print(f"  title: {order.isbd}")
    if order.article:
        a = order.article
        print(f"  article: {a.title} / {a.author} vol. {a.volume} ({a.year}) no. {a.issue} pp. {a.pages}")
    print(f"  ordered by {order.access_number} of {order.home_library} on {order.created} via {order.via}"
          f" ({order.units} units{', free order' if order.free else ''})")
    if order.shipped:
        print(f"  shipped {order.shipped}")
    print(f"  left the network: {'yes' if order.left_network else 'no'}")
    for attempt in order.attempts:
        answer = attempt.answer or "waiting"
        print(f"  supplier {attempt.library} (call number {attempt.call_number or '-'}): sent {attempt.sent},"
              f" {answer}" + (f" {attempt.answered}" if attempt.answered else f", due {attempt.deadline}")
              + (f": {attempt.reason}" if attempt.reason else ""))
    for event in order.history:
        print(f"  {event.time}  {event.status.value:<20} {event.library:<6} {event.note}")


def _status(service: IllService, args: argparse.Namespace) -> int:
    _print_status(service.order(args.number))
    return 0


def _deadlines(service: IllService, args: argparse.Namespace) -> int:
    moved = service.process_deadlines()
    for order in moved:
        expired = [a.library for a in order.attempts if a.answer == "expired"][-1]
        print(f"{order.number}: deadline passed at {expired} -> {order.supplier or 'returned to ' + order.home_library}")
    print(f"{len(moved)} orders passed on", file=sys.stderr)
    return 0


def _slip(service: IllService, args: argparse.Namespace) -> int:
    from index.ill.slips import SlipData, slip_html, slip_pdf

    order = service.order(args.number)
    try:
        account = service.account(order.access_number)
    except IllRefused:
        account = None
    profiles = {code: service.profile(code) for code in (order.home_library, order.supplier) if code}
    data = SlipData.of(order, account, profiles)
    path = Path(args.html or args.pdf)
    path.write_bytes(slip_html(data) if args.html else slip_pdf(data))
    print(f"slip of order {order.number} written to {path}")
    return 0


_ACTIONS = {"account": _account, "order": _order, "incoming": _incoming, "answer": _answer, "status": _status,
            "deadlines": _deadlines, "slip": _slip}
