"""`oms mail` and `oms sms`: what the local stand-ins of `make run` received (var/mail/*.eml,
var/sms/sms.jsonl), newest last — the e-mails a newcomer's orders sent, with their links."""

import email
import email.policy
import json
import time
from pathlib import Path

import click

from shared import settings

DIR = click.option("--dir", "directory", help="where the stand-in keeps them (default: under var/)")
LAST = click.option("--last", type=int, default=20, show_default=True, help="how many to list")


def messages(directory: Path) -> list:
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(directory.glob("*.eml"))
    ]


@click.command()
@DIR
@LAST
@click.option("--show", type=int, metavar="N", help="print message N (-1: the newest)")
def mail(directory, last, show) -> int:
    """The e-mails the local SMTP stand-in received; `--show N` prints one (its text part;
    -1 is the newest)."""
    directory = Path(directory) if directory else settings.var_dir() / "mail"
    received = messages(directory)
    if show is not None:
        if not (1 <= show <= len(received) or -len(received) <= show <= -1):
            print(f"no message #{show}: {len(received)} in {directory}")
            return 1
        message = received[show - 1 if show > 0 else show]
        for header in ("Date", "From", "To", "Subject", "Message-ID"):
            print(f"{header}: {message[header]}")
        print()
        print(message.get_body(("plain",)).get_content().replace("\r\n", "\n"))
        return 0
    if not received:
        print(f"no e-mail in {directory}")
    for n, message in enumerate(received[-last:], start=max(1, len(received) - last + 1)):
        print(f"{n:>4}  {message['Date']}  {message['To']:<30}  {message['Subject']}")
    return 0


@click.command()
@DIR
@LAST
def sms(directory, last) -> int:
    """The text messages the local SMS stand-in received."""
    log = (Path(directory) if directory else settings.var_dir() / "sms") / "sms.jsonl"
    lines = log.read_text().splitlines() if log.exists() else []
    if not lines:
        print(f"no SMS in {log}")
    for line in lines[-last:]:
        text = json.loads(line)
        at = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(text["received"]))
        print(f"{at}  +{text['to']:<16}  {text['text']}")
    return 0
