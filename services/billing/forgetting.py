"""Clients' personal data in billing (shared/personal.py): kept sealed as it came from orders —
in the accounts' events, the documents' details, the catalogue copies — and opened only where
billing shows it: a document's PDF, an RPC answer, the documents list (whose names are scrubbed
when the client is forgotten).

What an issued invoice prints is the one thing billing keeps of a forgotten client. The VAT
directive (2006/112/EC) wants an invoice to state the customer's full name and address (art. 226)
and the seller to keep its invoices for years (art. 244-247: about ten, by member state); a
credit note or supplementary invoice amends an invoice and is one (art. 219). So when such a
document is issued, the buyer's name and address are opened and sealed again with a key of
billing's own, that of `retention:billing:<year of issue>`, in a plain table of billing's store
(`billing_personal_keys`, never in an event): forgetting the client leaves them on its invoices.
A key per year is so that a year whose retention has ended can be shredded at once by destroying
its key. Everything else follows the client's key: the e-mail and phone (an invoice does not
print them), the details as they came, pro-formas, the catalogue copies and the documents list.
Retention subjects are billing's alone: they are never asked of orders, and never published.
"""

import sqlalchemy as sa

from services.billing import clients, projections
from shared import sealing
from shared.contracts import load
from shared.keystore import KeyStore, keys_table
from shared.personal import seal_address

RETENTION = "retention:billing:"
KEYS_AT_ONCE = 500  # subjects per `orders.personal_keys` call (it takes at most 1000)


def retention_subject(year: int) -> str:
    return f"{RETENTION}{year}"


class Forgetting:
    """Mixed into the billing application (it provides `keyring`, `transaction`, `lock_log`,
    `tables`)."""

    def define_keys(self, metadata: sa.MetaData) -> None:
        self.retention = KeyStore(self, keys_table("billing", metadata))

    # -- opening -----------------------------------------------------------------------------------
    def keys_for(self, subjects, session=None) -> dict:
        """{subject: key or None}: billing's retention keys from its own table (read in `session`
        if given: it sees a key made in it), clients' from orders through the keyring."""
        subjects = set(subjects)
        own = {s for s in subjects if s.startswith(RETENTION)}
        keys = self.retention.keys(own, session) if own else {}
        theirs = sorted(subjects - own)
        for start in range(0, len(theirs), KEYS_AT_ONCE):
            keys.update(self.keyring.keys(theirs[start : start + KEYS_AT_ONCE]))
        return keys

    def opened(self, data, session=None):
        """`data` with every sealed value in it opened ("forgotten client" where its key is gone)."""
        subjects = sealing.subjects_in(data)
        return sealing.open_all(data, self.keys_for(subjects, session)) if subjects else data

    def warm_keys(self, *data) -> None:
        """Ask for the keys of the clients' details in `data` now, before a transaction that will
        open them: on SQLite, a transaction that waits on orders while it holds the store's
        write lock stalls the whole process (another writer waits inside SQLite, where eventlet
        cannot switch). Within the keyring's time (60 s) the opening then asks nothing."""
        subjects = sealing.subjects_in(list(data))
        if subjects:
            self.keys_for(subjects)

    def printable(self, document: dict, session=None) -> dict:
        """A document opened, as its PDF is rendered from (and its fingerprint taken of)."""
        return self.opened(document, session)

    # -- keeping what an invoice prints ------------------------------------------------------------
    def retained_buyer(self, session, billing: dict, year: int) -> dict:
        """The buyer's name and address from `billing` (the details as they came), sealed again
        with the retention key of `year`, made in `session` on first use."""
        subject = retention_subject(year)
        key = self.retention.key_for(session, subject)
        if key is None:  # only a year whose retention ended has no key: never the year of issue
            raise RuntimeError(f"the retention key {subject} was destroyed")
        buyer = self.opened({"name": billing.get("name"), "address": billing.get("address")})
        name = buyer["name"]
        return {
            "name": sealing.seal(key, subject, name) if name is not None else None,
            "address": seal_address(buyer["address"], key, subject),
        }

    # -- forgetting --------------------------------------------------------------------------------
    def _client_forgotten(self, envelope: dict) -> list:
        """`orders.client_forgotten` (heard in every segment: idempotent): drop the client's key
        from the keyring, scrub its name from the documents list, and its catalogue copy."""
        forgotten = load(envelope["type"], envelope["data"])
        self.keyring.forget(forgotten["subject"])
        with self.transaction() as session:
            self.lock_log(session)  # the log first, as every save of the documents list takes it
            projections.forget_client(session, self.tables, forgotten["subject"])
            if forgotten.get("code"):
                clients.forget(session, self.tables, forgotten["code"], envelope["sequence"])
        return []
