"""What a document is, before it is laid out: a `Document` of texts already in the reader's
language, its table's `Column`s, and which service issues each kind."""

from dataclasses import dataclass

PDF = "application/pdf"
#: what `render` draws, as a number each issued document records: a change to the layout, the fonts
#: or fpdf2 changes the bytes, so it must raise this; a document issued under another layout is
#: reported unverifiable by `oms document verify`, never as a mismatch
LAYOUT = 1
#: every kind of document, and the service that issues (and renders) it
ISSUED_BY = {
    "confirmation": "orders",
    "pro_forma": "billing",
    "invoice": "billing",  # and supplementary invoices
    "credit_note": "billing",
    "purchase_order": "fulfilment",
    "work_sheet": "production",
}


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
