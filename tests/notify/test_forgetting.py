"""A client's details in a running notify (nameko, a real RabbitMQ, PostgreSQL; orders holding
the keys, notify asking for them over RPC; a real local SMTP server): what notify stores is
sealed, what it sends is plain, and once orders forgets the client notify sends it nothing more,
shows "forgotten client" and — after its read models are written again from its log — holds
none of its details anywhere. (In process, at more length: test_sealing.py.)"""

import pytest
import sqlalchemy as sa

from services.notify.sending import NOT_SENT
from shared.sealing import FORGOTTEN, is_sealed
from tests.conftest import fresh_store, fresh_vhost
from tests.notify.test_sealing import EMAIL, PHONE, STREET, holding
from tests.support import System, eventually, order_payload
from tests.thirdparties import MailServer, text_of


@pytest.fixture(scope="module")
def system(request, rabbit, tmp_path_factory):
    directory = tmp_path_factory.mktemp("forgetting")
    with (
        MailServer(directory / "mail") as mail,
        fresh_vhost(rabbit) as uri,
        fresh_store("postgres", directory, request) as urls,
    ):
        settings = {**mail.settings(), "PUBLIC_URL": "https://shop.example.com"}
        with System(
            uri,
            urls,
            services=("orders", "notify"),
            SEND_BACKOFF_SECONDS=0.3,
            NOTIFY_POLICY="auto",
            **settings,
        ) as running:
            running.mail, running.notify_store = mail, sa.create_engine(urls["notify"])
            yield running
            running.notify_store.dispose()


def notification(rpc, order_id, event_type, status):
    def check():
        notes = rpc.notify.notifications_for_order(order_id)
        found = [n for n in notes if n["event_type"] == event_type]
        return found[0] if found and found[0]["status"] == status else None

    return eventually(check, timeout=60)


def test_a_running_notify_seals_what_it_keeps_sends_plain_and_forgets(system):
    payload = order_payload()
    name = payload["client"]["name"]
    with system.rpc() as rpc:
        order = rpc.orders.place_order(payload)
        placed = notification(rpc, order["id"], "orders.order_placed", "sent")
        (message,) = [m for m in system.mail.messages() if order["reference"] in m["Subject"]]
        assert message["To"] == EMAIL and f"Hello {name}," in text_of(message)
        assert placed["recipient"] == EMAIL and placed["body"].startswith(f"Hello {name},")
        notify = system.notify_store  # every table, raw
        assert holding(notify, name, EMAIL, PHONE, STREET) == {}
        assert "notifyapplication_events" in holding(notify, f"order:{order['id']}")  # (read)
        events = rpc.notify.events_after(0, 100)
        queued = next(e["data"] for e in events if e["data"]["notification_id"] == placed["id"])
        assert is_sealed(queued["recipient"]) and queued["client_subject"] == f"order:{order['id']}"

        rpc.orders.forget_client(f"order:{order['id']}")
        forgotten = eventually(
            lambda: (lambda n: n if n["recipient"] == FORGOTTEN else None)(
                rpc.notify.get_notification(placed["id"])
            ),
            timeout=30,
        )
        assert forgotten["body"].startswith(f"Hello {FORGOTTEN},")
        rpc.orders.hold_order(order["id"], "waiting for artwork")
        held = notification(rpc, order["id"], "orders.order_held", "failed")
        assert held["sends"][0]["attempts"][0]["answer"] == NOT_SENT
        assert len([m for m in system.mail.messages() if order["reference"] in m["Subject"]]) == 1

        rpc.notify.rebuild_read_model()
        assert holding(notify, name, EMAIL, PHONE, STREET) == {}
