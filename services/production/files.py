"""Production files kept by content: each file's bytes under `<dir>/<first two hex>/<sha256>`,
written once (to a temporary name, flushed, then renamed), before the event that names the hash
is saved — so an event never names bytes that are not there, and the same file attached twice
is stored once."""

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from shared.errors import NotFound


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int


class FileStore:
    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def path(self, sha256: str) -> Path:
        return self.directory / sha256[:2] / sha256

    def put(self, content: bytes) -> Stored:
        digest = hashlib.sha256(content).hexdigest()
        path = self.path(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f".{digest}.{os.getpid()}.tmp")
            with open(temporary, "wb") as file:
                file.write(content)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        return Stored(digest, len(content))

    def get(self, sha256: str) -> bytes:
        try:
            content = self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise NotFound(
                f"the bytes of file {sha256} are not in this service's file store",
                {"sha256": sha256},
            ) from None
        if hashlib.sha256(content).hexdigest() != sha256:
            raise NotFound(f"the stored bytes of file {sha256} are damaged", {"sha256": sha256})
        return content
