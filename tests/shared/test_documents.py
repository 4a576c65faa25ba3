"""The shared renderer: the same description always gives the same bytes (whatever its font
caches hold), long tables run onto more pages with their footers, long cells wrap, and each
language writes numbers, money and dates its own way."""

import io
from decimal import Decimal

from pypdf import PdfReader

from shared import documents
from shared.documents import Column, Document, Labels, embedding


def sample(rows: int = 3, name: str = "Wizytówki ąęłżź") -> Document:
    labels = Labels("pl")
    return Document(
        language="pl",
        title=labels.title("invoice"),
        number="INV-2026-000042",
        issued_on="2026-12-02",
        facts=((labels["issued_on"], labels.date("2026-12-02")),),
        parties=((labels["seller"], ("Drukarnia Łąka",)), (labels["buyer"], ("Zażółć Gęślą",))),
        columns=(
            Column(labels["sku"], 0.2),
            Column(labels["product"], 0.6),
            Column(labels["net"], 0.2, "R"),
        ),  # fmt: skip
        rows=tuple(
            (f"CARD-{i}", name, labels.money(Decimal("1234.5"), "PLN")) for i in range(rows)
        ),
        totals=((labels["total_gross"], labels.money(Decimal("1518.44"), "PLN")),),
        footer="INV-2026-000042 · " + labels["page"],
    )


def text_of(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def test_the_same_document_gives_the_same_bytes_with_the_font_caches_cold_or_warm():
    warm = documents.render(sample())
    embedding.forget()
    cold = documents.render(sample())
    assert cold == warm == documents.render(sample())
    assert documents.sha256(cold) == documents.sha256(warm)
    assert documents.render(sample(name="Inne")) != warm  # the content is what differs


def test_the_pdf_dates_are_the_issue_date_not_the_clock():
    info = PdfReader(io.BytesIO(documents.render(sample()))).metadata
    assert info["/CreationDate"].startswith("D:20261202")
    assert info["/Title"] == "Faktura VAT INV-2026-000042"


def test_a_long_table_runs_onto_more_pages_each_with_its_footer():
    pages = text_of(documents.render(sample(rows=80)))
    assert len(pages) >= 2
    assert "INV-2026-000042 · Strona 1 z" in pages[0]
    assert f"Strona {len(pages)} z {len(pages)}" in pages[-1]
    assert "CARD-79" in pages[-1] and "Do zapłaty 1 518,44 PLN" in pages[-1]


def test_a_cell_longer_than_its_column_wraps_instead_of_running_over():
    name = "Wizytówki dwustronne na papierze kredowym 350 g z lakierem UV wybiórczym i folią"
    (page,) = text_of(documents.render(sample(rows=1, name=name)))
    lines = page.splitlines()
    first = next(i for i, line in enumerate(lines) if "Wizytówki dwustronne" in line)
    last = next(i for i, line in enumerate(lines) if "folią" in line)
    assert last > first  # the name went on over more lines of its cell


def test_each_language_writes_numbers_money_and_dates_its_own_way():
    en, pl, fr = Labels("en"), Labels("pl"), Labels("fr")
    amount = Decimal("1234567.5")
    assert en.money(amount, "EUR") == "1,234,567.5 EUR"
    assert pl.money(amount, "PLN") == "1 234 567,5 PLN"
    assert fr.number(Decimal("-1234.50")) == "-1 234,50"
    assert (en.date("2026-12-02"), pl.date("2026-12-02"), fr.date("2026-12-02T10:00:00")) == (
        "2026-12-02", "02.12.2026", "02/12/2026")  # fmt: skip
    assert (pl.rate(Decimal("23.00")), fr.rate(Decimal("5.5"))) == ("23", "5,5")
    assert fr.field("payment_channel", fr.channel("card")) == "Mode de paiement : carte"
    assert Labels("xx").language == "en" and Labels(None, "pl").language == "pl"
    assert Labels("pl").title("invoice") == "Faktura VAT"
