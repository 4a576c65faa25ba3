"""The third parties of the tests, as real local servers in processes of their own: an SMTP server
(oms/mailcatcher.py, on aiosmtpd) and an SMS provider (oms/smsbox.py), each scripted through a
file, plus a throwaway certificate for TLS."""

import email
import email.policy
import json
import subprocess
import sys
import time
from pathlib import Path

from oms.infra import free_port


class _Server:
    module = ""

    def __init__(self, directory: Path, *options: str, port: int | None = None):
        self.directory, self.port = Path(directory), port or free_port()
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "ready").unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module, str(self.directory), "--port", str(self.port)]
            + list(options),
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while not (self.directory / "ready").exists():
            assert self.process.poll() is None, f"{self.module} exited"
            assert time.monotonic() < deadline, f"{self.module} did not start"
            time.sleep(0.05)

    def script(self, *steps: str) -> None:
        """The answers to the next requests, in order (then `ok` again)."""
        (self.directory / "script").write_text("".join(f"{s}\n" for s in steps))

    def close(self) -> None:
        self.process.kill()
        self.process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class MailServer(_Server):
    module = "oms.mailcatcher"

    def settings(self, **more) -> dict:
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": self.port, **more}

    def messages(self) -> list[email.message.EmailMessage]:
        return [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in sorted(self.directory.glob("*.eml"))
        ]


class SmsProvider(_Server):
    module = "oms.smsbox"

    def settings(self, **more) -> dict:
        return {"SMS_URL": f"http://127.0.0.1:{self.port}/sms/json", **more}

    def messages(self) -> list[dict]:
        log = self.directory / "sms.jsonl"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


class WebhookReceiver(_Server):
    """An integrator's endpoint (oms/hookbox.py) verifying with the `standardwebhooks` library;
    `WebhookReceiver(directory, port=old.port)` starts it again where it was."""

    module = "oms.hookbox"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def trust(self, *secrets: str) -> None:
        """The secrets it verifies with (replacing those before)."""
        (self.directory / "secrets").write_text("".join(f"{s}\n" for s in secrets))

    def deliveries(self) -> list[dict]:
        log = self.directory / "deliveries.jsonl"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    def accepted(self) -> list[dict]:
        """The verified deliveries it answered 2xx, in the order they came."""
        return [d for d in self.deliveries() if d["answered"] == 200]


class DistributorServer(_Server):
    """oms/distributor.py: ordering API (idempotent by key), live stock, feeds, callbacks."""

    module = "oms.distributor"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ordering(self, **more) -> dict:
        return {"channel": "api", "url": f"{self.url}/orders", **more}

    def secret(self, secret: str) -> None:
        """The callback secret its registration answered (it signs with it)."""
        (self.directory / "secret").write_text(secret)

    def stock(self, items: dict) -> None:
        (self.directory / "stock.json").write_text(json.dumps(items))

    def _lines(self, name: str) -> list[dict]:
        path = self.directory / name
        return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []

    def orders(self) -> list[dict]:
        """Every order it took (one per idempotency key)."""
        return self._lines("orders.jsonl")

    def requests(self) -> list[dict]:
        return self._lines("requests.jsonl")

    def cancellations(self) -> list[dict]:
        return self._lines("cancellations.jsonl")

    def callbacks(self) -> list[dict]:
        return self._lines("callbacks.jsonl")

    def stock_requests(self) -> list[dict]:
        return self._lines("stock-requests.jsonl")

    def live(self) -> dict:
        return {"url": f"{self.url}/stock"}

    def feed(self, kind: str = "json", interval: int = 3600) -> dict:
        return {"format": kind, "source": f"{self.url}/feed.{kind}", "interval_seconds": interval}


def certificate(directory: Path) -> tuple[str, str]:
    """A self-signed certificate for localhost and 127.0.0.1: (cert file, key file)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return str(cert), str(key)


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def html_of(message) -> str:
    return message.get_body(("html",)).get_content().replace("\r\n", "\n")
