"""Documents as PDF: the one renderer every service uses for what it issues (order
confirmations, invoices, credit notes, pro-formas, purchase orders, work sheets).

A service describes a document as a `Document` (labels already in the reader's language, from
`Labels`) and `render` lays it out on A4 with fpdf2. Rendering is deterministic: the fonts are
the ones kept here (never the system's, whose version would change the bytes), the PDF's dates
are the document's issue date, and nothing random or wall-clock goes in — so the SHA-256 recorded
when a document is issued can be checked by rendering it again from the same events.
"""

import base64
import copy
import functools
import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime

from fontTools import subset, ttLib
from fpdf import FPDF
from fpdf import output as fpdf_output
from fpdf.enums import XPos, YPos
from fpdf.fonts import SubsetMap
from fpdf.output import OutputProducer

from shared.documents.labels import FONTS, Labels

__all__ = ["Column", "Document", "Labels", "render", "sha256", "served", "seller", "PDF"]
PDF = "application/pdf"
#: every kind of document, and the service that issues (and renders) it
ISSUED_BY = {
    "confirmation": "orders",
    "pro_forma": "billing",
    "invoice": "billing",  # and supplementary invoices
    "credit_note": "billing",
    "purchase_order": "fulfilment",
    "work_sheet": "production",
}
FONT = "DejaVu"
LINE = 4.2  # mm per line of a table cell
CUTS_KEPT = 512  # fonts cut to a set of glyphs, kept (a few dozen KB each)


@dataclass(frozen=True)
class Column:
    label: str
    width: float  # share of the text width
    align: str = "L"  # L, C or R


@dataclass(frozen=True)
class Document:
    """What a page shows, top to bottom. Values are text, already formatted (`Labels`)."""

    language: str
    title: str
    number: str
    issued_on: str  # ISO date: the PDF's own creation date
    facts: tuple = ()  # (label, value) under the title
    parties: tuple = ()  # (heading, (line, …)) side by side: seller, buyer…
    columns: tuple = ()  # `Column`s of the table of lines
    rows: tuple = ()  # tuples of cell texts
    totals: tuple = ()  # (label, value), right-aligned under the table; the last one bold
    sections: tuple = ()  # (heading, (paragraph, …))
    footer: str = ""  # the page's foot, with `{page}`/`{pages}` filled in
    subject: str = ""  # the PDF's metadata subject


class _Page(FPDF):
    footer_text = ""

    def footer(self):
        self.set_y(-14)
        self.set_font(FONT, "", 7)
        self.set_text_color(110)
        text = self.footer_text.replace("{page}", str(self.page_no()))
        self.cell(0, 5, text.replace("{pages}", "{nb}"), align="C")


class _Output(OutputProducer):
    def _add_fonts(self, *args, **kwargs):
        """Embedding cuts each font down to the glyphs used, and that took most of a document's
        time: each font is cut here first, from a cache by glyph set (documents use the same few
        dozen glyphs), so the cut fpdf2 then makes is of a tiny font. The same glyphs always give
        the same cut, warm or cold, so the bytes do not depend on the cache. Writing that cut
        out is then the larger cost: `_CutFont` keeps what it wrote, by the same key."""
        for style, (parsed, _) in _parsed_fonts().items():
            font = self.fpdf.fonts[parsed.fontkey]
            key = (style, tuple(sorted(font.subset.get_all_glyph_names())))
            font.ttfont = _CutFont(io.BytesIO(_cut(*key)), recalcTimestamp=False)
            font.ttfont.key = key
        return super()._add_fonts(*args, **kwargs)


class _Subsetter(subset.Subsetter):
    """fpdf2's cut of a font it embeds, skipped for a `_CutFont` whose bytes are already kept:
    the cut fpdf2 would make of it keeps every glyph in its order (the font was cut to exactly
    these glyphs), so only the bytes differ, and those are the ones kept."""

    def subset(self, font):
        if isinstance(font, _CutFont) and font.key in font.written:
            return
        super().subset(font)


class _FontTools:
    """What fpdf2's output module knows as `fontTools.subset`, with the subsetter above."""

    Options = subset.Options
    Subsetter = _Subsetter


fpdf_output.ftsubset = _FontTools  # fpdf2 2.8.9 (pinned) cuts fonts through this name only


class _CutFont(ttLib.TTFont):
    """A cut font whose embedded bytes (fpdf2's own cut of it, written out) are kept by glyph set:
    the same glyphs always give the same bytes, so they are written once."""

    written: dict = {}
    key: tuple = ()

    def save(self, file, reorderTables=True):
        data = self.written.get(self.key)
        if data is None:
            out = io.BytesIO()
            super().save(out, reorderTables)
            data = out.getvalue()
            if len(self.written) >= CUTS_KEPT:
                self.written.pop(next(iter(self.written)))
            self.written[self.key] = data
        file.write(data)


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
    _add_fonts(pdf)
    pdf.set_margins(16, 16, 16)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    _heading(pdf, document)
    _parties(pdf, document.parties)
    _table(pdf, document.columns, document.rows)
    _totals(pdf, document.totals)
    for heading, paragraphs in document.sections:
        _section(pdf, heading, paragraphs)
    return bytes(pdf.output(output_producer_class=_Output))


