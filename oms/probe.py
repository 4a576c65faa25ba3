"""Does a service answer? One `log_status` RPC per service, sent with plain kombu (no eventlet), for
`make run` to say "running" only when it is true."""

import json
import time
import uuid

from kombu import Connection, Exchange, Queue

RPC = Exchange("nameko-rpc", type="topic", durable=True)


def answering(amqp_uri: str, services, timeout: float = 3.0) -> set[str]:
    """The services among `services` that answer `log_status` within `timeout` seconds."""
    answered: set[str] = set()
    reply_to = f"probe-{uuid.uuid4().hex}"
    try:
        with Connection(amqp_uri, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=0)
            queue = Queue(reply_to, exchange=RPC, routing_key=reply_to, exclusive=True)
            queue(conn.default_channel).declare()

            def on_reply(body, message):
                message.ack()
                if not body.get("error"):
                    answered.add(message.properties.get("correlation_id"))

            with conn.Consumer(queue, callbacks=[on_reply], accept=["json"]):
                producer = conn.Producer()
                for service in services:
                    producer.publish(
                        json.dumps({"args": [], "kwargs": {}}),
                        exchange=RPC,
                        routing_key=f"{service}.log_status",
                        reply_to=reply_to,
                        correlation_id=service,
                        content_type="application/json",
                        content_encoding="utf-8",
                    )
                deadline = time.monotonic() + timeout
                while len(answered) < len(services) and time.monotonic() < deadline:
                    try:
                        conn.drain_events(timeout=max(0.05, deadline - time.monotonic()))
                    except TimeoutError:
                        break
    except OSError:
        pass  # no broker: nobody answers
    return answered


def call(amqp_uri: str, service: str, method: str, kwargs: dict, headers: dict, timeout=10.0):
    """One RPC with plain kombu: its reply's body (`{"result": …, "error": …}`), or None if
    nothing answered within `timeout` seconds."""
    replies: list = []
    reply_to = f"probe-{uuid.uuid4().hex}"
    with Connection(amqp_uri, connect_timeout=timeout) as conn:
        queue = Queue(reply_to, exchange=RPC, routing_key=reply_to, exclusive=True)
        queue(conn.default_channel).declare()

        def on_reply(body, message):
            message.ack()
            replies.append(body)

        with conn.Consumer(queue, callbacks=[on_reply], accept=["json"]):
            conn.Producer().publish(
                json.dumps({"args": [], "kwargs": kwargs}),
                exchange=RPC,
                routing_key=f"{service}.{method}",
                reply_to=reply_to,
                correlation_id=uuid.uuid4().hex,
                headers={f"nameko.{k}": v for k, v in headers.items()},
                content_type="application/json",
                content_encoding="utf-8",
            )
            deadline = time.monotonic() + timeout
            while not replies and time.monotonic() < deadline:
                try:
                    conn.drain_events(timeout=max(0.05, deadline - time.monotonic()))
                except TimeoutError:
                    break
    return replies[0] if replies else None
