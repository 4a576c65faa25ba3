"""The sender: delivers what a service must send to a third party (e-mail, SMS, purchase orders,
webhooks), written once for every service that sends (DESIGN.md, "Talking to the outside world").

A reaction or a command records *what must be sent* as an event (a send request) in the same
transaction as everything else; the service's **outbox** (shared/outbox.py) — a read model of
those events, written in their transaction and rebuildable from them — is the durable queue of
pending sends. The sender (one per service, leader-locked like the relay) reads the sends that are
due, asks the application for each one's `Delivery`, calls the channel outside any transaction,
and records the attempt as an event: sent, to retry (transient failures, with exponential backoff)
or failed (permanent ones, or too many tries). A send already settled is never tried again,
whatever is redelivered.

The one window in which a send can repeat: the third party has accepted it and the process dies
before the attempt is recorded (milliseconds). The next leader tries it again with the *same*
attempt number, so the repeat carries the same idempotency key (the SMS `client-ref`, the e-mail
`Message-ID`, the distributor's idempotency key) and a third party that honours it drops it.
"""

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import eventlet

from shared import logging as oms_logging
from shared import metrics
from shared.leadership import leader_lock
from shared.store import STORE_DOWN

log = oms_logging.get("sender")


@dataclass(frozen=True)
class Delivery:
    """One attempt at one send, as the channel gets it."""

    send_id: str
    #: 1, 2, …: the same number again when a crash lost the record of an attempt
    attempt: int
    channel: str
    recipient: str
    content: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The idempotency key of this attempt for the third party."""
        return f"{self.send_id}.{self.attempt}"


class Transient(Exception):
    """Try again later: a 4xx SMTP reply, a refused connection, an HTTP 5xx, a timeout."""


class Permanent(Exception):
    """Never try again: a 5xx SMTP reply, an invalid number, an HTTP 4xx."""


#: HTTP answers worth trying again: timeout, conflict (a request with that key under way), too
#: early, too many requests; and every 5xx
RETRIED_HTTP = (408, 409, 425, 429)


def check_http(status: int, answer: str) -> None:
    """Raise `Transient` or `Permanent` for an HTTP status that is no success (2xx)."""
    if status >= 500 or status in RETRIED_HTTP:
        raise Transient(answer)
    if not 200 <= status < 300:
        raise Permanent(answer)


@dataclass(frozen=True)
class Outcome:
    status: str  # sent | retry | failed
    answer: str  # what the third party said (or why it could not be asked)
    reference: str | None = None  # the third party's id for it, when it gives one
    retry_at: float | None = None  # epoch seconds, when status is "retry"
    gave_up: bool = False  # failed because every retry was used (not refused for good)


Channel = Callable[[Delivery], tuple[str, str | None]]  # -> (answer, reference); raises above


@dataclass(frozen=True)
class Backoff:
    first: float = 5.0  # seconds before the second attempt
    most: float = 3600.0  # the longest wait between two attempts
    attempts: int = 8  # then the send is failed

    def outcome(self, attempt: int, answer: str, now: float) -> Outcome:
        if attempt >= self.attempts:
            return Outcome("failed", f"gave up after {attempt} attempts: {answer}", gave_up=True)
        wait = min(self.first * 2 ** (attempt - 1), self.most) * random.uniform(0.8, 1.2)
        return Outcome("retry", answer, retry_at=now + wait)


class Sender:
    """Sends what is due, in order, one at a time, while it holds the service's sender lock.

    `backoffs` may give a channel a retry schedule of its own (webhooks retry over hours). An
    application that paces its sends (one at a time per webhook subscription, in order) has
    `feed_sends()`: it is called while leading, before each look at what is due, and records
    the send requests that may go now."""

    def __init__(
        self,
        app,
        channels: Mapping[str, Channel],
        backoff: Backoff,
        poll_seconds: float = 1.0,
        backoffs: Mapping[str, Backoff] | None = None,
    ):
        self.app, self.channels, self.backoff = app, channels, backoff
        self.backoffs = dict(backoffs or {})
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stopping = False
        self._leader = leader_lock(app, "sender")

    def prompt(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    def run(self) -> None:
        backoff = 0.1
        try:
            while not self._stopping:
                try:
                    if not self.send_due():
                        self._wake.wait(self._idle_for())
                        self._wake.clear()
                    backoff = 0.1
                except Exception as exc:  # noqa: BLE001 - survive store outages: nothing is lost
                    log.warning("sender_failed", error=repr(exc)[:300], retry_in=backoff)
                    eventlet.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
        finally:
            self._leader.release()
            for channel in self.channels.values():
                close = getattr(channel, "close", None)
                if close is not None:
                    close()

    def _idle_for(self) -> float:
        due = self.app.outbox.next_due(self.app.engine)
        if due is None:
            return self.poll_seconds
        return max(0.05, min(self.poll_seconds, due - time.time()))

    def send_due(self) -> int:
        """Try the sends that are due now, once each, while this sender leads; return how many
        were tried (a send deferred with no wait is due again on the next call)."""
        if self._stopping or not self._leader.acquire():
            return 0
        feed = getattr(self.app, "feed_sends", None)
        if feed is not None:
            feed()
        tried = 0
        for send_id in self.app.outbox.due(self.app.engine, time.time()):
            if self._stopping:
                break
            try:
                delivery = self.app.delivery(send_id)
            except STORE_DOWN:
                raise
            except Exception as exc:  # noqa: BLE001 - one send that cannot be built (its third
                # party's settings changed under it) must not hold up the others behind it
                log.warning("delivery_unbuilt", send_id=send_id, error=repr(exc)[:300])
                continue
            if delivery is not None:
                outcome = self.attempt(delivery)
                self.app.record_attempt(delivery, outcome)
                metrics.SENDS.labels(self.app.service, delivery.channel, outcome.status).inc()
                tried += 1
        return tried

    def attempt(self, delivery: Delivery) -> Outcome:
        """Call the channel (no transaction is open here) and say what came of it."""
        channel = self.channels.get(delivery.channel)
        if channel is None:
            return Outcome("failed", f"no channel {delivery.channel!r} is configured")
        try:
            answer, reference = channel(delivery)
        except Permanent as exc:
            log.warning("send_failed", send_id=delivery.send_id, answer=str(exc)[:300])
            return Outcome("failed", str(exc))
        except Exception as exc:  # noqa: BLE001 - transient by default: refused, timed out, reset
            answer = str(exc) if isinstance(exc, Transient) else f"{type(exc).__name__}: {exc}"
            log.info("send_deferred", send_id=delivery.send_id, answer=answer[:300])
            backoff = self.backoffs.get(delivery.channel, self.backoff)
            return backoff.outcome(delivery.attempt, answer, time.time())
        return Outcome("sent", answer, reference)
