"""Documents as PDF: the one renderer every service uses for what it issues (order
confirmations, invoices, credit notes, pro-formas, purchase orders, work sheets).

A service describes a document as a `Document` (labels already in the reader's language, from
`Labels`) and `render` lays it out on A4 with fpdf2. Rendering is deterministic: the fonts are
the ones kept here (never the system's, whose version would change the bytes), the PDF's dates
are the document's issue date, and nothing random or wall-clock goes in — so the SHA-256 recorded
when a document is issued can be checked by rendering it again from the same events.
"""

import hashlib
from datetime import UTC, datetime

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from shared.documents import embedding
from shared.documents.embedding import FONT
from shared.documents.labels import Labels
from shared.documents.page import ISSUED_BY, LAYOUT, PDF, Column, Document
from shared.documents.parts import (
    address_lines,
    priced_lines,
    seller,
    seller_lines,
    served,
)

__all__ = [
    "ISSUED_BY", "LAYOUT", "PDF", "Column", "Document", "Labels", "address_lines", "priced_lines",
    "render", "seller", "seller_lines", "served", "sha256",
]  # fmt: skip
LINE = 4.2  # mm per line of a table cell


class _Page(FPDF):
    footer_text = ""

    def footer(self):
        self.set_y(-14)
        self.set_font(FONT, "", 7)
        self.set_text_color(110)
        text = self.footer_text.replace("{page}", str(self.page_no()))
        self.cell(0, 5, text.replace("{pages}", "{nb}"), align="C")


def render(document: Document) -> bytes:
    """The document as PDF bytes: the same `document` always gives the same bytes."""
    pdf = _Page(format="A4", unit="mm")
    pdf.footer_text = document.footer
    issued = datetime.fromisoformat(document.issued_on[:10]).replace(tzinfo=UTC)
    pdf.set_creation_date(issued)
    pdf.set_title(f"{document.title} {document.number}")
    pdf.set_subject(document.subject or document.title)
    pdf.set_creator("oms")
    pdf.set_author("oms")
    pdf.set_lang(document.language)
    embedding.add_fonts(pdf)
    pdf.set_margins(16, 16, 16)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    _heading(pdf, document)
    _parties(pdf, document.parties)
    _table(pdf, document.columns, document.rows)
    _totals(pdf, document.totals)
    for heading, paragraphs in document.sections:
        _section(pdf, heading, paragraphs)
    return bytes(pdf.output(output_producer_class=embedding.Output))


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _heading(pdf: FPDF, document: Document) -> None:
    pdf.set_font(FONT, "B", 16)
    pdf.cell(0, 9, f"{document.title}  {document.number}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 9)
    for label, value in document.facts:
        pdf.cell(42, 5, label)
        pdf.cell(0, 5, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)


def _parties(pdf: FPDF, parties: tuple) -> None:
    if not parties:
        return
    width = pdf.epw / len(parties)
    top, bottom = pdf.get_y(), pdf.get_y()
    for index, (heading, lines) in enumerate(parties):
        pdf.set_xy(pdf.l_margin + index * width, top)
        pdf.set_font(FONT, "B", 9)
        pdf.cell(width, 5, heading, new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_font(FONT, "", 9)
        for line in lines:
            _text(pdf, width - 4, 4.5, line, new_x=XPos.LEFT, new_y=YPos.NEXT)
        bottom = max(bottom, pdf.get_y())
    pdf.set_xy(pdf.l_margin, bottom + 5)


def _table(pdf: FPDF, columns: tuple, rows: tuple) -> None:
    """Lines as rows under a shaded heading; a cell too long for its column wraps."""
    if not columns:
        return
    widths = [c.width * pdf.epw for c in columns]
    _row(pdf, widths, columns, [c.label for c in columns], heading=True)
    for cells in rows:
        _row(pdf, widths, columns, cells)
    pdf.ln(3)


def _row(pdf: FPDF, widths: list, columns: tuple, cells, heading: bool = False) -> None:
    pdf.set_font(FONT, "B" if heading else "", 8.5)
    room = [w - 2 * pdf.c_margin for w in widths]
    wrapped = [
        [text]
        if pdf.get_string_width(text) <= space
        else pdf.multi_cell(w, LINE, text, dry_run=True, output="LINES")
        for text, w, space in zip(map(str, cells), widths, room, strict=True)
    ]
    height = LINE * max(len(lines) for lines in wrapped) + 1
    if pdf.will_page_break(height):
        pdf.add_page()
    x, y = pdf.l_margin, pdf.get_y()
    if heading:
        pdf.set_fill_color(235)
        pdf.rect(x, y, pdf.epw, height, style="F")
    for lines, width, column in zip(wrapped, widths, columns, strict=True):
        for index, line in enumerate(lines):
            pdf.set_xy(x, y + 0.5 + index * LINE)
            pdf.cell(width, LINE, line, align=column.align)
        x += width
    pdf.set_draw_color(190)
    pdf.line(pdf.l_margin, y + height, pdf.l_margin + pdf.epw, y + height)
    pdf.set_xy(pdf.l_margin, y + height)


def _totals(pdf: FPDF, totals: tuple) -> None:
    for index, (label, value) in enumerate(totals):
        last = index == len(totals) - 1
        pdf.set_font(FONT, "B" if last else "", 10 if last else 9)
        pdf.cell(pdf.epw - 40, 5.5, label, align="R")
        pdf.cell(40, 5.5, value, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if totals:
        pdf.ln(3)


def _section(pdf: FPDF, heading: str, paragraphs: tuple) -> None:
    pdf.set_font(FONT, "B", 9.5)
    pdf.cell(0, 6, heading, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 8.5)
    for paragraph in paragraphs:
        _text(pdf, pdf.epw, 4.5, paragraph, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)


def _text(pdf: FPDF, width: float, height: float, text: str, **moves) -> None:
    """A line of text, wrapped only when it is longer than `width` (fpdf2's line breaking costs
    more than the rest of a short line's drawing)."""
    if pdf.get_string_width(text) <= width - 2 * pdf.c_margin:
        pdf.cell(width, height, text, **moves)
    else:
        pdf.multi_cell(width, height, text, **moves)
