"""What the local HTTP stand-ins for third parties share (the SMS provider, the distributor, the
webhook receiver): a threaded server whose next answers tests script through `DIR/script`, that
keeps what it takes as JSON lines under its directory, and answers JSON over keep-alive
connections without Nagle's delay."""

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class ScriptedServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, handler, directory: Path):
        super().__init__(address, handler)
        self.directory = directory
        self.fsync = False
        self.lock = threading.Lock()
        directory.mkdir(parents=True, exist_ok=True)

    def next_step(self) -> str:
        """The first line of DIR/script (taken away), or `ok` when there is none."""
        with self.lock:
            script = self.directory / "script"
            lines = script.read_text().splitlines() if script.exists() else []
            if not lines:
                return "ok"
            script.write_text("".join(f"{line}\n" for line in lines[1:]))
            return lines[0].strip() or "ok"

    def keep(self, name: str, record: dict) -> None:
        """Append `record` to DIR/name as one JSON line."""
        with self.lock, open(self.directory / name, "a") as log:
            log.write(json.dumps(record) + "\n")
            if self.fsync:  # the files survive a crash of the machine, not only of this process
                log.flush()
                os.fsync(log.fileno())


class JsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes: without TCP_NODELAY the body waits for the
    # client's delayed ACK (~40 ms a request)
    disable_nagle_algorithm = True

    def _answer(self, status: int, body: dict) -> None:
        self._raw(status, json.dumps(body).encode(), "application/json")

    def _raw(self, status: int, raw: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format, *args):  # quiet: what it takes is in its files
        pass
