"""The channels purchase orders go out through, each a callable the shared sender calls outside any
transaction: a distributor's ordering API over HTTP (`requests`), and the hand-over to notify of
the PDF for distributors who take orders by e-mail (the attempt's record is what notify reacts to:
nothing leaves this process). Each raises `Transient` (try again later) or `Permanent` (never)."""

import requests

from shared.sender import Delivery, Transient, check_http
from shared.settings import Settings


class DistributorApi:
    """`POST` the purchase order (or its cancellation) as JSON with the purchase order's id as the
    `Idempotency-Key`, so a retry after a timeout or a crash orders nothing twice. 2xx: sent (its
    JSON says acknowledged, rejected, or to wait for a callback); 404 on a cancellation: the
    distributor never had it (nothing to cancel); 408, 409 (a request with that key is under
    way), 425, 429 and 5xx: try again; other 4xx: never."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.session = requests.Session()

    def __call__(self, delivery: Delivery) -> tuple[str, str | None]:
        content = delivery.content
        headers = {"Idempotency-Key": content["idempotency_key"]}
        if content.get("credential"):
            headers["Authorization"] = f"Bearer {content['credential']}"
        try:
            response = self.session.post(
                content["url"],
                json=content["body"],
                headers=headers,
                timeout=self.settings.send_timeout_seconds,
            )
        except requests.RequestException as exc:
            raise Transient(f"{type(exc).__name__}: {exc}") from None
        answer = f"HTTP {response.status_code}: {response.text[:1500]}"
        status = response.status_code
        if status == 404 and content["url"].endswith("/cancel"):
            return answer, None
        check_http(status, answer)
        reference = None
        try:
            said = response.json()
            reference = said.get("reference") if isinstance(said, dict) else None
        except ValueError:
            pass
        return answer, None if reference is None else str(reference)[:200]

    def close(self) -> None:
        self.session.close()


def hand_to_notify(delivery: Delivery) -> tuple[str, None]:
    """Recorded as sent, the attempt is published with the PDF; notify mails it."""
    return f"handed to notify for {delivery.recipient}", None


def channels(settings: Settings) -> dict:
    return {"api": DistributorApi(settings), "email": hand_to_notify}
