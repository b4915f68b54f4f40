"""Printable order slips (GBV's "Bestellzettel"), as HTML or PDF, with barcodes.

This module owns what a slip shows: the order number, the addresses of the requester (the
user), the requesting and the supplying library, the bibliographic data (ISBD, article data)
with the supplier's call number, the status; the order number and the user's number (the
access number) as Code 128 barcodes, which the supplier's and the requester's scanners read.
Barcodes come from libraries, never drawn here: python-barcode's SVG writer for HTML (inline,
so the page prints without fetching anything), reportlab's `code128` for PDF.

It takes an `Order` and the profiles and returns bytes; it reads no store.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass

import barcode
from barcode.writer import SVGWriter
from lxml import etree
from lxml.html import builder as E
from lxml.html import tostring

from index.ill.model import Account, Order
from index.ill.routing import Profile

__all__ = ["SlipData", "slip_html", "slip_pdf"]


@dataclass(frozen=True)
class SlipData:
    """Everything on one slip, as lines of text."""

    number: str
    access_number: str
    requester: tuple[str, ...]
    requesting_library: tuple[str, ...]
    supplying_library: tuple[str, ...]
    bibliographic: tuple[str, ...]
    call_number: str
    status: str

    @classmethod
    def of(cls, order: Order, account: Account | None, profiles: Mapping[str, Profile]) -> SlipData:
        def library(code: str) -> tuple[str, ...]:
            if not code:
                return ("(none)",)
            profile = profiles.get(code)
            name = profile.name if profile and profile.name else code
            return tuple(line for line in (f"{name} ({code})", profile.address if profile else "") if line)

        requester = (account.name or "(no name)", f"Access number {order.access_number}") if account else \
            (f"Access number {order.access_number}",)
        article = order.article
        bibliographic = [order.isbd]
        if article:
            parts = [f"Article: {article.title}" if article.title else "", article.author,
                     f"vol. {article.volume}" if article.volume else "", f"no. {article.issue}" if article.issue else "",
                     article.year, f"pp. {article.pages}" if article.pages else ""]
            bibliographic.append(", ".join(p for p in parts if p))
        if order.free:
            bibliographic.append("FREE ORDER (no holdings in the union catalog)")
        call = next((a.call_number for a in reversed(order.attempts) if a.library == order.supplier), "")
        return cls(order.number, order.access_number, requester, library(order.home_library),
                   library(order.supplier), tuple(bibliographic), call, order.status.value)


def _svg(code: str) -> etree._Element:
    out = io.BytesIO()
    barcode.get("code128", code, writer=SVGWriter()).write(out, options={"module_height": 12.0, "font_size": 8,
                                                                           "text_distance": 4.0})
    svg = etree.fromstring(out.getvalue(), etree.XMLParser(resolve_entities=False, no_network=True))
    svg.set("class", "barcode")
    return svg


def slip_html(slip: SlipData) -> bytes:
    """The slip as one HTML page (UTF-8), barcodes inline as SVG."""
    def block(title: str, lines: tuple[str, ...]) -> etree._Element:
        return E.E.section(E.H2(title), *[E.P(line) for line in lines])

    body = E.BODY(
        E.H1(f"Interlibrary loan order {slip.number}"),
        E.DIV(E.CLASS("codes"), E.FIGURE(_svg(slip.number), E.E.figcaption("Order number")),
              E.FIGURE(_svg(slip.access_number), E.E.figcaption("User number"))),
        block("Requester", slip.requester),
        block("Requesting library", slip.requesting_library),
        block("Supplying library", slip.supplying_library),
        block("Title", slip.bibliographic),
        block("Call number", (slip.call_number or "(none)",)),
        block("Status", (slip.status,)),
    )
    style = E.STYLE("body{font-family:sans-serif;max-width:40em} .codes{display:flex;gap:3em}"
                    " figure{margin:0} svg.barcode{display:block} figcaption{font-size:.8em}"
                    " h2{font-size:1em;margin:.8em 0 .2em} p{margin:.1em 0}")
    page = E.HTML(E.HEAD(E.META(charset="utf-8"), E.TITLE(f"Order slip {slip.number}"), style), body)
    return b"<!DOCTYPE html>\n" + tostring(page, encoding="utf-8")


def slip_pdf(slip: SlipData) -> bytes:
    """The slip as a one-page A5 PDF, barcodes by reportlab."""
    from reportlab.graphics.barcode import code128
    from reportlab.lib.pagesizes import A5
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A5)
    pdf.setTitle(f"Order slip {slip.number}")
    width, height = A5
    y = height - 15 * mm
    pdf.setFont("Helvetica-Bold", 13)
    pdf.drawString(12 * mm, y, f"Interlibrary loan order {slip.number}")
    y -= 18 * mm
    for x, code, label in ((12 * mm, slip.number, "Order number"), (75 * mm, slip.access_number, "User number")):
        symbol = code128.Code128(code, barHeight=11 * mm, barWidth=0.28 * mm, humanReadable=True)
        symbol.drawOn(pdf, x - 5 * mm, y)
        pdf.setFont("Helvetica", 7)
        pdf.drawString(x, y - 6 * mm, label)
    y -= 14 * mm
    for title, lines in (("Requester", slip.requester), ("Requesting library", slip.requesting_library),
                         ("Supplying library", slip.supplying_library), ("Title", slip.bibliographic),
                         ("Call number", (slip.call_number or "(none)",)), ("Status", (slip.status,))):
        pdf.setFont("Helvetica-Bold", 9)
        pdf.drawString(12 * mm, y, title)
        y -= 4.5 * mm
        pdf.setFont("Helvetica", 9)
        for line in lines:
            for piece in _wrap(line, 85):
                pdf.drawString(15 * mm, y, piece)
                y -= 4.2 * mm
        y -= 2 * mm
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def _wrap(text: str, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + [line] if line else lines or [""]
