"""Load for fault tests: callers that place and accept orders through a fault, retrying each call
with the same idempotency key until it goes through (so every order ends up accepted, once)."""

import contextlib
import io

import eventlet
from nameko.standalone.rpc import ClusterRpcProxy

from oms import cli
from tests.support import acting, order_payload, random_ref


class Burst:
    def __init__(self, config: dict, orders: int, callers: int, pace: float = 0.0, tries=200):
        self.config, self.orders, self.callers, self.pace, self.tries = (
            config,
            orders,
            callers,
            pace,
            tries,
        )
        self.accepted: list[str] = []
        self.failures: list[str] = []  # calls that failed during the fault (then retried)
        self.pool = eventlet.GreenPool(callers)
        self.run = random_ref("burst-")

    @property
    def done(self) -> int:
        return len(self.accepted)

    def start(self) -> "Burst":
        for caller in range(self.callers):
            self.pool.spawn(self._caller, range(caller, self.orders, self.callers))
        return self

    def wait(self, timeout: float = 300.0) -> None:
        """Wait for every caller; a system that never recovers fails the test, it does not hang it."""
        try:
            with eventlet.Timeout(timeout):
                self.pool.waitall()
        except eventlet.Timeout:
            raise AssertionError(
                f"{self.done}/{self.orders} orders accepted after {timeout}s; "
                f"last failures: {self.failures[-5:]}"
            ) from None

    def _caller(self, numbers) -> None:
        proxy = None
        for n in numbers:
            key = f"{self.run}-{n}"
            payload = order_payload()
            for _ in range(self.tries):
                try:
                    if proxy is None:
                        manager = ClusterRpcProxy(
                            self.config, timeout=10, context_data=acting("burst")
                        )
                        proxy = manager.start()
                    order = proxy.orders.place_order(payload, idempotency_key=key)
                    proxy.orders.accept_order(order["id"])
                    self.accepted.append(order["id"])
                    break
                except Exception as exc:  # noqa: BLE001 - the fault: try again, same key
                    self.failures.append(repr(exc)[:200])
                    with contextlib.suppress(Exception):
                        manager.stop()
                    proxy = None
                    eventlet.sleep(0.5)
            if self.pace:
                eventlet.sleep(self.pace)
        if proxy is not None:
            with contextlib.suppress(Exception):
                manager.stop()


def assert_verified(amqp_uri: str, *options: str) -> str:
    """`oms verify` over the running system: no breaches (else its report is the failure)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["--amqp-uri", amqp_uri, "verify", "--settle", "120", *options])
    assert code == 0, out.getvalue()
    assert "no breaches" in out.getvalue()
    return out.getvalue()
