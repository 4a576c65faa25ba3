"""Throwaway certificates for the TLS tests, made with the openssl command line: a CA, and a server
certificate it signs for localhost and 127.0.0.1 (what the test servers listen on)."""

import subprocess
from dataclasses import dataclass
from pathlib import Path

DAYS = "2"
EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


@dataclass(frozen=True)
class Issued:
    cert: Path
    key: Path


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def make_ca(directory: Path, name: str) -> Issued:
    """A self-signed CA certificate and its key, named `name` in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    _openssl("req", "-x509", *EC, "-keyout", str(key), "-out", str(cert), "-days", DAYS,
             "-subj", f"/CN=oms test {name}")  # fmt: skip
    return Issued(cert, key)


def make_server(directory: Path, ca: Issued, name: str = "server") -> Issued:
    """A server certificate signed by `ca`, valid for localhost and 127.0.0.1."""
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    request, extensions = directory / f"{name}.csr", directory / f"{name}.ext"
    extensions.write_text(
        "subjectAltName = DNS:localhost, IP:127.0.0.1\n"
        "basicConstraints = CA:FALSE\n"
        "keyUsage = digitalSignature, keyEncipherment\n"
        "extendedKeyUsage = serverAuth\n"
    )
    _openssl("req", *EC, "-keyout", str(key), "-out", str(request), "-subj", "/CN=localhost")
    _openssl("x509", "-req", "-in", str(request), "-CA", str(ca.cert), "-CAkey", str(ca.key),
             "-CAcreateserial", "-out", str(cert), "-days", DAYS, "-extfile", str(extensions))  # fmt: skip
    return Issued(cert, key)
