"""A local webhook receiver that verifies what it gets with the `standardwebhooks` library, as an
integrator's endpoint would: every request is kept as one JSON line in `DIR/deliveries.jsonl`
(its headers, body, whether it verified and with which secret) — the tests' real receiver, and a
place to point a subscription at while trying the system out.

    python -m oms.hookbox DIR --port 8028

It takes the secrets to verify with from `DIR/secrets` (one `whsec_…` a line, read on every
request): a delivery that verifies with none is answered 401. Tests script its answers through
`DIR/script`: each verified request takes the first line — `ok`, `http 503` (that status),
`slow SECONDS` (wait, then accept) or `hang SECONDS` (wait, then answer 504).
"""

import argparse
import os
import time
from pathlib import Path

from standardwebhooks import Webhook, WebhookVerificationError

from oms.standin_http import JsonHandler, ScriptedServer


class HookBox(ScriptedServer):
    def __init__(self, address, directory: Path):
        super().__init__(address, Handler, directory)

    def secrets(self) -> list[str]:
        path = self.directory / "secrets"
        return path.read_text().split() if path.exists() else []


def verify(secrets: list[str], body: bytes, headers: dict) -> tuple[int | None, str | None]:
    """(the index of the secret that verified, or None; the library's complaint, or None)."""
    problem = "no secrets to verify with"
    for i, secret in enumerate(secrets):
        try:
            Webhook(secret).verify(body, headers)
            return i, None
        except WebhookVerificationError as exc:
            problem = str(exc)
    return None, problem


class Handler(JsonHandler):
    server: HookBox

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        verified_by, problem = verify(self.server.secrets(), body, headers)
        record = {
            "path": self.path,
            "webhook_id": headers.get("webhook-id"),
            "timestamp": headers.get("webhook-timestamp"),
            "signatures": len(headers.get("webhook-signature", "").split()),
            "headers": headers,
            "body": body.decode(errors="replace"),
            "verified_by": verified_by,
            "problem": problem,
            "received": time.time(),
        }
        if verified_by is None:
            self.server.keep("deliveries.jsonl", dict(record, answered=401))
            return self._answer(401, {"error": problem})
        step = self.server.next_step()
        if step.startswith("http"):
            status = int(step.split()[1])
            self.server.keep("deliveries.jsonl", dict(record, answered=status))
            return self._answer(status, {"error": "scripted"})
        if step.startswith("hang"):
            time.sleep(float(step.split()[1]))
            self.server.keep("deliveries.jsonl", dict(record, answered=504))
            return self._answer(504, {"error": "scripted hang"})
        if step.startswith("slow"):
            time.sleep(float(step.split()[1]))
        self.server.keep("deliveries.jsonl", dict(record, answered=200))
        self._answer(200, {"received": headers.get("webhook-id")})


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="hookbox", description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8028)
    args = parser.parse_args(argv)
    server = HookBox((args.host, args.port), args.directory)
    (args.directory / "ready").write_text(str(os.getpid()))
    print(f"hookbox: http://{args.host}:{args.port}/ -> {args.directory}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
