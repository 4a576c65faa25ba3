"""A local distributor: the ordering API, live stock-and-price API and feed that the fulfilment
service talks to — the sandbox distributor `make run` starts and the tests' real distributors.

    python -m oms.distributor DIR --port 8027 [--answer ack|later|reject] [--credential C]

  POST /orders                 a purchase order (JSON) with an `Idempotency-Key` header: a key
                               seen before answers what it answered first and orders nothing
                               more (every order taken is one line of DIR/orders.jsonl, every
                               request one of DIR/requests.jsonl)
  POST /orders/<id>/cancel     its cancellation (404: no such order); DIR/cancellations.jsonl
  GET  /stock?skus=A,B         live stock and cost prices from DIR/stock.json
                               (`{"SKU": {"stock": 5, "cost_price": "4.10"}}`), after
                               --stock-delay seconds, or --stock-status when not 200
  GET  /feed.json, /feed.csv   the same, as a feed

`--answer`: `ack` acknowledges in the answer, `reject` rejects, `later` answers 202 and
acknowledges a moment afterwards by a signed callback to the order's `callback_url`
(HMAC-SHA256 with the secret in DIR/secret: `X-Distributor-Timestamp`, `X-Distributor-Signature`).
Tests script the next answers through DIR/script, one line per request: `ok` (as --answer),
`ack`, `later`, `reject REASON`, `http 503` (that status, nothing ordered), `slow SECONDS` (wait,
then answer as usual), `hang SECONDS` (wait, then 504, nothing ordered), `lost` (order it, then
close the connection without an answer).
"""

import argparse
import csv
import io
import json
import os
import sys
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

import requests

from oms.standin_http import JsonHandler, ScriptedServer
from shared import signing


class Distributor(ScriptedServer):
    def __init__(
        self, address, directory: Path, answer: str, credential: str | None, stock=(0, 200)
    ):
        super().__init__(address, Handler, directory)
        self.answer, self.credential = answer, credential
        self.stock_delay, self.stock_status = stock
        self.answers: dict[str, tuple[int, dict]] = {}  # idempotency key -> first answer
        self.under_way: set[str] = set()
        for line in self._lines("orders.jsonl"):
            self.answers[line["key"]] = (line["status"], line["answer"])

    def _lines(self, name: str) -> list:
        path = self.directory / name
        return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []

    def handle_error(self, request, client_address):
        """A caller that gave up (its deadline passed) is no error of ours."""
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)

    def stock(self) -> dict:
        path = self.directory / "stock.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def call_back(self, body: dict, reference: str, delay: float) -> None:
        def later():
            time.sleep(delay)
            secret = (self.directory / "secret").read_text().strip()
            raw = json.dumps(
                {
                    "purchase_order_id": body["purchase_order_id"],
                    "status": "acknowledged",
                    "reference": reference,
                }
            ).encode()
            stamp = int(time.time())
            headers = {
                "Content-Type": "application/json",
                "X-Distributor-Timestamp": str(stamp),
                "X-Distributor-Signature": signing.sign(secret, stamp, raw),
            }
            for _ in range(30):  # until the gateway answers
                try:
                    answer = requests.post(
                        body["callback_url"], data=raw, headers=headers, timeout=5
                    )
                    self.keep(
                        "callbacks.jsonl", {"status": answer.status_code, "body": answer.text}
                    )
                    if answer.status_code < 500:
                        return
                except requests.RequestException as exc:
                    self.keep("callbacks.jsonl", {"error": str(exc)})
                time.sleep(1)

        threading.Thread(target=later, daemon=True).start()


