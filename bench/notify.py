"""`make bench`, part 5: notify's sending.

1. **Messages per second through SMTP** to the local SMTP server (oms/mailcatcher.py, aiosmtpd, in
   its own process): N notifications are queued in notify's store (SQLite file, in this
   process), then the shared sender sends them all — read the outbox, build the delivery, SMTP
   MAIL/RCPT/DATA on a kept connection, record the attempt as an event — and, for the floor, the
   e-mail channel alone sends the same messages with nothing recorded.
2. **Status change → e-mail received**: the five services as in production (one process each,
   SQLite, a throwaway RabbitMQ) and the local SMTP server. Orders are placed, then accepted one
   at a time at a steady pace; for each, the time from the moment `accept_order` is called until
   the SMTP server has written the "accepted" e-mail to disk (its file's name carries the time it
   was taken). p50 and p99.
"""

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import email  # noqa: E402
import email.policy  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from uuid import UUID  # noqa: E402

from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from bench.system import Services, bench_actor, percentile  # noqa: E402
from oms.rabbitmq import RabbitNode  # noqa: E402
from services.notify.application import NotifyApplication  # noqa: E402
from services.notify.channels import Email  # noqa: E402
from services.notify.service import channels  # noqa: E402
from shared import context  # noqa: E402
from shared.sender import Backoff, Delivery, Sender  # noqa: E402
from shared.settings import SERVICES, Settings  # noqa: E402
from tests.support import create_vhost, order_payload  # noqa: E402
from tests.thirdparties import MailServer  # noqa: E402


def queue_notifications(app: NotifyApplication, n: int) -> None:
    for i in range(n):
        payload = order_payload()
        data = {
            "order_id": f"00000000-0000-4000-8000-{i:012d}",
            "reference": f"2026-{i:06d}",
            "client": payload["client"],
            "total": "63.50",
            "currency": "EUR",
        }
        envelope = {
            "id": f"orders:{i + 1}",
            "type": "orders.order_placed",
            "source": "orders",
            "subject": data["order_id"],
            "data": data,
        }
        with context.bound(correlation_id=f"bench-{i}", causation_id=envelope["id"]):
            app.save(*app.react(envelope))


def throughput(workdir: Path, n: int) -> dict:
    with MailServer(workdir / "mail-1") as mail:
        settings = Settings.load(mail.settings())
        app = NotifyApplication(f"sqlite:///{workdir}/notify.sqlite3", settings)
        queue_notifications(app, n)
        sender = Sender(app, channels(settings), Backoff())
        started = time.perf_counter()
        while sender.send_due():
            pass
        sent_in = time.perf_counter() - started
        sender._leader.release()
        assert len(mail.messages()) == n, "not every message arrived"
        sent = [
            first_attempt(app, row["send_id"]) for row in app.outbox.entries(app.engine, limit=n)
        ]
        app.close()
    with MailServer(workdir / "mail-2") as mail:
        channel = Email(Settings.load(mail.settings()))
        started = time.perf_counter()
        for delivery in sent:
            channel(delivery)
        floor_in = time.perf_counter() - started
        channel.close()
    return {"n": n, "sender": n / sent_in, "channel": n / floor_in}


def first_attempt(app, send_id: str) -> Delivery:
    """A send's first attempt, as it went out."""
    notification = app.repository.get(UUID(send_id.split(":")[0]))
    attempt = notification.sends[send_id]["attempts"][0]
    return Delivery(send_id, 1, "email", attempt["recipient"], attempt["content"])


def latency(workdir: Path, n: int, pace: float) -> list[float]:
    node = RabbitNode(workdir / "rabbitmq")
    node.start()
    services = None
    try:
        with MailServer(workdir / "mail-3") as mail:
            create_vhost(node, "notify")
            uri = f"{node.amqp_uri}notify"
            os.environ.update(
                OMS_SMTP_HOST="127.0.0.1", OMS_SMTP_PORT=str(mail.port), OMS_NOTIFY_POLICY="auto"
            )
            urls = {s: f"sqlite:///{workdir}/{s}-system.sqlite3" for s in SERVICES}
            services = Services(uri, urls, workdir / "logs")
            services.start()
            services.wait_ready()
            with ClusterRpcProxy({"AMQP_URI": uri}, timeout=30, context_data=bench_actor()) as rpc:
                orders = [rpc.orders.place_order(order_payload()) for _ in range(n)]
                eventlet.sleep(3)  # their "received" e-mails go out first
                asked = {}
                for order in orders:
                    asked[order["reference"]] = time.time()
                    rpc.orders.accept_order(order["id"])
                    eventlet.sleep(pace)
                return received_after(mail.directory, asked)
    finally:
        if services is not None:
            services.stop()
        node.stop()


def received_after(directory: Path, asked: dict, timeout: float = 60) -> list[float]:
    """Milliseconds from each accept to its e-mail on the server's disk."""
    deadline, found = time.monotonic() + timeout, {}
    while len(found) < len(asked) and time.monotonic() < deadline:
        for path in sorted(directory.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            subject = str(message["Subject"])
            if subject.endswith(" accepted"):
                reference = subject.split()[1]
                if reference in asked and reference not in found:
                    found[reference] = float(path.name.split("-")[0])
        eventlet.sleep(0.5)
    missing = set(asked) - set(found)
    if missing:
        raise RuntimeError(f"{len(missing)} accepted e-mails never arrived")
    return [(found[r] - asked[r]) * 1000 for r in asked]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=500, help="sent through SMTP")
    parser.add_argument("--orders", type=int, default=100, help="accepted, for the latency")
    parser.add_argument("--pace", type=float, default=0.3, help="seconds between accepts")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="oms-bench-notify-"))
    try:
        rate = throughput(workdir, args.messages)
        delays = latency(workdir, args.orders, args.pace)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\n## notify: sending e-mail (SQLite; the local SMTP server, aiosmtpd, on loopback)")
    print("| what | figure |")
    print("|---|---|")
    print(
        f"| sender: outbox → SMTP → attempt recorded ({rate['n']} messages) | {rate['sender']:.0f} messages/s |"
    )
    print(
        f"| the e-mail channel alone, the same messages (floor) | {rate['channel']:.0f} messages/s |"
    )
    print(
        f"| accept_order → the e-mail on the server's disk ({len(delays)} orders, one every"
        f" {args.pace} s) | p50 {percentile(delays, 50):.0f} ms, p99 {percentile(delays, 99):.0f} ms |"
    )


if __name__ == "__main__":
    main()
