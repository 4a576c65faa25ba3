"""A local SMS provider with Vonage's SMS API (`POST /sms/json`): it keeps every message it accepts
as one JSON line in `DIR/sms.jsonl` — the SMS stand-in `make run` starts (the "local log") and the
tests' real provider.

    python -m oms.smsbox DIR --port 8026 [--key KEY]

A plain threaded HTTP server in a process of its own. Tests script its answers through
`DIR/script`: each request takes the first line — `ok`, `http 503` (that status, no message
taken), `status 1` (Vonage's "throttled": try later) or `status 3` ("invalid parameters"),
`slow SECONDS` (wait, then accept) or `hang SECONDS` (wait, then answer 504).
"""

import argparse
import json
import os
import time
import uuid
from pathlib import Path

from oms.standin_http import JsonHandler, ScriptedServer

ERRORS = {"1": "Throttled", "3": "Invalid Message", "6": "Invalid Message"}


class SmsBox(ScriptedServer):
    def __init__(self, address, directory: Path, key: str | None):
        super().__init__(address, Handler, directory)
        self.key = key


class Handler(JsonHandler):
    server: SmsBox

    def do_POST(self):  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length))
        except ValueError:
            return self._answer(400, {"error": "not JSON"})
        if self.path != "/sms/json":
            return self._answer(404, {"error": "no such path"})
        if self.server.key and body.get("api_key") != self.server.key:
            return self._answer(401, {"error": "Bad Credentials"})
        step = self.server.next_step()
        if step.startswith("http"):
            return self._answer(int(step.split()[1]), {"error": "scripted"})
        if step.startswith("hang"):
            time.sleep(float(step.split()[1]))
            return self._answer(504, {"error": "scripted hang"})
        if step.startswith("slow"):
            time.sleep(float(step.split()[1]))
        if step.startswith("status"):
            status = step.split()[1]
            message = {"status": status, "error-text": ERRORS.get(status, "Error")}
            return self._answer(200, {"message-count": "1", "messages": [message]})
        message_id = uuid.uuid4().hex[:16].upper()
        self.server.keep("sms.jsonl", {**body, "message-id": message_id, "received": time.time()})
        message = {
            "to": body.get("to"),
            "message-id": message_id,
            "status": "0",
            "client-ref": body.get("client-ref"),
        }
        self._answer(200, {"message-count": "1", "messages": [message]})


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="smsbox", description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8026)
    parser.add_argument("--key")
    args = parser.parse_args(argv)
    server = SmsBox((args.host, args.port), args.directory, args.key)
    (args.directory / "ready").write_text(str(os.getpid()))
    print(f"smsbox: http://{args.host}:{args.port}/sms/json -> {args.directory}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