class Handler(JsonHandler):
    server: Distributor

    def do_GET(self):  # noqa: N802 - http.server's name
        url = urllib.parse.urlsplit(self.path)
        stock = self.server.stock()
        if url.path == "/stock":
            wanted = urllib.parse.parse_qs(url.query).get("skus", [""])[0].split(",")
            self.server.keep("stock-requests.jsonl", {"skus": wanted, "at": time.time()})
            time.sleep(self.server.stock_delay)
            if self.server.stock_status != 200:
                return self._answer(self.server.stock_status, {"error": "scripted"})
            items = [dict(stock[s], sku=s) for s in wanted if s in stock]
            return self._answer(200, {"items": items})
        if url.path == "/feed.json":
            return self._answer(200, {"items": [dict(v, sku=k) for k, v in stock.items()]})
        if url.path == "/feed.csv":
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(["sku", "stock", "cost_price"])
            for sku, item in stock.items():
                writer.writerow([sku, item["stock"], item["cost_price"]])
            return self._raw(200, out.getvalue().encode(), "text/csv")
        return self._answer(404, {"error": "no such path"})

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length))
        except ValueError:
            return self._answer(400, {"error": "not JSON"})
        if self.server.credential and self.headers.get("Authorization") != (
            f"Bearer {self.server.credential}"
        ):
            return self._answer(401, {"error": "bad credential"})
        key = self.headers.get("Idempotency-Key")
        self.server.keep("requests.jsonl", {"path": self.path, "key": key, "at": time.time()})
        parts = self.path.strip("/").split("/")
        if parts == ["orders"]:
            return self._order(key, body)
        if len(parts) == 3 and parts[0] == "orders" and parts[2] == "cancel":
            known = {x["body"]["purchase_order_id"] for x in self.server._lines("orders.jsonl")}
            if parts[1] not in known:
                return self._answer(404, {"error": "no such order"})
            self.server.keep("cancellations.jsonl", {"purchase_order_id": parts[1], "key": key})
            return self._answer(200, {"status": "cancelled"})
        return self._answer(404, {"error": "no such path"})

    def _order(self, key: str | None, body: dict):
        if not key:
            return self._answer(400, {"error": "an Idempotency-Key header is required"})
        with self.server.lock:
            first = self.server.answers.get(key)
            busy = key in self.server.under_way
            if first is None and not busy:
                self.server.under_way.add(key)
        if first is not None:
            return self._answer(*first)
        if busy:
            return self._answer(409, {"error": "a request with this key is under way"})
        try:
            self._new_order(key, body)
        finally:
            with self.server.lock:
                self.server.under_way.discard(key)

    def _new_order(self, key: str, body: dict):
        step = self.server.next_step()
        if step.startswith("http"):
            return self._answer(int(step.split()[1]), {"error": "scripted"})
        if step.startswith("hang"):
            time.sleep(float(step.split()[1]))
            return self._answer(504, {"error": "scripted hang"})
        if step.startswith("slow"):
            time.sleep(float(step.split()[1]))
            step = "ok"
        how = self.server.answer if step in ("ok", "lost") else step.split()[0]
        reference = f"D-{uuid.uuid4().hex[:8].upper()}"
        if how == "reject":
            reason = step.partition(" ")[2] or "out of stock"
            status, answer = 200, {"status": "rejected", "reason": reason}
        elif how == "later":
            status, answer = 202, {"status": "received", "reference": reference}
        else:
            status, answer = 201, {"status": "acknowledged", "reference": reference}
        with self.server.lock:
            self.server.answers[key] = (status, answer)
        record = {"key": key, "body": body, "status": status, "answer": answer, "at": time.time()}
        self.server.keep("orders.jsonl", record)
        if how == "later":
            self.server.call_back(body, reference, 0.3)
        if step == "lost":
            self.close_connection = True
            return
        self._answer(status, answer)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="distributor", description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8027)
    parser.add_argument("--answer", choices=("ack", "later", "reject"), default="ack")
    parser.add_argument("--credential")
    parser.add_argument("--stock-delay", type=float, default=0.0, help="seconds /stock waits")
    parser.add_argument("--stock-status", type=int, default=200, help="what /stock answers")
    parser.add_argument("--fsync", action="store_true", help="fsync its files on every write")
    args = parser.parse_args(argv)
    server = Distributor(
        (args.host, args.port),
        args.directory,
        args.answer,
        args.credential,
        (args.stock_delay, args.stock_status),
    )
    server.fsync = args.fsync
    (args.directory / "ready").write_text(str(os.getpid()))
    print(f"distributor: http://{args.host}:{args.port}/orders -> {args.directory}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
