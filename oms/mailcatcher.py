"""A local SMTP server (aiosmtpd) that keeps every message it accepts as one `.eml` file: the mail
stand-in `make run` starts (messages land under var/mail/, `oms mail` lists them) and the tests'
real SMTP server.

    python -m oms.mailcatcher DIR --port 8025 [--starttls CERT KEY | --tls CERT KEY]
                                  [--auth USER:PASSWORD]

It runs in a process of its own, on plain asyncio (the services run on eventlet). Tests script
its answers through `DIR/script`: each DATA takes the first line — `ok`, an SMTP reply such as
`451 4.3.0 try later` or `550 5.1.1 no such user`, or `slow SECONDS` (wait, then accept).
"""

import argparse
import asyncio
import os
import ssl
import time
import uuid
import warnings
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Catcher:
    def __init__(self, directory: Path):
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        step = self._next_step()
        if step.startswith(("4", "5")):
            return step
        if step.startswith("slow"):
            await asyncio.sleep(float(step.split()[1]))
        queue_id = uuid.uuid4().hex[:12]
        name = f"{time.time():.6f}-{queue_id}.eml"
        temporary = self.directory / f".{name}"
        temporary.write_bytes(envelope.original_content or envelope.content)
        os.replace(temporary, self.directory / name)  # readers never see half a message
        return f"250 2.0.0 Ok: queued as {queue_id}"

    def _next_step(self) -> str:
        script = self.directory / "script"
        if not script.exists():
            return "ok"
        lines = script.read_text().splitlines()
        if not lines:
            return "ok"
        script.write_text("".join(f"{line}\n" for line in lines[1:]))
        return lines[0].strip() or "ok"


def _authenticator(user: str, password: str):
    def check(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode(),
            auth_data.password.decode(),
        ) == (user, password)
        return AuthResult(success=ok, handled=False)

    return check


def main(argv=None) -> None:
    warnings.filterwarnings("ignore", message="Session.login_data is deprecated")
    parser = argparse.ArgumentParser(prog="mailcatcher", description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    tls = parser.add_mutually_exclusive_group()
    tls.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    tls.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--auth", metavar="USER:PASSWORD")
    args = parser.parse_args(argv)

    options = {}
    cert = args.starttls or args.tls
    if cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*cert)
        options["tls_context" if args.starttls else "ssl_context"] = context
        if args.starttls:
            options["require_starttls"] = True
    if args.auth:
        user, _, password = args.auth.partition(":")
        options.update(
            authenticator=_authenticator(user, password),
            auth_required=True,
            auth_require_tls=bool(args.starttls),  # (implicit TLS: the whole session is)
        )
    controller = Controller(
        Catcher(args.directory),
        hostname=args.host,
        port=args.port,
        server_hostname="localhost",
        ready_timeout=10,
        **options,
    )
    controller.start()
    (args.directory / "ready").write_text(str(os.getpid()))
    print(f"mailcatcher: smtp://{args.host}:{args.port} -> {args.directory}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
