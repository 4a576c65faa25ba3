"""A small TCP fault proxy of the tests' own (no Toxiproxy here): it forwards a loopback port to a
target and can turn the network bad — `latency` delays every chunk, `blackhole` lets nothing
through either way while every connection stays open (a half-open network: no FIN, no RST), and
`reset()` kills every connection with an RST.

It runs as a process of its own with plain threads (`python tests/faults/proxy.py TARGET PORT
DIR`), away from the tests' eventlet hub; the test drives it through `DIR/mode` and reads the
connections it accepted from `DIR/opened`.
"""

import contextlib
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

# -- the controller, in the test process ------------------------------------------------------


class FaultProxy:
    def __init__(self, target_port: int, directory: Path):
        from oms.infra import free_port

        self.port, self.directory = free_port(), Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._resets = 0
        self.set("pass")
        self.process = subprocess.Popen(
            [sys.executable, __file__, str(target_port), str(self.port), str(self.directory)]
        )
        deadline = time.monotonic() + 10
        while not (self.directory / "ready").exists():
            assert time.monotonic() < deadline, "the fault proxy did not start"
            time.sleep(0.05)

    @property
    def uri(self) -> str:
        return f"pyamqp://guest:guest@127.0.0.1:{self.port}/"

    def set(self, mode: str, delay: float = 0.0) -> None:
        assert mode in ("pass", "latency", "blackhole")
        self._write(f"{mode} {delay} {self._resets}")

    def reset(self) -> None:
        self._resets += 1
        mode = (self.directory / "mode").read_text().split()
        self._write(f"{mode[0]} {mode[1]} {self._resets}")

    def opened(self) -> list[float]:
        """When (time.time()) each client connection was accepted."""
        path = self.directory / "opened"
        return [float(x) for x in path.read_text().split()] if path.exists() else []

    def _write(self, text: str) -> None:
        temporary = self.directory / "mode.new"
        temporary.write_text(text)
        temporary.replace(self.directory / "mode")

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


# -- the proxy, in its own process ------------------------------------------------------------


class Proxy:
    def __init__(self, target_port: int, port: int, directory: Path):
        self.target_port, self.directory = target_port, directory
        self.mode, self.delay, self.resets = "pass", 0.0, 0
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", port))

    def serve(self) -> None:
        threading.Thread(target=self._watch_mode, daemon=True).start()
        (self.directory / "ready").write_text("")
        while True:
            client, _ = self.listener.accept()
            with open(self.directory / "opened", "a") as opened:
                opened.write(f"{time.time()}\n")
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _watch_mode(self) -> None:
        while True:
            with contextlib.suppress(OSError, ValueError, IndexError):
                mode, delay, resets = (self.directory / "mode").read_text().split()
                self.mode, self.delay = mode, float(delay)
                if int(resets) != self.resets:
                    self.resets = int(resets)
                    self._reset_all()
            time.sleep(0.02)

    def _reset_all(self) -> None:
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            for sock in pair:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    sock.close()

    def _connect(self, client: socket.socket) -> None:
        while self.mode == "blackhole":  # a new connection gets nowhere either
            time.sleep(0.05)
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
        except OSError:
            client.close()
            return
        with self.lock:
            self.pairs.append((client, upstream))
        for source, target in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pipe, args=(source, target), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                while self.mode == "blackhole":  # held, not dropped: TCP would retransmit it
                    time.sleep(0.05)
                if not data:
                    break
                if self.mode == "latency":
                    time.sleep(self.delay)
                target.sendall(data)
        except OSError:
            pass
        for sock in (source, target):  # wakes the other direction's reader
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


if __name__ == "__main__":
    Proxy(int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])).serve()
