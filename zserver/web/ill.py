"""The interlibrary loan pages for readers: order form, order result, order status. No JavaScript.

This module owns what a reader sees at

    /order/<isn>     the order form of a title: its bibliographic data prefilled in ISBD, the
                     libraries that lend it, access number and password, optional article
                     data (a copy), a note; "Show my balance" and "Place order" buttons (POST)
    /order           a free order: the title as the reader describes it
    /status/<number> (or /status?number=...) where an order is: status, supplier, deadline,
                     shipped, whether it left the network, the suppliers tried and the history

and the order button on the full record (`order_button`, used by `zserver.web.page`). Every
page is a plain HTML form or link (GET for reading, POST for the password), built with lxml,
which escapes all text. Orders go through `index.ill.IllService`, with the same rules as on
every other interface; a refusal shows the form again with the reason, the reader's input
kept (never the password). It knows no Twisted: `IllPages.respond` takes the request's parts
and returns (status, HTML bytes).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs, quote

from lxml import etree
from lxml.html import builder as E
from lxml.html import tostring

from index.ill import Article, IllRefused, IllService, Order, OrderRequest, PlacedOrder, Refusal
from zserver.ill_login import ill_account
from zserver.logins import LoginGuard
from zserver.sru.response import xml_text

__all__ = ["ILL_ROOTS", "IllPages", "order_button"]

ILL_ROOTS = ("order", "status")
STYLESHEET = "/static/unikat.css"
MAX_FIELDS = 40
_SUBMISSION = re.compile(r"[A-Za-z0-9_-]{16}")   # the form's own id (secrets.token_urlsafe(12))
_ARTICLE_FIELDS = (("title", "Article title"), ("author", "Author of the article"), ("pages", "Pages"),
                   ("year", "Year"), ("volume", "Volume"), ("issue", "Issue"))


def order_button(isn: int) -> etree._Element:
    """The order button on a full record: a GET form leading to the order form."""
    return E.FORM(E.CLASS("order"), E.BUTTON("Order by interlibrary loan", type="submit"),
                  action=f"/order/{isn}", method="get")


@dataclass(frozen=True)
class PageAnswer:
    status: int
    body: bytes
    allow: str = ""   # with a 405: the methods allowed


def _form_values(query: bytes, body: bytes, content_type: str) -> dict[str, str]:
    values: dict[str, str] = {}
    sources = [query]
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        sources.append(body)
    for source in sources:
        try:
            parsed = parse_qs(source.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
        except (UnicodeDecodeError, ValueError):
            raise ValueError("the form is not UTF-8 or has too many fields") from None
        values.update({name: items[0].strip() for name, items in parsed.items()})
    return values


class IllPages:
    """The ILL pages over one catalog; `service` gives the (lazily opened) ILL service."""

    def __init__(self, catalog_name: str, service: Callable[[], IllService], guard: LoginGuard | None = None) -> None:
        self.catalog_name = catalog_name
        self.service = service
        self.guard = guard or LoginGuard()   # the worker's: failed logins lock out (zserver.ill_login)

    def respond(self, method: str, segments: Sequence[str], query: bytes, body: bytes = b"",
                content_type: str = "", address: str | None = None) -> PageAnswer:
        """The page for a request under /order or /status; `address` is the client's."""
        allowed = ("GET", "HEAD", "POST") if segments[0] == "order" else ("GET", "HEAD")
        if method not in allowed:
            return self._error(405, f"{method} is not allowed here.", allow=", ".join(allowed))
        try:
            values = _form_values(query, body, content_type)
        except ValueError as error:
            return self._error(400, str(error))
        if any(xml_text(text) != text for text in (*segments, *values.values())):   # no page can show them
            return self._error(400, "The address or the form holds control characters.")
        if segments[0] == "status":
            number = segments[1] if len(segments) == 2 else values.get("number", "")
            return self._status(number)
        if len(segments) > 2 or (len(segments) == 2 and not (segments[1].isascii() and segments[1].isdigit()
                                                             and len(segments[1]) <= 12)):
            return self._error(404, "There is no such title to order.")
        isn = int(segments[1]) if len(segments) == 2 else None
        if method != "POST":
            return self._form(isn, values)
        if values.get("action") == "balance":
            return self._balance(isn, values, address)
        return self._order(isn, values, address)

    # -- the order form -----------------------------------------------------------------------
    def _form(self, isn: int | None, values: Mapping[str, str], *, message: str = "", note: str = "",
              status: int = 200) -> PageAnswer:
        service = self.service()
        lenders: list[str] = []
        isbd = values.get("title", "")
        if isn is not None:
            try:
                isbd, holdings = service.title(isn)
            except IllRefused as refused:
                return self._error(404, refused.message)
            lenders = sorted({service.profile(h.library).name or h.library for h in holdings if h.lendable})
        heading = "Interlibrary loan order" if isn is not None else "Free interlibrary loan order"
        form = E.FORM(method="post", action=f"/order/{isn}" if isn is not None else "/order")
        form.set("class", "ill-order")
        if isn is not None:
            form.append(E.LABEL("Title (ISBD)", E.TEXTAREA(isbd, name="isbd", rows="4", cols="70", readonly="readonly")))
        else:
            form.append(E.LABEL("Title: author, title, place, year (your own description)",
                                E.TEXTAREA(isbd, name="title", rows="4", cols="70", required="required")))
        form.append(E.P("Lent by: " + ", ".join(lenders)) if lenders else
                    E.P("No library lends this title: you may place it as a free order."))
        if isn is not None and not lenders:
            free = E.INPUT(type="checkbox", name="free", value="1")
            if values.get("free"):
                free.set("checked", "checked")
            form.append(E.LABEL(free, " Place as a free order (to the central ILL desk)"))
        form.append(E.E.fieldset(E.E.legend("Your library card"),
                                 E.LABEL("Access number", E.INPUT(type="text", name="access",
                                                                  value=values.get("access", ""), required="required",
                                                                  autocomplete="username")),
                                 E.LABEL("Password", E.INPUT(type="password", name="password", required="required",
                                                             autocomplete="current-password"))))
        article = E.E.fieldset(E.E.legend("Article copy (optional): title, and author or pages; year or volume"))
        for name, label in _ARTICLE_FIELDS:
            article.append(E.LABEL(label, E.INPUT(type="text", name=f"article_{name}",
                                                  value=values.get(f"article_{name}", ""))))
        form.append(article)
        form.append(E.LABEL("Note to the library", E.INPUT(type="text", name="note", value=values.get("note", ""))))
        # one id per filled-in form: a second click or a reload of the POST places no second order
        submission = values.get("submission", "")
        form.append(E.INPUT(type="hidden", name="submission",
                            value=submission if _SUBMISSION.fullmatch(submission) else secrets.token_urlsafe(12)))
        form.append(E.P(E.BUTTON("Show my balance", type="submit", name="action", value="balance", formnovalidate=""),
                        " ", E.BUTTON("Place order", type="submit", name="action", value="order")))
        body: list[etree._Element] = [E.H1(heading)]
        if message:
            body.append(E.P(E.CLASS("error"), message, role="alert"))
        if note:
            body.append(E.P(E.CLASS("balance"), note, role="status"))
        body.append(form)
        body.append(E.P(E.A("Status of an order", href="/status"),
                        *([" · ", E.A("Back to the record", href=f"/record/{isn}")] if isn is not None else [])))
        return PageAnswer(status, self._page(heading, body))

    def _balance(self, isn: int | None, values: Mapping[str, str], address: str | None) -> PageAnswer:
        service = self.service()
        try:
            account = ill_account(service, self.guard, values.get("access", ""), values.get("password", ""), address)
        except IllRefused as refused:   # a wrong login is 401 here as for an order
            return self._form(isn, values, message=refused.message,
                              status=401 if refused.reason is Refusal.BAD_CREDENTIALS else 200)
        units = service.settings.units_per_order
        quota = "" if account.quota is None else f" Your access number is good for {account.quota} more orders."
        return self._form(isn, values, note=f"Your balance: {account.balance} units (an order costs {units})."
                          + quota)

    def _order(self, isn: int | None, values: Mapping[str, str], address: str | None) -> PageAnswer:
        article = Article(*(values.get(f"article_{name}", "") for name, _ in _ARTICLE_FIELDS))
        submission = values.get("submission", "")
        request = OrderRequest(values.get("access", ""), values.get("password", ""), isn, article,
                               free=isn is None or bool(values.get("free")), title_text=values.get("title", ""),
                               note=values.get("note", ""), via="web",
                               external_id=f"web:{submission}" if _SUBMISSION.fullmatch(submission) else "")
        try:
            account = ill_account(self.service(), self.guard, request.access_number, request.password, address)
            placed = self.service().place_order(request, account=account)
        except IllRefused as refused:
            return self._form(isn, values, message=refused.message,
                              status=401 if refused.reason is Refusal.BAD_CREDENTIALS else 200)
        return PageAnswer(200, self._page(f"Order {placed.order.number}", self._placed(placed)))

    def _placed(self, placed: PlacedOrder) -> list[etree._Element]:
        order = placed.order
        balance = (f"Your balance: {placed.balance_before} units before, {placed.balance_after} units after this"
                   " order.")
        if placed.quota_left is not None:
            balance += f" Orders left on your access number: {placed.quota_left}."
        return [E.H1("Order placed"),
                E.P("Your order number: ", E.STRONG(order.number, E.CLASS("order-number"))),
                E.P(E.CLASS("balance"), balance),
                E.P(order.isbd),
                E.P(_where(order, self.service())),
                E.P(E.A("Status of this order", href=f"/status/{quote(order.number)}"), " · ",
                    E.A("New search", href="/"))]

    # -- status ---------------------------------------------------------------------------------
    def _status(self, number: str) -> PageAnswer:
        ask = E.FORM(E.LABEL("Order number ", E.INPUT(type="text", name="number", value=number, required="required")),
                     " ", E.BUTTON("Show status", type="submit"), action="/status", method="get")
        if not number:
            return PageAnswer(200, self._page("Order status", [E.H1("Order status"), ask]))
        service = self.service()
        try:
            order = service.order(number)
        except IllRefused as refused:
            return PageAnswer(404, self._page("Order status", [E.H1("Order status"),
                                                                E.P(E.CLASS("error"), refused.message, role="alert"), ask]))
        rows = [("Order number", order.number), ("Title", order.isbd), ("Kind", order.kind.value +
                                                                        (", free order" if order.free else "")),
                ("Status", order.status.value), ("Where", _where(order, service)),
                ("Answer due", order.deadline or "–"), ("Shipped", order.shipped or "not yet"),
                ("Left the network", "yes" if order.left_network else "no"), ("Placed", order.created)]
        table = E.TABLE(E.CLASS("ill-status"), *[E.TR(E.TH(label), E.TD(value)) for label, value in rows])
        tried = E.TABLE(E.THEAD(E.TR(E.TH("Library"), E.TH("Sent"), E.TH("Answer"), E.TH("Reason"))),
                        E.TBODY(*[E.TR(E.TD(service.profile(a.library).name or a.library), E.TD(a.sent),
                                       E.TD(a.answer or "waiting"), E.TD(a.reason)) for a in order.attempts]))
        history = E.UL(*[E.LI(f"{e.time} {e.status.value} {e.library} {e.note}".strip()) for e in order.history])
        return PageAnswer(200, self._page(f"Order {order.number}", [
            E.H1(f"Order {order.number}"), table, E.H2("Libraries asked"), tried, E.H2("History"), history, ask]))

    # -- the frame -------------------------------------------------------------------------------
    def _error(self, status: int, message: str, *, allow: str = "") -> PageAnswer:
        return PageAnswer(status, self._page("Interlibrary loan", [E.H1("Interlibrary loan"),
                                                                    E.P(E.CLASS("error"), message, role="alert")]),
                          allow)

    def _page(self, title: str, body: list[etree._Element]) -> bytes:
        document = E.HTML(
            E.HEAD(E.META(charset="utf-8"), E.META(name="viewport", content="width=device-width, initial-scale=1"),
                   E.TITLE(f"{title} – {self.catalog_name}"), E.LINK(rel="stylesheet", href=STYLESHEET)),
            E.BODY(E.E.header(E.A(E.CLASS("brand"), self.catalog_name, href="/")), E.E.main(*body)),
            lang="en")
        return tostring(document, doctype="<!DOCTYPE html>", encoding="utf-8", method="html")


def _where(order: Order, service: IllService) -> str:
    if order.supplier:
        name = service.profile(order.supplier).name or order.supplier
        return f"At {name} ({order.supplier})" + (f", answer due {order.deadline}" if order.deadline else "") + "."
    if order.reasons:
        return "Back at your library: " + "; ".join(order.reasons) + "."
    return f"{order.status.value}."
