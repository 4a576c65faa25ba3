"""The key store (shared/keystore.py) on SQLite and PostgreSQL: a subject's key is made once and
kept; destroying it leaves no byte of it in the table, opens what it sealed as "forgotten
client" and never makes it again; a subject never known can be forgotten ahead."""

import pytest
import sqlalchemy as sa

from services.orders.application import OrdersApplication
from shared import schema, sealing
from shared.keystore import KeyStore, keys_table


@pytest.fixture
def keystore(store):
    app = OrdersApplication(store["orders"])
    metadata = sa.MetaData()
    table = keys_table("keystore_test", metadata)
    schema.create(app.engine, metadata)
    yield KeyStore(app, table)
    app.close()


def test_a_key_is_made_once_and_destroying_it_forgets_what_it_sealed(keystore):
    with keystore.app.transaction() as session:
        key = keystore.key_for(session, "client:ADA")
    with keystore.app.transaction() as session:
        assert keystore.key_for(session, "client:ADA") == key
    sealed = sealing.seal(key, "client:ADA", {"name": "Ada Lovelace"})
    assert keystore.keys(["client:ADA", "client:NOBODY"]) == {"client:ADA": key}

    with keystore.app.transaction() as session:
        assert keystore.destroy(session, "client:ADA", "operator") is True
    assert keystore.keys(["client:ADA"]) == {"client:ADA": None}
    assert sealing.open_all(sealed, keystore.keys(["client:ADA"])) == sealing.FORGOTTEN
    with keystore.app.engine.connect() as conn:
        rows = conn.execute(sa.select(keystore.table)).all()
    assert all(key not in bytes(row.key or b"") for row in rows)
    assert [(r.subject, r.forgotten_by) for r in rows] == [("client:ADA", "operator")]
    with keystore.app.transaction() as session:
        assert keystore.key_for(session, "client:ADA") is None  # never made again
        assert keystore.destroy(session, "client:ADA", "operator") is False


def test_a_subject_never_known_is_forgotten_ahead(keystore):
    with keystore.app.transaction() as session:
        assert keystore.destroy(session, "order:7", "operator") is True
        assert keystore.key_for(session, "order:7") is None
    assert keystore.keys(["order:7"]) == {"order:7": None}


def test_a_rolled_back_transaction_makes_no_key(keystore):
    with pytest.raises(RuntimeError), keystore.app.transaction() as session:
        keystore.key_for(session, "client:BOB")
        raise RuntimeError("the save failed")
    assert keystore.keys(["client:BOB"]) == {}
