"""Sequential numbers (shared/counters.py), as billing numbers its documents and orders its
references: per series and year from 1, and a number taken in a failed transaction is not used up.
(Concurrent taking, on both stores and through a SIGKILL, is tests/faults/test_invoice_numbers.py.)"""

import pytest

from services.billing.application import BillingApplication
from shared.counters import take


@pytest.fixture
def app(tmp_path):
    application = BillingApplication(f"sqlite:///{tmp_path}/billing.sqlite3")
    yield application
    application.close()


def test_each_series_numbers_from_1_again_in_a_new_year(app):
    with app.transaction() as session:
        taken = [
            (series, year, take(session, app.counters, series=series, year=year))
            for series, year in [
                ("INV", 2026),
                ("INV", 2026),
                ("CN", 2026),
                ("INV", 2027),
                ("INV", 2026),
            ]
        ]
    assert taken == [
        ("INV", 2026, 1),
        ("INV", 2026, 2),
        ("CN", 2026, 1),
        ("INV", 2027, 1),
        ("INV", 2026, 3),
    ]


def test_several_numbers_can_be_taken_at_once(app):
    with app.transaction() as session:
        assert take(session, app.counters, 5, series="PF", year=2026) == 5
        assert take(session, app.counters, series="PF", year=2026) == 6


def test_a_number_taken_in_a_transaction_that_fails_is_not_used_up(app):
    with pytest.raises(RuntimeError):
        with app.transaction() as session:
            assert take(session, app.counters, series="INV", year=2026) == 1
            raise RuntimeError("the document could not be stored")
    with app.transaction() as session:
        assert take(session, app.counters, series="INV", year=2026) == 1