@functools.cache
def _parsed_fonts() -> dict:
    """The fonts parsed once ({style: (fpdf's font, the file's bytes)}): parsing them for every
    document took half of its time."""
    scratch = FPDF()
    for style, path in FONTS.items():
        scratch.add_font(FONT, style, str(path))
    return {
        style: (scratch.fonts[f"{FONT.lower()}{style}"], path.read_bytes())
        for style, path in FONTS.items()
    }


def _add_fonts(pdf: FPDF) -> None:
    """What `pdf.add_font` does, from the parsed fonts: a copy of each with its own glyph subset
    and its own fontTools font (embedding subsets that one in place)."""
    for parsed, data in _parsed_fonts().values():
        font = copy.copy(parsed)  # widths and glyph ids are only read
        font.ttfont = _ttfont(data)
        font.subset, font.missing_glyphs, font.biggest_size_pt = SubsetMap(font), [], 0
        pdf.fonts[font.fontkey] = font


def _ttfont(data: bytes) -> ttLib.TTFont:
    return ttLib.TTFont(io.BytesIO(data), recalcTimestamp=False, lazy=True)


@functools.lru_cache(maxsize=CUTS_KEPT)
def _cut(style: str, glyph_names: tuple) -> bytes:
    """The font of `style` with only `glyph_names` (and their names kept, which fpdf2 looks up)."""
    options = subset.Options(notdef_outline=True, recommended_glyphs=True, glyph_names=True)
    subsetter = subset.Subsetter(options)
    subsetter.populate(glyphs=glyph_names)
    font = _ttfont(_parsed_fonts()[style][1])
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def served(kind: str, document_id: str, number: str, recorded: str | None, content: bytes):
    """What `document(kind, id)` answers over RPC: the bytes (base64), and the SHA-256 recorded
    when the document was issued (None for documents issued before hashes were recorded) —
    `oms document verify` compares it with the bytes' own."""
    return {
        "kind": kind,
        "id": document_id,
        "number": number,
        "filename": f"{kind}-{number.replace('/', '-')}.pdf",
        "content_type": PDF,
        "sha256": recorded,
        "content": base64.b64encode(content).decode("ascii"),
    }


def seller(settings) -> dict:
    """The seller's details from the settings, as a document records them when issued."""
    return {
        "name": settings.seller_name,
        "address": [x.strip() for x in settings.seller_address.split("|") if x.strip()],
        "vat_id": settings.seller_vat_id,
        "email": settings.seller_email,
        "phone": settings.seller_phone,
        "bank_account": settings.seller_bank_account,
    }


def seller_lines(seller: dict, labels: Labels) -> tuple:
    lines = [seller["name"], *seller.get("address", ())]
    if seller.get("vat_id"):
        lines.append(labels.field("vat_id", seller["vat_id"]))
    lines += [x for x in (seller.get("email"), seller.get("phone")) if x]
    return tuple(lines)


def priced_lines(body: dict, currency: str, labels: Labels, total: str = "total_gross"):
    """(columns, rows, totals) of a priced body (shared/money.py `priced`): the lines with their
    nets, the VAT of each rate on the nets of that rate, and net, VAT and gross totals."""
    money = functools.partial(labels.money, currency=currency)
    columns = (
        Column(labels["sku"], 0.16),
        Column(labels["product"], 0.36),
        Column(labels["quantity"], 0.08, "R"),
        Column(labels["unit_price"], 0.16, "R"),
        Column(labels["vat_rate"], 0.08, "R"),
        Column(labels["net"], 0.16, "R"),
    )
    rows = tuple(
        (
            line["sku"],
            line["name"],
            labels.number(line["quantity"]),
            money(line["unit_price"]),
            labels.rate(line["vat_rate"]),
            money(line["net"]),
        )
        for line in body["lines"]
    )
    totals = tuple(
        (labels.text("vat_at", rate=labels.rate(v["rate"]), net=money(v["net"])), money(v["tax"]))
        for v in body["vat"]
    ) + (
        (labels["total_net"], money(body["net"])),
        (labels["total_vat"], money(body["tax"])),
        (labels[total], money(body["gross"])),
    )
    return columns, rows, totals


def address_lines(address: dict | None) -> tuple:
    if not address:
        return ()
    city = " ".join(x for x in (address.get("postcode"), address.get("city")) if x)
    return tuple(
        x for x in (address.get("line1"), address.get("line2"), city, address.get("country")) if x
    )


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
            pdf.multi_cell(width - 4, 4.5, line, new_x=XPos.LEFT, new_y=YPos.NEXT)
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
        pdf.multi_cell(0, 4.5, paragraph, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
