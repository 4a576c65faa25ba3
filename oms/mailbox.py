"""`oms mail` and `oms sms`: what the local stand-ins of `make run` received (var/mail/*.eml,
var/sms/sms.jsonl), newest last — the e-mails a newcomer's orders sent, with their links."""

import email
import email.policy
import json
import time
from pathlib import Path

from shared import settings


def messages(directory: Path) -> list:
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(directory.glob("*.eml"))
    ]


def mail(args) -> int:
    """The e-mails the local SMTP stand-in received; `--show N` prints one (its text part;
    -1 is the newest)."""
    directory = Path(args.dir) if args.dir else settings.var_dir() / "mail"
    received = messages(directory)
    if args.show is not None:
        if not (1 <= args.show <= len(received) or -len(received) <= args.show <= -1):
            print(f"no message #{args.show}: {len(received)} in {directory}")
            return 1
        message = received[args.show - 1 if args.show > 0 else args.show]
        for header in ("Date", "From", "To", "Subject", "Message-ID"):
            print(f"{header}: {message[header]}")
        print()
        print(message.get_body(("plain",)).get_content().replace("\r\n", "\n"))
        return 0
    if not received:
        print(f"no e-mail in {directory}")
    for n, message in enumerate(
        received[-args.last :], start=max(1, len(received) - args.last + 1)
    ):
        print(f"{n:>4}  {message['Date']}  {message['To']:<30}  {message['Subject']}")
    return 0


def sms(args) -> int:
    """The text messages the local SMS stand-in received."""
    log = (Path(args.dir) if args.dir else settings.var_dir() / "sms") / "sms.jsonl"
    lines = log.read_text().splitlines() if log.exists() else []
    if not lines:
        print(f"no SMS in {log}")
    for line in lines[-args.last :]:
        text = json.loads(line)
        at = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(text["received"]))
        print(f"{at}  +{text['to']:<16}  {text['text']}")
    return 0
