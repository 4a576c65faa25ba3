"""The followers' queues on a real broker: one per replica, named after it, expiring once unused;
quorum queues where the settings say so (what a RabbitMQ cluster runs); the one queue all replicas
shared before streams had segments is removed, so nothing piles up in it."""

from kombu import Connection, Queue

from tests.support import System, eventually, management, order_payload


def test_followers_hear_their_upstreams_in_quorum_queues_of_their_own(rabbit, amqp_uri, store):
    vhost = amqp_uri.rsplit("/", 1)[1]
    with Connection(amqp_uri) as conn:  # left by an older version: nobody reads it any more
        Queue("billing.from.orders", durable=True)(conn.default_channel).declare()
    settings = {"QUEUE_TYPE": "quorum", "INSTANCE": "replica-a"}
    with System(amqp_uri, store, services=("orders", "billing"), **settings) as system:
        queue = eventually(lambda: found(rabbit, vhost, "billing.from.orders.replica-a"))
        assert queue["type"] == "quorum"
        assert queue["arguments"]["x-expires"] == 1800 * 1000
        assert found(rabbit, vhost, "billing.from.orders") is None
        with system.rpc() as rpc:
            order = rpc.orders.place_order(order_payload())
            rpc.orders.accept_order(order["id"])
            assert len(eventually(lambda: rpc.billing.invoices_for_order(order["id"]))) == 1
            segments = rpc.billing.log_status()["segments"]["orders"]
            assert segments == {
                "count": 12,
                "replicas": {"replica-a": list(range(12))},
                "unheld": 0,
            }


def found(rabbit, vhost: str, name: str) -> dict | None:
    queues = management(rabbit, "GET", f"queues/{vhost}")
    return next((q for q in queues if q["name"] == name), None)
